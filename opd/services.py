"""Writes for organisations and staff memberships."""

import csv
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from regions.models import Region

from .models import Membership, Organisation

ORGANISATIONS_CSV = Path(__file__).resolve().parent / "data" / "organisations.csv"


@transaction.atomic
def organisations_load(*, path: Path = ORGANISATIONS_CSV) -> int:
    """Create the reference organisations that are missing; never overwrites local edits."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    regions = {r.code: r for r in Region.objects.filter(code__in={r["region_code"] for r in rows})}
    existing = set(Organisation.objects.values_list("short_name", flat=True))
    new = [
        Organisation(
            short_name=row["short_name"],
            name=row["name"],
            kind=row["kind"],
            region=regions.get(row["region_code"]),
        )
        for row in rows
        if row["short_name"] not in existing
    ]
    Organisation.objects.bulk_create(new)
    return len(new)


def membership_grant(
    *, user, organisation: Organisation, role: str, area: Region | None
) -> Membership:
    """Give a user a role in an organisation over an area (validated against the role)."""
    membership = Membership(user=user, organisation=organisation, role=role, area=area)
    membership.full_clean()
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:  # the same grant was made at the same moment
        raise ValidationError({"role": _("This user already has this role here.")}) from exc
    return membership
