"""Identity checks bound to the shipped reference data, for services, forms and serializers."""

from datetime import date

from regions.reference import known_region_digits, province_codes

from . import identity


def nik_check(nik: str, *, birth_date: date | None = None, sex: str | None = None):
    return identity.check_nik(
        nik or "",
        province_codes=province_codes(),
        known_regions=known_region_digits(),
        birth_date=birth_date,
        sex=sex or None,
    )


def kk_check(no_kk: str):
    return identity.check_kk(no_kk or "", province_codes=province_codes())


def nik_warnings(nik: str) -> list[str]:
    """Warnings (not errors) to show a user next to a NIK, e.g. an old kecamatan code."""
    return [str(p.message) for p in nik_check(nik).warnings]
