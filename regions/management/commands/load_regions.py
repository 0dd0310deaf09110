from django.core.management.base import BaseCommand

from regions.services import regions_load


class Command(BaseCommand):
    help = "Load Banten's regions (Kepmendagri 300.2.2-2430/2025) from regions/data; idempotent."

    def handle(self, *args, **options):
        result = regions_load()
        self.stdout.write(
            f"Regions: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )
