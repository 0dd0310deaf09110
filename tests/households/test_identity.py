"""NIK and No. KK rules (households.identity): pure checks, no database."""

import re
from datetime import date

import pytest
from django.utils import translation
from django.utils.functional import Promise
from hypothesis import given
from hypothesis import strategies as st

from households.identity import BULLET, check_kk, check_nik, mask, nik_for


@pytest.fixture(autouse=True)
def _english():
    """The message assertions below read the English source strings."""
    with translation.override("en"):
        yield


PROVINCES = frozenset({"11", "31", "32", "36"})
KNOWN = frozenset({"3601", "360101", "360102", "3602", "360201", "3603", "360301"})
DISTRICTS = ("360101", "360102", "360201", "360301", "310101")

MAN = "3601011503820007"  # Pandeglang 36.01.01, born 15-03-(19)82, serial 0007
WOMAN = "3602015503820012"  # Lebak 36.02.01 (not in KNOWN), born 15-03-(19)82, woman (55 = 15 + 40)


def nik(value, **kwargs):
    kwargs.setdefault("province_codes", PROVINCES)
    return check_nik(value, **kwargs)


def codes(problems):
    return [p.code for p in problems]


def replace_part(value, start, digits):
    return value[:start] + digits + value[start + len(digits) :]


# --- check_nik: valid numbers -------------------------------------------------------------


def test_valid_nik_is_parsed():
    check = nik(MAN, known_regions=KNOWN, birth_date=date(1982, 3, 15), sex="M")
    assert check.ok
    assert check.errors == ()
    assert check.warnings == ()
    assert check.value == MAN
    assert check.province_code == "36"
    assert check.regency_code == "3601"
    assert check.district_code == "360101"
    assert check.sex == "M"
    assert check.serial == "0007"


def test_women_have_day_plus_40():
    check = nik(WOMAN, birth_date=date(1982, 3, 15), sex="F")
    assert check.ok
    assert check.sex == "F"


def test_surrounding_whitespace_is_stripped():
    check = nik(f"  {MAN}\n")
    assert check.ok
    assert check.value == MAN


@pytest.mark.parametrize(
    "date_part",
    [
        "290200",  # 2000 is a leap year
        "290296",  # 1996
        "290224",  # 2024
        "690224",  # a woman born 29-02-2024
        "310199",
        "710100",  # a woman born 31-01
        "010100",
    ],
)
def test_real_dates_are_accepted(date_part):
    assert nik(replace_part(MAN, 6, date_part)).ok


# --- check_nik: errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ["length"]),
        ("   ", ["length"]),
        ("360101150382007", ["length"]),  # 15 digits
        ("36010115038200071", ["length"]),  # 17 digits
        ("360101150382000A", ["digits"]),
        ("3601 01150382007", ["digits"]),
        ("36.01.01.150382.0", ["length", "digits"]),
        ("360101150382000٧", ["digits"]),  # an Arabic-Indic digit is not an ASCII digit
        ("abc", ["length", "digits"]),
    ],
)
def test_format_errors_stop_the_check(value, expected):
    check = nik(value, birth_date=date(1990, 1, 1), sex="F")
    assert codes(check.errors) == expected
    assert not check.ok
    assert check.province_code is None
    assert check.sex is None


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        ("9901011503820007", {}, ["province"]),
        ("0001011503820007", {}, ["province"]),
        ("3601010003820007", {}, ["date"]),  # day 00
        ("3601013203820007", {}, ["date"]),  # day 32
        ("3601014003820007", {}, ["date"]),  # day 40
        ("3601017203820007", {}, ["date"]),  # day 72 (a woman's 32)
        ("3601011500820007", {}, ["date"]),  # month 00
        ("3601011513820007", {}, ["date"]),  # month 13
        ("3601019913820007", {}, ["date", "date"]),  # day and month both impossible
        ("3601013104820007", {}, ["date"]),  # 31 April
        ("3601013002820007", {}, ["date"]),  # 30 February
        ("3601012902250007", {}, ["date"]),  # 29 February, neither 1925 nor 2025 is leap
        ("3601016902250007", {}, ["date"]),  # the same for a woman
        ("3601011503820000", {}, ["serial"]),
        ("3601011503820007", {"birth_date": date(1982, 3, 16)}, ["birth_date_mismatch"]),
        ("3601011503820007", {"birth_date": date(1982, 4, 15)}, ["birth_date_mismatch"]),
        ("3601011503820007", {"birth_date": date(1983, 3, 15)}, ["birth_date_mismatch"]),
        ("3601011503820007", {"sex": "F"}, ["sex_mismatch"]),
        ("3602015503820012", {"sex": "M"}, ["sex_mismatch"]),
        (
            "3601015503820007",
            {"birth_date": date(1982, 3, 16), "sex": "M"},
            ["birth_date_mismatch", "sex_mismatch"],
        ),
        ("9901013203820000", {}, ["province", "date", "serial"]),
    ],
)
def test_nik_errors(value, kwargs, expected):
    check = nik(value, known_regions=KNOWN, **kwargs)
    assert codes(check.errors) == expected
    assert not check.ok


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        ("3601011503820007", {"birth_date": date(1982, 3, 15), "sex": "M"}),
        ("3601011503820007", {"birth_date": date(2082, 3, 15)}),  # only the 2-digit year counts
        ("3601011503820007", {"sex": None}),
        ("3601011503820007", {"sex": ""}),  # not a sex: not compared
    ],
)
def test_nik_without_errors(value, kwargs):
    assert nik(value, **kwargs).ok


def test_date_errors_skip_the_birth_date_and_sex_comparison():
    check = nik("3601013203820007", birth_date=date(1990, 1, 1), sex="F")
    assert codes(check.errors) == ["date"]
    assert check.sex is None


# --- check_nik: warnings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "shown_code"),
    [
        ("3601011503820007", [], None),
        ("3609011503820007", ["unknown_region"], "36.09"),  # kab/kota not held
        ("3601991503820007", ["unknown_region"], "36.01.99"),  # kecamatan not held
        ("3603151503820007", ["unknown_region"], "36.03.15"),  # e.g. from before a split
        ("3201011503820007", [], None),  # we hold no regions of West Java: no warning
        ("9909991503820007", [], None),  # unknown province is an error, not a warning
    ],
)
def test_unknown_regions_are_warnings(value, expected, shown_code):
    check = nik(value, known_regions=KNOWN)
    assert codes(check.warnings) == expected
    if shown_code:
        assert check.ok
        assert shown_code in str(check.warnings[0].message)


def test_no_region_warnings_without_known_regions():
    check = nik("3609991503820007")
    assert check.ok
    assert check.warnings == ()


# --- messages -----------------------------------------------------------------------------


def test_messages_are_lazy_and_say_what_was_expected():
    check = nik("360101150382007")
    message = check.errors[0].message
    assert isinstance(message, Promise)
    assert str(message) == "NIK must have exactly 16 digits; this one has 15 characters."


def test_digit_error_names_the_bad_characters():
    message = str(nik("3601-1150382007x").errors[0].message)
    assert "“-”" in message
    assert "“x”" in message


def test_birth_date_mismatch_names_both_dates():
    check = nik(WOMAN, birth_date=date(1982, 4, 16))
    message = str(check.errors[0].message)
    assert "15-03-82" in message  # what the NIK says
    assert "16-04-1982" in message  # the stated birth date
    assert "560482" in message  # what the NIK would contain (a woman: day + 40)


@pytest.mark.parametrize(
    ("value", "sex", "says"),
    [(MAN, "F", "female"), (WOMAN, "M", "male")],
)
def test_sex_mismatch_names_the_sex_given(value, sex, says):
    message = str(nik(value, sex=sex).errors[0].message)
    assert f"sex given is {says}" in message


def test_province_error_names_the_code():
    assert "99" in str(nik("9901011503820007").errors[0].message)


# --- check_kk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3601012003150042", []),
        (" 3601012003150042 ", []),
        ("3601019999990042", []),  # the date part is not checked
        ("360101200315004", ["length"]),
        ("36010120031500420", ["length"]),
        ("36010120031500A2", ["digits"]),
        ("", ["length"]),
        ("9901012003150042", ["province"]),
        ("3601012003150000", ["serial"]),
        ("9901012003150000", ["province", "serial"]),
    ],
)
def test_kk(value, expected):
    check = check_kk(value, province_codes=PROVINCES)
    assert codes(check.errors) == expected
    assert check.ok == (not expected)
    assert check.warnings == ()
    assert check.value == value.strip()
    if not expected:
        assert check.province_code == "36"


def test_kk_messages_name_the_kk():
    message = str(check_kk("123", province_codes=PROVINCES).errors[0].message)
    assert message.startswith("No. KK must have exactly 16 digits")


# --- mask ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3601234567890001", "3601••••••••0001"),
        ("36012345678900012", "3601•••••••••0012"),
        ("360123456789000", "•" * 15),
        ("1234", "••••"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask(value, expected):
    assert mask(value) == expected


# --- nik_for ------------------------------------------------------------------------------


def test_nik_for_builds_the_documented_layout():
    assert nik_for(district_code="360101", birth_date=date(1982, 3, 15), sex="M", serial=7) == MAN
    woman = nik_for(district_code="360201", birth_date=date(1982, 3, 15), sex="F", serial=12)
    assert woman == WOMAN


@pytest.mark.parametrize(
    "kwargs",
    [
        {"district_code": "36010", "sex": "M", "serial": 1},
        {"district_code": "36.01.01", "sex": "M", "serial": 1},
        {"district_code": "360101", "sex": "X", "serial": 1},
        {"district_code": "360101", "sex": "M", "serial": 0},
        {"district_code": "360101", "sex": "M", "serial": 10000},
    ],
)
def test_nik_for_refuses_bad_input(kwargs):
    with pytest.raises(ValueError, match="must be"):
        nik_for(birth_date=date(1990, 1, 1), **kwargs)


# --- properties ---------------------------------------------------------------------------

sexes = st.sampled_from(["M", "F"])
birth_dates = st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31))
serials = st.integers(min_value=1, max_value=9999)


@given(st.sampled_from(DISTRICTS), birth_dates, sexes, serials)
def test_nik_for_output_always_checks(district, birth_date, sex, serial):
    value = nik_for(district_code=district, birth_date=birth_date, sex=sex, serial=serial)
    check = nik(value, known_regions=KNOWN, birth_date=birth_date, sex=sex)
    assert check.errors == ()
    assert check.sex == sex
    assert check.district_code == district
    assert check.serial == f"{serial:04d}"


@given(st.text(max_size=24).filter(lambda s: not re.fullmatch(r"[0-9]{16}", s.strip())))
def test_anything_but_16_digits_is_a_format_error(value):
    errors = codes(nik(value).errors)
    assert errors
    assert set(errors) <= {"length", "digits"}
    assert set(codes(check_kk(value, province_codes=PROVINCES).errors)) <= {"length", "digits"}


impossible_days = st.sampled_from(
    ["00", *(f"{d}" for d in range(32, 41)), *(f"{d}" for d in range(72, 100))]
)


@given(st.sampled_from(DISTRICTS), birth_dates, sexes, serials, impossible_days)
def test_an_impossible_day_is_always_an_error(district, birth_date, sex, serial, day):
    value = nik_for(district_code=district, birth_date=birth_date, sex=sex, serial=serial)
    check = nik(replace_part(value, 6, day), birth_date=birth_date, sex=sex)
    assert "date" in codes(check.errors)
    assert not check.ok


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_mask_hides_the_middle_and_keeps_the_length(value):
    masked = mask(value)
    assert len(masked) == len(value)
    assert masked[4:12] == BULLET * 8
    assert masked[:4] == value[:4]
    assert masked[-4:] == value[-4:]


@given(st.text(max_size=40))
def test_mask_never_raises_or_reveals_the_middle(value):
    masked = mask(value)
    assert len(masked) == len(value)
    middle = masked[4:-4] if len(value) >= 16 else masked
    assert set(middle) <= {BULLET}
