"""`manage.py load_programmes`: the reference programme catalogue (interventions/data)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from interventions.programmes import PROGRAMMES_JSON, programmes_load


class Command(BaseCommand):
    help = (
        "Create the reference programmes (PKH, BPNT, PBI-JK, ...) and their periods whose code "
        "is missing; never changes a programme that exists. Needs the organisations loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            default=PROGRAMMES_JSON,
            help="A programmes JSON file (default: interventions/data/programmes.json).",
        )

    def handle(self, *args, file: Path, **options):
        try:
            with translation.override(None):  # operators read the command's output in English
                result = programmes_load(path=file)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"file": exc.messages}
            lines = [
                f"  {key}: {message}" for key, messages in errors.items() for message in messages
            ]
            raise CommandError(
                "The programme file was refused; nothing was loaded:\n" + "\n".join(lines)
            ) from exc
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        self.stdout.write(f"Programmes: {result.programmes} created with {result.periods} periods.")
