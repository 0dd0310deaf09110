"""Loading the Kemendagri region hierarchy from the shipped data file."""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from .models import Region
from .reference import REGIONS_CSV, read_rows

FIELDS = ("name", "level", "parent_id", "lat", "lng")


@dataclass
class LoadResult:
    created: int
    updated: int
    unchanged: int


def _decimal(value: str) -> Decimal | None:
    return Decimal(value).quantize(Decimal("0.000001")) if value else None


@transaction.atomic
def regions_load(*, path: Path = REGIONS_CSV) -> LoadResult:
    """Create or update regions from the CSV; running it twice changes nothing the second time.

    Rows are sorted by code length so that a parent is always written before its children.
    """
    rows = sorted(read_rows(path), key=lambda r: (len(r["code"]), r["code"]))
    existing = {r.code: r for r in Region.objects.all()}
    created = updated = unchanged = 0
    for level_rows in _by_depth(rows):
        to_create, to_update = [], []
        for row in level_rows:
            parent = existing.get(row["parent_code"]) if row["parent_code"] else None
            values = {
                "name": row["name"],
                "level": row["level"],
                "parent_id": parent.pk if parent else None,
                "lat": _decimal(row["lat"]),
                "lng": _decimal(row["lng"]),
            }
            region = existing.get(row["code"])
            if region is None:
                to_create.append(Region(code=row["code"], **values))
            elif any(getattr(region, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(region, f, v)
                to_update.append(region)
            else:
                unchanged += 1
        for region in Region.objects.bulk_create(to_create, batch_size=500):
            existing[region.code] = region
        if not all(r.pk for r in to_create):  # backends without RETURNING
            existing.update(
                {r.code: r for r in Region.objects.filter(code__in=[r.code for r in to_create])}
            )
        Region.objects.bulk_update(to_update, FIELDS, batch_size=500)
        created += len(to_create)
        updated += len(to_update)
    return LoadResult(created=created, updated=updated, unchanged=unchanged)


def _by_depth(rows):
    depth = {}
    for row in rows:
        depth.setdefault(row["code"].count("."), []).append(row)
    return [depth[d] for d in sorted(depth)]
