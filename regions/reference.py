"""Reference data shipped in regions/data (sources in regions/data/SOURCE.md)."""

import csv
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
REGIONS_CSV = DATA_DIR / "banten_regions.csv"
PROVINCES_CSV = DATA_DIR / "indonesia_provinces.csv"
POPULATION_CSV = DATA_DIR / "banten_population.csv"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def province_codes() -> frozenset[str]:
    """The 38 province codes that may open a NIK or No. KK."""
    return frozenset(row["code"] for row in read_rows(PROVINCES_CSV))


@cache
def known_region_digits() -> frozenset[str]:
    """Undotted kab/kota (4-digit) and kecamatan (6-digit) codes of the regions we hold."""
    return frozenset(
        row["code"].replace(".", "")
        for row in read_rows(REGIONS_CSV)
        if row["level"] in ("regency", "district")
    )


def population_by_regency() -> dict[str, int]:
    return {
        row["code"]: int(row["total"])
        for row in read_rows(POPULATION_CSV)
        if row["code"].count(".") == 1
    }
