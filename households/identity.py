"""NIK and No. KK rules: pure checks, masking and a NIK builder (no database, no files).

NIK, 16 digits ``PP KK CC DDMMYY SSSS``: province, kab/kota and kecamatan of first registration,
birth date with the day + 40 for women, serial from 0001. There is no check digit. An unknown
kab/kota or kecamatan prefix is only a warning: NIKs keep the codes they were issued with, also
after a district split. No. KK, 16 digits: region of issue (6), a date part we do not check (its
meaning is not settled), family serial (4).

Callers pass the reference data in (``province_codes``, ``known_regions``); the bound versions
for the shipped data live in ``households.validation``. Messages are lazy, so they render in the
language active where they are shown.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

LENGTH = 16
BULLET = "\u2022"
FEMALE_DAY_OFFSET = 40
SEXES = ("M", "F")

_DIGITS = re.compile(r"[0-9]*")
_NON_DIGIT = re.compile(r"[^0-9]")


@dataclass(frozen=True)
class Problem:
    code: str  # stable machine code, e.g. "length", "province", "birth_date_mismatch"
    message: str  # lazy translated, says what is wrong and what was expected


@dataclass(frozen=True)
class NikCheck:
    value: str  # surrounding whitespace stripped
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    province_code: str | None = None  # "36"
    regency_code: str | None = None  # "3601"
    district_code: str | None = None  # "360101"
    sex: str | None = None  # "M" or "F", from the day part (+40 for women)
    serial: str | None = None  # "0001"

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class KkCheck:
    value: str  # surrounding whitespace stripped
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    province_code: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _interpolate(message, params: dict) -> str:
    return str(message) % params


_interpolate_lazy = lazy(_interpolate, str)


def _problem(code: str, message, /, **params) -> Problem:
    """A problem whose message is translated and filled in only when it is rendered."""
    return Problem(code, _interpolate_lazy(message, params) if params else message)


def _dotted(code: str) -> str:
    """Dotted form of an undotted region code: 360101 -> 36.01.01."""
    return ".".join(code[i : i + 2] for i in range(0, len(code), 2))


def _format_problems(value: str, label) -> list[Problem]:
    problems = []
    if len(value) != LENGTH:
        problems.append(
            _problem(
                "length",
                _("%(label)s must have exactly 16 digits; this one has %(count)s characters."),
                label=label,
                count=len(value),
            )
        )
    if not _DIGITS.fullmatch(value):
        found = sorted(set(_NON_DIGIT.findall(value)))
        problems.append(
            _problem(
                "digits",
                _(
                    "%(label)s must contain only the digits 0-9, without spaces, dots or letters; "
                    "found: %(found)s."
                ),
                label=label,
                found=", ".join(f"“{ch}”" for ch in found),
            )
        )
    return problems


def _province_problem(value: str, province_codes: Collection[str], label) -> Problem | None:
    if value[:2] in province_codes:
        return None
    return _problem(
        "province",
        _(
            "%(label)s must start with a province code (Banten is 36); "
            "%(code)s is not the code of any Indonesian province."
        ),
        label=label,
        code=value[:2],
    )


def _serial_problem(value: str, label) -> Problem | None:
    if value[-4:] != "0000":
        return None
    return _problem(
        "serial",
        _("The last 4 digits of %(label)s (the serial number) are 0000; serials start at 0001."),
        label=label,
    )


def _is_real_date(day: int, month: int, yy: int) -> bool:
    for year in (1900 + yy, 2000 + yy):
        try:
            date(year, month, day)
        except ValueError:
            continue
        return True
    return False


def _nik_date_part(day_digits: int, month: int, yy: int, sex: str) -> str:
    day = day_digits + (FEMALE_DAY_OFFSET if sex == "F" else 0)
    return f"{day:02d}{month:02d}{yy:02d}"


def _date_problems(value: str) -> tuple[list[Problem], str | None]:
    """Errors of the DDMMYY part, and the sex it encodes (None if the day is impossible)."""
    part = value[6:12]
    dd, mm, yy = int(part[0:2]), int(part[2:4]), int(part[4:6])
    problems = []
    sex = None
    if 1 <= dd <= 31:
        sex = "M"
    elif 1 + FEMALE_DAY_OFFSET <= dd <= 31 + FEMALE_DAY_OFFSET:
        sex = "F"
    else:
        problems.append(
            _problem(
                "date",
                _(
                    "Digits 7-8 of the NIK (the day of birth) are %(day)s; expected 01-31 for a "
                    "man or 41-71 for a woman (the day plus 40)."
                ),
                day=part[0:2],
            )
        )
    if not 1 <= mm <= 12:
        problems.append(
            _problem(
                "date",
                _("Digits 9-10 of the NIK (the month of birth) are %(month)s; expected 01-12."),
                month=part[2:4],
            )
        )
    if not problems:
        day = dd - FEMALE_DAY_OFFSET if sex == "F" else dd
        if not _is_real_date(day, mm, yy):
            problems.append(
                _problem(
                    "date",
                    _(
                        "The birth date in the NIK, %(date)s (day-month-year), is not a real "
                        "calendar date."
                    ),
                    date=f"{day:02d}-{part[2:4]}-{part[4:6]}",
                )
            )
    return problems, sex


def _birth_date_problem(value: str, birth_date: date, nik_sex: str) -> Problem | None:
    part = value[6:12]
    dd, mm, yy = int(part[0:2]), int(part[2:4]), int(part[4:6])
    day = dd - FEMALE_DAY_OFFSET if nik_sex == "F" else dd
    if (day, mm, yy) == (birth_date.day, birth_date.month, birth_date.year % 100):
        return None
    return _problem(
        "birth_date_mismatch",
        _(
            "The birth date in the NIK (%(nik_date)s, day-month-year) does not match the stated "
            "birth date (%(birth_date)s); for that birth date, digits 7-12 of the NIK would be "
            "%(expected)s."
        ),
        nik_date=f"{day:02d}-{part[2:4]}-{part[4:6]}",
        birth_date=birth_date.strftime("%d-%m-%Y"),
        expected=_nik_date_part(birth_date.day, birth_date.month, birth_date.year % 100, nik_sex),
    )


def _sex_problem(value: str, nik_sex: str, sex: str) -> Problem | None:
    if sex not in SEXES or sex == nik_sex:
        return None
    if nik_sex == "F":
        message = _(
            "The NIK is a woman's (its day of birth, %(day)s, is the day plus 40), "
            "but the sex given is male."
        )
    else:
        message = _(
            "The NIK is a man's (its day of birth, %(day)s, is under 41; for a woman it is the "
            "day plus 40), but the sex given is female."
        )
    return _problem("sex_mismatch", message, day=value[6:8])


def _region_warning(value: str, known_regions: Collection[str]) -> Problem | None:
    province = value[:2]
    if not any(len(c) in (4, 6) and c.startswith(province) for c in known_regions):
        return None  # we hold no regions of this province: nothing to compare with
    if value[:4] not in known_regions:
        return _problem(
            "unknown_region",
            _(
                "The kab/kota code %(code)s in this NIK is not a current kab/kota. A NIK keeps "
                "the codes of its first registration, so this may be right; check it against "
                "the KK."
            ),
            code=_dotted(value[:4]),
        )
    if value[:6] not in known_regions:
        return _problem(
            "unknown_region",
            _(
                "The kecamatan code %(code)s in this NIK is not a current kecamatan. A NIK keeps "
                "the codes of its first registration (for example from before a district split), "
                "so this may be right; check it against the KK."
            ),
            code=_dotted(value[:6]),
        )
    return None


def check_nik(
    value: str,
    *,
    province_codes: Collection[str],
    known_regions: Collection[str] = (),
    birth_date: date | None = None,
    sex: str | None = None,
) -> NikCheck:
    """Check a NIK; ``sex`` is "M" or "F" (other values are not compared)."""
    value = (value or "").strip()
    label = _("NIK")
    errors = _format_problems(value, label)
    if errors:
        return NikCheck(value=value, errors=tuple(errors), warnings=())

    warnings: list[Problem] = []
    province_problem = _province_problem(value, province_codes, label)
    if province_problem:
        errors.append(province_problem)
    elif warning := _region_warning(value, known_regions):
        warnings.append(warning)

    date_problems, nik_sex = _date_problems(value)
    errors.extend(date_problems)
    if not date_problems:
        if birth_date is not None and (problem := _birth_date_problem(value, birth_date, nik_sex)):
            errors.append(problem)
        if sex is not None and (problem := _sex_problem(value, nik_sex, sex)):
            errors.append(problem)

    if serial_problem := _serial_problem(value, label):
        errors.append(serial_problem)

    return NikCheck(
        value=value,
        errors=tuple(errors),
        warnings=tuple(warnings),
        province_code=value[:2],
        regency_code=value[:4],
        district_code=value[:6],
        sex=nik_sex,
        serial=value[12:],
    )


def check_kk(value: str, *, province_codes: Collection[str]) -> KkCheck:
    """Check a No. KK: 16 digits, a known province, a serial from 0001 (its date is not checked)."""
    value = (value or "").strip()
    label = _("No. KK")
    errors = _format_problems(value, label)
    if errors:
        return KkCheck(value=value, errors=tuple(errors), warnings=())
    if province_problem := _province_problem(value, province_codes, label):
        errors.append(province_problem)
    if serial_problem := _serial_problem(value, label):
        errors.append(serial_problem)
    return KkCheck(value=value, errors=tuple(errors), warnings=(), province_code=value[:2])


def mask(value: str) -> str:
    """Hide the middle of a NIK or No. KK: "3601234567890001" -> "3601••••••••0001".

    The result has the same length as the value. Values shorter than 16 characters are masked
    completely (keeping 4 + 4 of a short value would show most of it).
    """
    value = value or ""
    if len(value) < LENGTH:
        return BULLET * len(value)
    return value[:4] + BULLET * (len(value) - 8) + value[-4:]


def nik_for(*, district_code: str, birth_date: date, sex: str, serial: int) -> str:
    """Build a valid NIK, e.g. for demo data and tests (district_code is 6 digits, "360101")."""
    if len(district_code) != 6 or not _DIGITS.fullmatch(district_code):
        raise ValueError(f"district_code must be 6 digits, got {district_code!r}")
    if sex not in SEXES:
        raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")
    if not 1 <= serial <= 9999:
        raise ValueError(f"serial must be 1..9999, got {serial!r}")
    date_part = _nik_date_part(birth_date.day, birth_date.month, birth_date.year % 100, sex)
    return f"{district_code}{date_part}{serial:04d}"
