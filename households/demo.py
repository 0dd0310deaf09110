"""Synthetic demo households for `manage.py load_demo` and `setup_demo` (made-up people only).

This is a bulk loader for synthetic data and bypasses `households.services` ON PURPOSE: a service
call per household validates and saves row by row, which would take hours for 100,000 households.
Instead it generates households in chunks (default 5,000) and writes each chunk in one transaction:
households with `bulk_create` (it returns their ids), then their KkChange "first" rows and their
members with `_insert_rows`, a lean bulk insert (COPY on PostgreSQL, one `executemany` elsewhere)
that skips bulk_create's per-value SQL compilation, the slowest step at this volume (about 3.5x
faster for members). No `save()` and no query per row; memory stays flat whatever the total.
Neither path writes HistoricalRecords rows; that is acceptable for synthetic data.

It still keeps every rule the database and the services keep:
- exactly one active head per household, every household in a village (desa/kelurahan);
- NIKs built with `identity.nik_for` from the member's birth date and sex, unique across the whole
  register: serials continue, per (kecamatan code, two-digit birth year, sex), from the highest
  serial already stored, so they never meet an existing NIK with the same 12-digit prefix;
- No. KK = the desa's kecamatan code + DDMMYY registration date + serial, unique in the same way
  per (kecamatan code, two-digit registration year).
The serial counters are keyed by bounded keys (kecamatan x year x sex), not per person, so their
memory does not grow with the number of households.
"""

import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.db.models import Max
from django.db.models.functions import Mod
from django.utils import timezone

from regions.models import Level, Region
from regions.reference import population_by_regency

from . import choices as c
from .data import names
from .identity import nik_for
from .models import Household, KkChange, Member

EXTREME_LINE = 391_000  # BPS extreme poverty line, Rp per person per month (Jan 2025); demo only
CHUNK_SIZE = 5_000
MAX_SERIAL = 9999
GPS_RADIUS_KM = 2.0
REGISTRATION_WEEKS = 12  # demo households were registered over the last 12 weeks
OTHER_KECAMATAN_SHARE = 0.05  # NIK first registered in another Banten kecamatan

EXTREME, POOR, NON_POOR = "extreme", "poor", "non_poor"
CLASS_SHARES = ((EXTREME, 0.30), (POOR, 0.40), (NON_POOR, 0.30))

# Household size 1-8, mean about 4.5 (Banten's poor households average 5.2 people).
SIZE_WEIGHTS = {1: 4, 2: 8, 3: 16, 4: 24, 5: 21, 6: 14, 7: 8, 8: 5}

# Rupiah per person per month, per class: (low, high, mode) of a triangular draw.
SPENDING_PER_PERSON = {
    EXTREME: (230_000, EXTREME_LINE - 3_000, 340_000),
    POOR: (EXTREME_LINE + 4_000, 720_000, 520_000),
    NON_POOR: (720_000, 1_900_000, 900_000),
}
INCOME_RATIO = {EXTREME: (0.45, 1.0), POOR: (0.7, 1.1), NON_POOR: (0.9, 1.5)}
FLOOR_M2_PER_PERSON = {EXTREME: (4, 9), POOR: (7, 14), NON_POOR: (10, 25)}
SEPTIC_SHARE = {EXTREME: 0.2, POOR: 0.5, NON_POOR: 0.9}

F, W, R, WS, T = c.FloorMaterial, c.WallMaterial, c.RoofMaterial, c.WaterSource, c.Toilet
L, CF, OWN = c.Lighting, c.CookingFuel, c.Ownership
# Living conditions drawn per class, so they correlate with spending (weights, not shares).
CONDITIONS = {
    EXTREME: {
        "floor_material": {F.EARTH: 45, F.BAMBOO: 15, F.WOOD: 20, F.CEMENT: 20},
        "wall_material": {
            W.BAMBOO: 25,
            W.WOVEN_BAMBOO: 30,
            W.WOOD: 25,
            W.PLASTERED_BAMBOO: 10,
            W.MASONRY: 10,
        },
        "roof_material": {R.THATCH: 10, R.BAMBOO: 5, R.ZINC: 30, R.CLAY_TILE: 40, R.ASBESTOS: 15},
        "water_source": {
            WS.UNPROTECTED_WELL: 35,
            WS.UNPROTECTED_SPRING: 25,
            WS.RIVER: 15,
            WS.PROTECTED_WELL: 15,
            WS.RAIN: 5,
            WS.BOTTLED: 5,
        },
        "toilet": {T.NONE: 50, T.PUBLIC: 20, T.SHARED: 20, T.OWN: 10},
        "lighting": {L.NONE: 5, L.NON_PLN: 10, L.PLN_UNMETERED: 35, L.PLN_450: 50},
        "cooking_fuel": {CF.FIREWOOD: 65, CF.CHARCOAL: 5, CF.KEROSENE: 5, CF.LPG_3KG: 25},
        "ownership": {OWN.OWN: 55, OWN.RENT_FREE: 35, OWN.RENT: 5, OWN.OTHER: 5},
        "meals_per_day": {1: 15, 2: 70, 3: 15},
    },
    POOR: {
        "floor_material": {F.EARTH: 10, F.WOOD: 15, F.CEMENT: 50, F.TILE: 15, F.CERAMIC: 10},
        "wall_material": {
            W.WOVEN_BAMBOO: 10,
            W.WOOD: 20,
            W.PLASTERED_BAMBOO: 20,
            W.MASONRY: 50,
        },
        "roof_material": {R.ZINC: 25, R.CLAY_TILE: 50, R.ASBESTOS: 25},
        "water_source": {
            WS.UNPROTECTED_WELL: 15,
            WS.UNPROTECTED_SPRING: 5,
            WS.PROTECTED_WELL: 35,
            WS.BORE_WELL: 25,
            WS.BOTTLED: 15,
            WS.PIPED: 5,
        },
        "toilet": {T.NONE: 10, T.PUBLIC: 10, T.SHARED: 30, T.OWN: 50},
        "lighting": {L.PLN_UNMETERED: 10, L.PLN_450: 60, L.PLN_900: 30},
        "cooking_fuel": {CF.FIREWOOD: 25, CF.KEROSENE: 5, CF.LPG_3KG: 70},
        "ownership": {OWN.OWN: 65, OWN.RENT_FREE: 20, OWN.RENT: 12, OWN.OTHER: 3},
        "meals_per_day": {2: 40, 3: 60},
    },
    NON_POOR: {
        "floor_material": {F.CEMENT: 25, F.TILE: 20, F.CERAMIC: 50, F.MARBLE: 5},
        "wall_material": {W.PLASTERED_BAMBOO: 5, W.WOOD: 5, W.MASONRY: 90},
        "roof_material": {R.CLAY_TILE: 50, R.ASBESTOS: 20, R.ZINC: 15, R.CONCRETE: 15},
        "water_source": {
            WS.PROTECTED_WELL: 15,
            WS.BORE_WELL: 35,
            WS.BOTTLED: 30,
            WS.PIPED: 20,
        },
        "toilet": {T.SHARED: 5, T.OWN: 95},
        "lighting": {L.PLN_450: 15, L.PLN_900: 55, L.PLN_1300: 25, L.PLN_2200: 5},
        "cooking_fuel": {CF.LPG_3KG: 85, CF.LPG_LARGE: 12, CF.ELECTRICITY: 3},
        "ownership": {OWN.OWN: 75, OWN.RENT: 20, OWN.OFFICIAL: 2, OWN.OTHER: 3},
        "meals_per_day": {2: 5, 3: 95},
    },
}
DESIL = {
    EXTREME: {1: 75, 2: 20, 3: 5},
    POOR: {1: 15, 2: 35, 3: 30, 4: 20},
    NON_POOR: {3: 10, 4: 35, 5: 30, 6: 15, 7: 10},
}
REGISTRATION_SOURCE = {
    c.RegistrationSource.DTSEN: 55,
    c.RegistrationSource.P3KE: 30,
    c.RegistrationSource.DTKS: 5,
    c.RegistrationSource.FIELD: 8,
    c.RegistrationSource.REFERRAL: 2,
}
SCHOOL = {  # children aged 7-18
    EXTREME: {
        c.SchoolEnrolment.ENROLLED: 80,
        c.SchoolEnrolment.DROPPED_OUT: 15,
        c.SchoolEnrolment.NOT_ENROLLED: 5,
    },
    POOR: {
        c.SchoolEnrolment.ENROLLED: 90,
        c.SchoolEnrolment.DROPPED_OUT: 8,
        c.SchoolEnrolment.NOT_ENROLLED: 2,
    },
    NON_POOR: {c.SchoolEnrolment.ENROLLED: 97, c.SchoolEnrolment.DROPPED_OUT: 3},
}
E = c.Education
ADULT_EDUCATION = {
    EXTREME: {E.NONE: 20, E.PRIMARY_INCOMPLETE: 35, E.PRIMARY: 35, E.JUNIOR: 10},
    POOR: {E.NONE: 5, E.PRIMARY_INCOMPLETE: 15, E.PRIMARY: 40, E.JUNIOR: 25, E.SENIOR: 15},
    NON_POOR: {E.PRIMARY: 20, E.JUNIOR: 25, E.SENIOR: 40, E.DIPLOMA: 7, E.BACHELOR: 8},
}
INSURANCE = {
    EXTREME: {
        c.HealthInsurance.PBI_JKN: 78,
        c.HealthInsurance.PBI_DAERAH: 12,
        c.HealthInsurance.NONE: 10,
    },
    POOR: {
        c.HealthInsurance.PBI_JKN: 65,
        c.HealthInsurance.PBI_DAERAH: 15,
        c.HealthInsurance.NONE: 15,
        c.HealthInsurance.JKN_CONTRIBUTOR: 5,
    },
    NON_POOR: {
        c.HealthInsurance.PBI_JKN: 35,
        c.HealthInsurance.JKN_CONTRIBUTOR: 40,
        c.HealthInsurance.NONE: 20,
        c.HealthInsurance.OTHER: 5,
    },
}
DISABILITY = {
    c.Disability.PHYSICAL: 40,
    c.Disability.SENSORY: 25,
    c.Disability.INTELLECTUAL: 15,
    c.Disability.MENTAL: 10,
    c.Disability.MULTIPLE: 10,
}
# Occupations are data as a register records them (Indonesian), not interface text.
OCCUPATIONS = {
    EXTREME: (
        "Buruh tani",
        "Buruh harian lepas",
        "Nelayan buruh",
        "Pemulung",
        "Petani penggarap",
        "Kuli angkut",
    ),
    POOR: (
        "Petani",
        "Buruh pabrik",
        "Ojek",
        "Pedagang keliling",
        "Buruh bangunan",
        "Nelayan",
        "Asisten rumah tangga",
    ),
    NON_POOR: (
        "Pedagang",
        "Karyawan swasta",
        "Sopir",
        "Wiraswasta",
        "Guru honorer",
        "Montir",
        "Penjahit",
    ),
}


class DemoDataError(Exception):
    """The demo generator cannot go on (no regions loaded, or a serial range is used up)."""


@dataclass
class LoadResult:
    households: int
    members: int
    seconds: float


@dataclass(frozen=True)
class _Village:
    id: int
    kecamatan: str  # 6 digits, as in a NIK or No. KK
    lat: float | None
    lng: float | None
    place: str  # birthplace for people born here: the kab/kota name without "Kabupaten"/"Kota"


class _Serials:
    """The last serial used per key. Keys are bounded (kecamatan x year x sex), not per person."""

    def __init__(self):
        self.last: dict[tuple, int] = {}

    def seen(self, key: tuple, serial: int) -> None:
        if serial > self.last.get(key, 0):
            self.last[key] = serial

    def next(self, key: tuple) -> int:
        serial = self.last.get(key, 0) + 1
        if serial > MAX_SERIAL:
            raise DemoDataError(f"Serial numbers used up for {key}; cannot add more demo people.")
        self.last[key] = serial
        return serial


def _table(weights: dict) -> tuple[list, list[float]]:
    """A (values, cumulative weights) pair for fast weighted draws."""
    values, cum, total = [], [], 0.0
    for value, weight in weights.items():
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


def _place_name(regency_name: str) -> str:
    for prefix in ("Kabupaten ", "Kota "):
        if regency_name.startswith(prefix):
            return regency_name[len(prefix) :]
    return regency_name


class _Generator:
    """Builds unsaved Household / Member rows; holds only bounded state between chunks."""

    def __init__(self, seed: int | None, today: date):
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self.today = today
        self._load_regions()
        self.nik_serials = _Serials()
        self.kk_serials = _Serials()
        self._seed_serials()
        self.conditions = {
            k: {field: _table(w) for field, w in fields.items()} for k, fields in CONDITIONS.items()
        }
        self.desil = {k: _table(w) for k, w in DESIL.items()}
        self.school = {k: _table(w) for k, w in SCHOOL.items()}
        self.adult_education = {k: _table(w) for k, w in ADULT_EDUCATION.items()}
        self.insurance = {k: _table(w) for k, w in INSURANCE.items()}
        self.disability = _table(DISABILITY)
        self.registration_source = _table(REGISTRATION_SOURCE)
        self.size = _table(SIZE_WEIGHTS)
        quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        self.desil_dates = [quarter_start]
        for _ in range(3):
            prev = self.desil_dates[-1] - timedelta(days=1)
            self.desil_dates.append(date(prev.year, 3 * ((prev.month - 1) // 3) + 1, 1))

    # --- reference data and existing numbers (a few queries per run) --------------------------

    def _load_regions(self) -> None:
        regencies = dict(Region.objects.filter(level=Level.REGENCY).values_list("code", "name"))
        population = population_by_regency()
        by_regency: dict[str, list[_Village]] = {code: [] for code in regencies}
        rows = Region.objects.filter(level=Level.VILLAGE).values_list("id", "code", "lat", "lng")
        for pk, code, lat, lng in rows.iterator(chunk_size=2000):
            regency = code[:5]
            if regency not in by_regency:
                continue
            by_regency[regency].append(
                _Village(
                    id=pk,
                    kecamatan=code[:8].replace(".", ""),
                    lat=float(lat) if lat is not None else None,
                    lng=float(lng) if lng is not None else None,
                    place=_place_name(regencies[regency]),
                )
            )
        self.regencies = [code for code, vs in sorted(by_regency.items()) if vs]
        if not self.regencies:
            raise DemoDataError("No villages in the database: run `manage.py load_regions` first.")
        self.villages = by_regency
        _, self.regency_cum = _table({code: population.get(code, 1) for code in self.regencies})
        self.kecamatan_codes = sorted(
            code.replace(".", "")
            for code in Region.objects.filter(level=Level.DISTRICT).values_list("code", flat=True)
        )

    def _seed_serials(self) -> None:
        """Continue after the highest serial already stored, so no new number meets an old one."""
        niks = Member.objects.values_list("nik", flat=True).order_by()
        for nik in niks.iterator(chunk_size=20_000):
            if len(nik) == 16 and nik.isdigit():
                sex = c.Sex.FEMALE if int(nik[6:8]) > 40 else c.Sex.MALE
                self.nik_serials.seen((nik[:6], nik[10:12], sex), int(nik[12:]))
        kks = Household.objects.values_list("no_kk", flat=True).order_by()
        for kk in kks.iterator(chunk_size=20_000):
            if len(kk) == 16 and kk.isdigit():
                self.kk_serials.seen((kk[:6], kk[10:12]), int(kk[12:]))

    # --- drawing ----------------------------------------------------------------------------

    def pick(self, table):
        values, cum = table
        index = bisect_right(cum, self.rng.random() * cum[-1])
        return values[min(index, len(values) - 1)]  # float rounding at the top end

    def birth_date(self, age: int) -> date:
        return self.today - timedelta(days=int(age * 365.2425) + self.rng.randrange(365))

    def chunk(self, count: int) -> tuple[list[Household], list[list[Member]]]:
        regencies = self.rng.choices(self.regencies, cum_weights=self.regency_cum, k=count)
        households, members = [], []
        for regency in regencies:
            village = self.rng.choice(self.villages[regency])
            household, people = self.household(village)
            households.append(household)
            members.append(people)
        return households, members

    def household(self, village: _Village) -> tuple[Household, list[Member]]:
        rng = self.rng
        roll = rng.random()
        klass = EXTREME if roll < 0.30 else POOR if roll < 0.70 else NON_POOR
        size = self.pick(self.size)
        cond = self.conditions[klass]

        low, high, mode = SPENDING_PER_PERSON[klass]
        expenditure = int(rng.triangular(low, high, mode) * size) // 1000 * 1000
        if klass == EXTREME:
            income = 0 if rng.random() < 0.05 else expenditure * rng.uniform(0.45, 1.0)
        else:
            income = expenditure * rng.uniform(*INCOME_RATIO[klass])
        income = int(income) // 10_000 * 10_000

        toilet = self.pick(cond["toilet"])
        if toilet in (T.OWN, T.SHARED):
            septic = rng.random() < SEPTIC_SHARE[klass]
        else:
            septic = None if toilet == T.PUBLIC else False
        area_low, area_high = FLOOR_M2_PER_PERSON[klass]
        source = self.pick(self.registration_source)
        has_desil = source != c.RegistrationSource.FIELD or rng.random() < 0.5
        lat, lng = self.point(village)
        rt, rw = f"{rng.randint(1, 12):03d}", f"{rng.randint(1, 6):03d}"
        people = self.members(size, klass, village)
        # The KK was issued in the last 15 years, after the head came of age (17).
        head_adult = people[0].birth_date + timedelta(days=int(17 * 365.25))
        earliest = max(self.today - timedelta(days=15 * 365), head_adult)
        latest = self.today - timedelta(days=30)
        registered = earliest + timedelta(days=rng.randint(0, max(0, (latest - earliest).days)))
        kk_serial = self.kk_serials.next((village.kecamatan, f"{registered:%y}"))
        household = Household(
            no_kk=f"{village.kecamatan}{registered:%d%m%y}{kk_serial:04d}",
            desa_id=village.id,
            rt=rt,
            rw=rw,
            address=f"Kp. {rng.choice(names.KAMPUNG)}",
            lat=lat,
            lng=lng,
            floor_area_m2=max(12, int(size * rng.uniform(area_low, area_high))),
            floor_material=self.pick(cond["floor_material"]),
            wall_material=self.pick(cond["wall_material"]),
            roof_material=self.pick(cond["roof_material"]),
            water_source=self.pick(cond["water_source"]),
            toilet=toilet,
            has_septic_tank=septic,
            lighting=self.pick(cond["lighting"]),
            cooking_fuel=self.pick(cond["cooking_fuel"]),
            ownership=self.pick(cond["ownership"]),
            meals_per_day=self.pick(cond["meals_per_day"]),
            monthly_expenditure=expenditure,
            monthly_income=income,
            desil=self.pick(self.desil[klass]) if has_desil else None,
            desil_source=c.DesilSource.DTSEN if has_desil else "",
            desil_as_of=rng.choice(self.desil_dates) if has_desil else None,
            dtsen_id=f"{rng.randrange(10**11, 10**12)}" if has_desil else "",
            p3ke_id=(
                f"P3KE{rng.randrange(10**9):09d}" if source == c.RegistrationSource.P3KE else ""
            ),
            registration_source=source,
            status=c.HouseholdStatus.ACTIVE,
        )
        return household, people

    def point(self, village: _Village) -> tuple[Decimal | None, Decimal | None]:
        if village.lat is None or village.lng is None:
            return None, None
        distance = GPS_RADIUS_KM * math.sqrt(self.rng.random())
        angle = self.rng.uniform(0, 2 * math.pi)
        lat = village.lat + distance * math.cos(angle) / 111.32
        lng = village.lng + distance * math.sin(angle) / (111.32 * math.cos(math.radians(lat)))
        return Decimal(f"{lat:.6f}"), Decimal(f"{lng:.6f}")

    # --- members ----------------------------------------------------------------------------

    def members(self, size: int, klass: str, village: _Village) -> list[Member]:
        """A plausible family: head, usually a spouse, children, sometimes a parent or in-laws."""
        rng = self.rng
        rel, sex_m, sex_f = c.Relationship, c.Sex.MALE, c.Sex.FEMALE
        ms = c.MaritalStatus
        people: list[tuple[str, str, int, str]] = []  # (relationship, sex, age, marital status)

        if size == 1:
            head_age = rng.randint(55, 85) if rng.random() < 0.7 else rng.randint(22, 54)
        else:
            head_age = int(rng.triangular(22, 75, 40))
        head_sex = sex_m if rng.random() < 0.85 else sex_f
        spouse = None
        if size >= 2 and head_sex == sex_m and rng.random() < 0.92:
            spouse = (rel.SPOUSE, sex_f, max(18, head_age - rng.randint(0, 8)), ms.MARRIED)
        elif size >= 2 and head_sex == sex_f and rng.random() < 0.1:
            spouse = (rel.SPOUSE, sex_m, min(90, head_age + rng.randint(0, 6)), ms.MARRIED)
        if spouse:
            head_marital = ms.MARRIED
        elif head_age < 30 and head_sex == sex_m:
            head_marital = ms.SINGLE
        else:
            head_marital = ms.WIDOWED if rng.random() < 0.6 else ms.DIVORCED
        people.append((rel.HEAD, head_sex, head_age, head_marital))
        if spouse:
            people.append(spouse)
        remaining = size - len(people)

        if remaining >= 1 and size >= 3 and head_age <= 60 and rng.random() < 0.15:
            parent_age = min(92, head_age + rng.randint(20, 32))
            relationship = rel.PARENT if rng.random() < 0.6 else rel.PARENT_IN_LAW
            parent_sex = sex_f if rng.random() < 0.7 else sex_m
            people.append((relationship, parent_sex, parent_age, ms.WIDOWED))
            remaining -= 1

        mother_age = (
            spouse[2]
            if spouse and spouse[1] == sex_f
            else head_age
            if head_sex == sex_f
            else max(18, head_age - 3)
        )
        oldest_child = min(mother_age - 19, 30)
        if remaining >= 3 and oldest_child >= 21 and rng.random() < 0.25:
            child_age = rng.randint(21, oldest_child)
            child_sex = sex_m if rng.random() < 0.5 else sex_f
            people.append((rel.CHILD, child_sex, child_age, ms.MARRIED))
            in_law_sex = sex_f if child_sex == sex_m else sex_m
            in_law_age = max(18, child_age + rng.randint(-4, 4))
            people.append((rel.CHILD_IN_LAW, in_law_sex, in_law_age, ms.MARRIED))
            remaining -= 2
            young_mother = child_age if child_sex == sex_f else in_law_age
            for _ in range(remaining):
                age = rng.randint(0, max(0, min(young_mother - 18, 12)))
                grandchild_sex = sex_m if rng.random() < 0.5 else sex_f
                people.append((rel.GRANDCHILD, grandchild_sex, age, ms.SINGLE))
            remaining = 0
        ages = sorted(
            (rng.randint(0, max(0, oldest_child)) for _ in range(remaining)), reverse=True
        )
        for age in ages:
            people.append((rel.CHILD, sex_m if rng.random() < 0.5 else sex_f, age, ms.SINGLE))

        insurance = self.pick(self.insurance[klass])
        return [
            self.member(relationship, sex, age, marital, klass, village, insurance)
            for relationship, sex, age, marital in people
        ]

    def member(self, relationship, sex, age, marital, klass, village, insurance) -> Member:
        rng = self.rng
        birth_date = self.birth_date(age)
        kecamatan = village.kecamatan
        if rng.random() < OTHER_KECAMATAN_SHARE:
            kecamatan = rng.choice(self.kecamatan_codes)
        serial = self.nik_serials.next((kecamatan, f"{birth_date:%y}", sex))

        school = c.SchoolEnrolment.NOT_SCHOOL_AGE
        if 7 <= age <= 18:
            school = self.pick(self.school[klass])
        education = self.education(age, school, klass)
        work, occupation = self.work(relationship, sex, age, school, klass)
        if age >= 60:
            disabled, chronic = 0.10, 0.30
        else:
            disabled, chronic = (0.02, 0.02) if age < 18 else (0.03, 0.08)
        if rng.random() >= 0.9:
            insurance = self.pick(self.insurance[klass])
        born_here = (
            0.95 if relationship in (c.Relationship.CHILD, c.Relationship.GRANDCHILD) else 0.8
        )
        return Member(
            nik=nik_for(district_code=kecamatan, birth_date=birth_date, sex=sex, serial=serial),
            name=self.name(sex, birth_date.year),
            relationship=relationship,
            sex=sex,
            birth_date=birth_date,
            birth_place=(
                village.place
                if rng.random() < born_here
                else rng.choice(names.BIRTHPLACES_ELSEWHERE)
            ),
            marital_status=marital,
            education=education,
            school_enrolment=school,
            work_status=work,
            occupation=occupation,
            disability=self.pick(self.disability) if rng.random() < disabled else c.Disability.NONE,
            chronic_illness=rng.random() < chronic,
            health_insurance=insurance,
            status=c.MemberStatus.ACTIVE,
        )

    def name(self, sex: str, birth_year: int) -> str:
        rng = self.rng
        modern = birth_year >= 2000 and rng.random() < 0.6
        if sex == c.Sex.MALE:
            first = rng.choice(names.MALE_MODERN if modern else names.MALE)
            second = names.MALE_SECOND
        else:
            first = rng.choice(names.FEMALE_MODERN if modern else names.FEMALE)
            second = names.FEMALE_SECOND
        if rng.random() < 0.45:
            last = rng.choice(second)
            if last != first:
                return f"{first} {last}"
        return first

    def education(self, age: int, school: str, klass: str) -> str:
        if age < 7:
            return ""
        if school == c.SchoolEnrolment.NOT_ENROLLED:
            return E.NONE
        if age <= 18:
            level = E.PRIMARY_INCOMPLETE if age <= 12 else E.PRIMARY if age <= 15 else E.JUNIOR
            if school == c.SchoolEnrolment.DROPPED_OUT and level != E.PRIMARY_INCOMPLETE:
                level = E.PRIMARY_INCOMPLETE if level == E.PRIMARY else E.PRIMARY
            return level
        return self.pick(self.adult_education[klass])

    def work(self, relationship, sex, age, school, klass) -> tuple[str, str]:
        rng = self.rng
        ws = c.WorkStatus
        if school == c.SchoolEnrolment.ENROLLED:
            return ws.SCHOOL, ""
        if age < 15:
            return ws.CHILD, ""
        roll = rng.random()
        if age >= 65:
            status = ws.WORKING if roll < 0.4 else ws.UNABLE
        elif relationship == c.Relationship.HEAD:
            status = ws.WORKING if roll < 0.85 else ws.LOOKING if roll < 0.95 else ws.UNABLE
        elif sex == c.Sex.FEMALE:
            status = ws.HOUSEKEEPING if roll < 0.55 else ws.WORKING if roll < 0.9 else ws.LOOKING
        else:
            status = ws.WORKING if roll < 0.6 else ws.LOOKING
        occupation = rng.choice(OCCUPATIONS[klass]) if status == ws.WORKING else ""
        return status, occupation


def load_demo(
    *,
    households: int,
    seed: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Add `households` synthetic households (with members) to the register, in chunks.

    Each chunk is one transaction: households, their KkChange "first" rows, then members, all with
    bulk inserts. Running it again adds more households; numbers never clash with stored ones.
    """
    if households < 0:
        raise ValueError("households must be zero or more")
    started = time.monotonic()
    generator = _Generator(seed, timezone.localdate())
    before = Household.objects.aggregate(last=Max("pk"))["last"] or 0
    done = people = 0
    while done < households:
        count = min(chunk_size, households - done)
        people += _write_chunk(*generator.chunk(count))
        done += count
        if settings.DEBUG:
            reset_queries()  # DEBUG keeps every SQL string; do not let them pile up
        if progress:
            progress(done, households)
    _spread_registration_dates(after_pk=before)
    return LoadResult(households=done, members=people, seconds=time.monotonic() - started)


def _spread_registration_dates(*, after_pk: int) -> None:
    """Date the new households' registration over the last 12 weeks (one update per week), so
    the demo's visit schedule has households overdue and due, not all registered today."""
    now = timezone.now()
    new = Household.objects.filter(pk__gt=after_pk).alias(week=Mod("pk", REGISTRATION_WEEKS))
    for week in range(1, REGISTRATION_WEEKS):
        new.filter(week=week).update(created_at=now - timedelta(weeks=week))


@transaction.atomic
def _write_chunk(households: list[Household], members: list[list[Member]]) -> int:
    Household.objects.bulk_create(households)
    if any(h.pk is None for h in households):  # a backend that returns no ids from bulk inserts
        _fetch_ids(households)
    _insert_rows(
        KkChange,
        [
            KkChange(household_id=h.pk, new_no_kk=h.no_kk, reason=c.KkChangeReason.FIRST)
            for h in households
        ],
    )
    rows = []
    for household, people in zip(households, members, strict=True):
        for member in people:
            member.household_id = household.pk
            rows.append(member)
    _insert_rows(Member, rows)
    return len(rows)


# Field types whose Python values the database drivers take as they are (text: as plain str).
_PLAIN_TYPES = {
    "BigIntegerField",
    "BooleanField",
    "ForeignKey",
    "IntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
}
_TEXT_TYPES = {"CharField", "TextField"}


def _insert_rows(model, objs: list) -> None:
    """Insert unsaved instances in one statement batch; what bulk_create does, minus its per-value
    SQL compilation. Ids are not read back. Auto-now fields get one timestamp; any field type not
    listed above goes through its own `get_db_prep_save`, as bulk_create would do.
    """
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    getters = []
    for field in fields:
        kind = field.get_internal_type()
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            getters.append((field.attname, _constant(field.get_db_prep_save(now, connection))))
        elif kind in _PLAIN_TYPES:
            getters.append((field.attname, None))
        elif kind in _TEXT_TYPES:
            getters.append((field.attname, _text))
        else:
            getters.append((field.attname, partial(field.get_db_prep_save, connection=connection)))
    rows = [
        tuple(
            getattr(obj, name) if convert is None else convert(getattr(obj, name))
            for name, convert in getters
        )
        for obj in objs
    ]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # psycopg 3 COPY: the fastest bulk path there
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, rows)  # (names from the model, quoted; values as parameters)


def _constant(value):
    return lambda _value: value


def _text(value):
    return value if value is None else str(value)


def _fetch_ids(households: list[Household]) -> None:
    ids = {}
    step = connection.features.max_query_params or 900
    for start in range(0, len(households), step):
        numbers = [h.no_kk for h in households[start : start + step]]
        ids.update(Household.objects.active().filter(no_kk__in=numbers).values_list("no_kk", "id"))
    for household in households:
        household.pk = ids[household.no_kk]
