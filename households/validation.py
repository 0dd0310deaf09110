"""Identity checks bound to the shipped reference data, for services, forms and serializers."""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

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


def birth_date_problem(born: date | None) -> str | None:
    """What is wrong with a member's birth date on its own (its match with the NIK aside)."""
    if born is not None and born > timezone.localdate():
        return _("The birth date cannot be in the future.")
    return None
