from django.core.management.base import BaseCommand

from opd.services import organisations_load


class Command(BaseCommand):
    help = "Create Banten's provincial agencies and the KUR banks if they are missing."

    def handle(self, *args, **options):
        created = organisations_load()
        self.stdout.write(f"Organisations: {created} created.")
