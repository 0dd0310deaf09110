"""`manage.py load_demo`: add synthetic demo households (see households/demo.py)."""

from django.core.management.base import BaseCommand, CommandError

from households.demo import CHUNK_SIZE, DemoDataError, load_demo


class Command(BaseCommand):
    help = (
        "Add synthetic demo households with members, spread over Banten's kabupaten/kota by "
        "population. Bulk load that bypasses the services on purpose (made-up data only)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--households", type=int, default=2000, help="How many households (default 2000)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, to reproduce.")
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Households per transaction."
        )

    def handle(self, *args, households, seed, chunk_size, **options):
        if households < 0:
            raise CommandError("--households must be zero or more.")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        verbose = options["verbosity"] >= 1

        def progress(done: int, total: int) -> None:
            if verbose:
                self.stdout.write(f"  {done:,}/{total:,} households")

        try:
            result = load_demo(
                households=households, seed=seed, chunk_size=chunk_size, progress=progress
            )
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        rate = result.households / result.seconds if result.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {result.households:,} households, {result.members:,} members "
                f"in {result.seconds:.1f} s ({rate:,.0f} households/s)."
            )
        )
