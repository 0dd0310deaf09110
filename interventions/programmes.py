"""The programme catalogue: every write (services) and every read (selectors) of programmes.

A programme is what an agency (OPD) offers a household: the needs it meets, its tier, its
funding sources and national strategy, its unit of delivery and value in rupiah, who is eligible
(household-fact conditions in the rule-set condition language), where it runs, and its budget
periods with quota and budget.

Access: the catalogue holds no personal data, so everyone who reads the register, OPD officers
and CSR partners read all of it; provincial administrators (and superusers) create and edit
programmes; an OPD officer edits the programmes of their own agency (and adds their periods).

Services raise ``ValidationError`` with field keys (``"needs"``, ``"eligibility[0].field"``,
``"starts_on"``) and write in one transaction, or ``NotAllowed`` (403) for the wrong role.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import django_filters
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opd.access import Access, access_for
from opd.models import Organisation, OrganisationKind, Role
from povertycase.errors import NotAllowed
from povertycase.limits import RUPIAH_MAX
from regions.models import Level, Region

from .evaluation import describe_condition
from .models import FundingSource, Programme, ProgrammePeriod, ProgrammeTier, Strategy
from .rules import NEED_NAMES, NEEDS, validate_conditions

PROGRAMMES_JSON = Path(__file__).resolve().parent / "data" / "programmes.json"

# --- needs, limits ----------------------------------------------------------------------------

TRAINING, BUSINESS = "training", "business"
#: Empowerment "needs" and the only tier whose programmes may list them.
EMPOWERMENT_TIER = {TRAINING: 2, BUSINESS: 3}
PROGRAMME_NEEDS = (*NEEDS, TRAINING, BUSINESS)
PROGRAMME_NEED_NAMES: dict[str, Promise] = {
    **NEED_NAMES,
    TRAINING: gettext_lazy("Skills training and coaching"),
    BUSINESS: gettext_lazy("Group business (UMKM/KUBE)"),
}
QUOTA_MAX = 2_147_483_647  # PositiveIntegerField
CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,29}")


# --- access -----------------------------------------------------------------------------------

CATALOGUE_READERS = (Role.OPD_OFFICER, Role.CSR_PARTNER)


def reads_catalogue(access: Access) -> bool:
    """The catalogue has no personal data: register readers, OPD officers and CSR partners."""
    return access.reads_register or access.has_role(*CATALOGUE_READERS)


def creates_programmes(access: Access) -> bool:
    return access.has_role(Role.PROVINCIAL_ADMIN)


def edits_programmes(access: Access) -> bool:
    """May edit some programme: provincial admins any, OPD officers their agency's."""
    return access.has_role(Role.PROVINCIAL_ADMIN, Role.OPD_OFFICER)


def edits_programme(access: Access, programme: Programme) -> bool:
    if access.has_role(Role.PROVINCIAL_ADMIN):
        return True
    return access.has_role(Role.OPD_OFFICER) and programme.owner_id in access.organisation_ids


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotAllowed(message)


# --- report periods ---------------------------------------------------------------------------


class ReportPeriod(NamedTuple):
    """The half-year (Inpres 8/2025: governors report every 6 months) and quarter (Inpres
    4/2022) a date falls in."""

    year: int
    semester: int  # 1: January-June, 2: July-December
    quarter: int  # 1..4

    @property
    def semester_label(self) -> str:
        return f"{self.year}-S{self.semester}"

    @property
    def quarter_label(self) -> str:
        return f"{self.year}-Q{self.quarter}"


def report_period(day: date) -> ReportPeriod:
    """``report_period(date(2026, 8, 17))`` -> ``ReportPeriod(2026, semester=2, quarter=3)``."""
    return ReportPeriod(day.year, 1 if day.month <= 6 else 2, (day.month - 1) // 3 + 1)


def _months(year: int, first: int, count: int) -> tuple[date, date]:
    last_month = first + count - 1
    following = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return date(year, first, 1), following - timedelta(days=1)


def semester_dates(year: int, semester: int) -> tuple[date, date]:
    """First and last day of a half-year (1 or 2)."""
    if semester not in (1, 2):
        raise ValueError("semester is 1 or 2")
    return _months(year, 1 + 6 * (semester - 1), 6)


def quarter_dates(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter (1..4)."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter is 1 to 4")
    return _months(year, 1 + 3 * (quarter - 1), 3)


# --- words ------------------------------------------------------------------------------------


def needs_in_words(needs: Iterable[str]) -> list[str]:
    return [str(PROGRAMME_NEED_NAMES.get(n, n)) for n in needs]


def funding_in_words(sources: Iterable[str]) -> list[str]:
    labels = dict(FundingSource.choices)
    return [str(labels.get(s, s)) for s in sources]


def eligibility_in_words(conditions: Iterable[dict]) -> list[str]:
    """Each condition in words ("house ownership is own"); empty: every household."""
    return [describe_condition(condition) for condition in conditions]


def day_text(day: date | None) -> str:
    return formats.date_format(day, "j M Y") if day else ""


# --- validation -------------------------------------------------------------------------------


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, field: str, errors: _Errors, *, required=False, max_length=None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, _("Must be text."))
        return ""
    value = value.strip()
    if required and not value:
        errors.add(field, _("This field is required."))
    elif max_length is not None and len(value) > max_length:
        errors.add(
            field,
            _("At most %(max)s characters (this has %(length)s).")
            % {"max": max_length, "length": len(value)},
        )
    return value


def _whole(
    value: Any, field: str, errors: _Errors, *, required: bool, minimum: int, maximum: int
) -> int | None:
    """A whole number (rupiah, households) in [minimum, maximum]; None when empty."""
    if value is None or value == "":
        if required:
            errors.add(field, _("This field is required."))
        return None
    if not _is_int(value):
        errors.add(
            field,
            _("Enter a whole number without decimals, dots or spaces (for example 1200000)."),
        )
        return None
    if value < 0:
        errors.add(field, _("Cannot be negative."))
        return None
    if value < minimum:
        errors.add(field, _("Must be at least %(min)s.") % {"min": minimum})
        return None
    if value > maximum:
        errors.add(field, _("Too large: at most %(max)s.") % {"max": maximum})
        return None
    return value


def _date(value: Any, field: str, errors: _Errors, *, required: bool) -> date | None:
    if value is None or value == "":
        if required:
            errors.add(field, _("This field is required."))
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(field, _("Enter a valid date (YYYY-MM-DD)."))
    return None


def _choice(value: Any, field: str, errors: _Errors, choices) -> Any:
    allowed = dict(choices)
    if value is None or value == "":
        errors.add(field, _("This field is required."))
        return None
    if value not in allowed or isinstance(value, bool):
        errors.add(
            field,
            _("Unknown value '%(value)s'; allowed values: %(allowed)s.")
            % {"value": value, "allowed": ", ".join(str(k) for k in allowed)},
        )
        return None
    return value


def _code_list(
    value: Any, field: str, errors: _Errors, known: Iterable[str], unknown_message: str
) -> list[str]:
    """A list of codes from ``known``, without repeats. ``unknown_message`` takes %(codes)s and
    %(known)s."""
    known = tuple(known)
    if value is None:
        value = []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors.add(
            field, _("Must be a list of codes from %(known)s.") % {"known": ", ".join(known)}
        )
        return []
    unknown = [v for v in value if v not in known]
    if unknown:
        errors.add(
            field,
            unknown_message
            % {"codes": ", ".join(f"'{v}'" for v in unknown), "known": ", ".join(known)},
        )
        return []
    return list(dict.fromkeys(value))


def _needs(value: Any, tier: int | None, errors: _Errors) -> list[str]:
    needs = _code_list(
        value,
        "needs",
        errors,
        PROGRAMME_NEEDS,
        _("Unknown need %(codes)s; known needs: %(known)s."),
    )
    if "needs" in errors:
        return needs
    if not needs:
        errors.add("needs", _("Choose at least one need the programme meets."))
    for need, only_tier in EMPOWERMENT_TIER.items():
        if need in needs and tier is not None and tier != only_tier:
            errors.add(
                "needs",
                _(
                    "'%(need)s' is met by tier %(only)s programmes only; this is a tier "
                    "%(tier)s programme."
                )
                % {"need": need, "only": only_tier, "tier": tier},
            )
    return needs


def _owner(value: Any, errors: _Errors, current_id: int | None = None) -> Organisation | None:
    """An active OPD (an inactive one may stay the owner of a programme it already runs)."""
    if value is None or value == "":
        errors.add("owner", _("Choose the agency (OPD) that runs the programme."))
        return None
    if not isinstance(value, Organisation):
        errors.add("owner", _("Unknown organisation."))
        return None
    if value.kind != OrganisationKind.OPD:
        errors.add(
            "owner",
            _("%(name)s is not a government agency (OPD); only an OPD can run a programme.")
            % {"name": value.short_name},
        )
        return None
    if not value.is_active and value.pk != current_id:
        errors.add("owner", _("%(name)s is no longer active.") % {"name": value.short_name})
        return None
    return value


def _regions(value: Any, errors: _Errors) -> list[Region]:
    if value is None:
        return []
    regions = list(value) if isinstance(value, Iterable) and not isinstance(value, str) else None
    if regions is None or not all(isinstance(r, Region) for r in regions):
        errors.add("target_regions", _("Must be a list of regions."))
        return []
    if any(r.level == Level.PROVINCE for r in regions):
        errors.add(
            "target_regions",
            _("Leave the target regions empty for the whole province."),
        )
        return []
    return list({r.pk: r for r in regions}.values())


def _eligibility(value: Any, errors: _Errors) -> list[dict]:
    if value is None:
        return []
    try:
        return validate_conditions(value)
    except ValidationError as exc:
        for path, messages in exc.message_dict.items():
            key = "eligibility" if path == NON_FIELD_ERRORS else f"eligibility{path}"
            for message in messages:
                errors.add(key, message)
        return []


def _bool(value: Any, field: str, errors: _Errors) -> bool:
    if not isinstance(value, bool):
        errors.add(field, _("Must be true or false."))
        return False
    return value


def _clean_code(value: Any, errors: _Errors) -> str:
    code = _text(value, "code", errors, required=True, max_length=30).upper()
    if code and "code" not in errors and not CODE.fullmatch(code):
        errors.add(
            "code",
            _(
                "Use 2 to 30 capital letters, digits, '-' or '_', starting with a letter or "
                "digit (for example PKH or PBI-JK)."
            ),
        )
    return code


PROGRAMME_FIELDS = (
    "name",
    "description",
    "owner",
    "tier",
    "needs",
    "funding_sources",
    "strategy",
    "unit",
    "unit_value",
    "eligibility",
    "target_regions",
    "active_from",
    "active_until",
    "is_active",
    "source_note",
)


def _clean_programme(data: dict, errors: _Errors, current_owner_id: int | None = None) -> dict:
    """Every field of a programme checked; ``errors`` collects the messages by field."""
    out: dict[str, Any] = {
        "name": _text(data.get("name"), "name", errors, required=True, max_length=200),
        "description": _text(data.get("description"), "description", errors),
        "owner": _owner(data.get("owner"), errors, current_owner_id),
    }
    tier = data.get("tier")
    if tier not in ProgrammeTier.values or not _is_int(tier):
        errors.add("tier", _("Must be 1, 2 or 3."))
        tier = None
    out["tier"] = tier
    out["needs"] = _needs(data.get("needs"), tier, errors)
    out["funding_sources"] = _code_list(
        data.get("funding_sources"),
        "funding_sources",
        errors,
        FundingSource.values,
        _("Unknown funding source %(codes)s; known sources: %(known)s."),
    )
    if "funding_sources" not in errors and not out["funding_sources"]:
        errors.add("funding_sources", _("Choose at least one funding source."))
    out["strategy"] = _choice(data.get("strategy"), "strategy", errors, Strategy.choices)
    out["unit"] = _text(data.get("unit"), "unit", errors, required=True, max_length=60)
    out["unit_value"] = _whole(
        data.get("unit_value"), "unit_value", errors, required=True, minimum=0, maximum=RUPIAH_MAX
    )
    out["eligibility"] = _eligibility(data.get("eligibility"), errors)
    out["target_regions"] = _regions(data.get("target_regions"), errors)
    out["active_from"] = _date(data.get("active_from"), "active_from", errors, required=True)
    out["active_until"] = _date(data.get("active_until"), "active_until", errors, required=False)
    if out["active_from"] and out["active_until"] and out["active_until"] < out["active_from"]:
        errors.add("active_until", _("Cannot be before the start date."))
    out["is_active"] = _bool(data.get("is_active", True), "is_active", errors)
    out["source_note"] = _text(data.get("source_note"), "source_note", errors)
    return out


def _check_periods_fit(programme: Programme, values: dict, errors: _Errors) -> None:
    """The programme's active dates must still cover every period it has."""
    start, until = values["active_from"], values["active_until"]
    for period in programme.periods.order_by("starts_on"):
        if start and period.starts_on < start:
            errors.add(
                "active_from",
                _("Period %(name)s starts on %(day)s, before this date.")
                % {"name": period.name, "day": day_text(period.starts_on)},
            )
        if until and period.ends_on > until:
            errors.add(
                "active_until",
                _("Period %(name)s ends on %(day)s, after this date.")
                % {"name": period.name, "day": day_text(period.ends_on)},
            )


# --- services ---------------------------------------------------------------------------------


def _save(programme: Programme, values: dict, actor) -> Programme:
    """Write a checked programme and its target regions (inside the caller's transaction)."""
    regions = values.pop("target_regions")
    for name, value in values.items():
        setattr(programme, name, value)
    programme._history_user = actor
    try:
        with transaction.atomic():
            programme.save()
    except IntegrityError as exc:  # the same code was created at the same moment
        raise ValidationError(
            {
                "code": [
                    _("A programme with code %(code)s already exists.") % {"code": programme.code}
                ]
            }
        ) from exc
    current = set(programme.target_regions.values_list("pk", flat=True))
    if current != {r.pk for r in regions}:
        programme.target_regions.set(regions)
    return programme


def _create(*, actor, code: Any, data: dict) -> Programme:
    errors = _Errors()
    code = _clean_code(code, errors)
    values = _clean_programme(data, errors)
    if code and "code" not in errors and Programme.objects.filter(code=code).exists():
        errors.add("code", _("A programme with code %(code)s already exists.") % {"code": code})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _save(Programme(code=code), values, actor)


def programme_create(
    *,
    actor,
    code: str,
    name: str,
    owner: Organisation | None,
    tier: int,
    needs: list[str],
    funding_sources: list[str],
    strategy: str,
    unit: str,
    unit_value: int,
    active_from: date | str,
    description: str = "",
    eligibility: list[dict] | None = None,
    target_regions: Iterable[Region] = (),
    active_until: date | str | None = None,
    is_active: bool = True,
    source_note: str = "",
) -> Programme:
    """Add a programme to the catalogue (provincial administrators)."""
    _require(
        creates_programmes(access_for(actor)),
        _("Only provincial administrators may add programmes."),
    )
    data = {
        "name": name,
        "description": description,
        "owner": owner,
        "tier": tier,
        "needs": needs,
        "funding_sources": funding_sources,
        "strategy": strategy,
        "unit": unit,
        "unit_value": unit_value,
        "eligibility": eligibility,
        "target_regions": target_regions,
        "active_from": active_from,
        "active_until": active_until,
        "is_active": is_active,
        "source_note": source_note,
    }
    return _create(actor=actor, code=code, data=data)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def programme_update(
    *,
    actor,
    programme: Programme,
    name: str = UNSET,
    description: str = UNSET,
    owner: Organisation | None = UNSET,
    tier: int = UNSET,
    needs: list[str] = UNSET,
    funding_sources: list[str] = UNSET,
    strategy: str = UNSET,
    unit: str = UNSET,
    unit_value: int = UNSET,
    eligibility: list[dict] | None = UNSET,
    target_regions: Iterable[Region] = UNSET,
    active_from: date | str = UNSET,
    active_until: date | str | None = UNSET,
    is_active: bool = UNSET,
    source_note: str = UNSET,
) -> Programme:
    """Change some fields of a programme (the code never changes). Provincial administrators
    edit any programme; an OPD officer only their own agency's, and cannot give it away.
    Returns the programme as saved."""
    access = access_for(actor)
    _require(
        edits_programme(access, programme),
        _("You may edit only the programmes of your own agency."),
    )
    # The keyword arguments the caller gave (UNSET: keep the stored value).
    given = {k: v for k, v in locals().items() if k in PROGRAMME_FIELDS and v is not UNSET}
    with transaction.atomic():
        locked = Programme.objects.select_for_update().get(pk=programme.pk)
        _require(
            edits_programme(access, locked),
            _("You may edit only the programmes of your own agency."),
        )
        current = {f: getattr(locked, f) for f in PROGRAMME_FIELDS if f != "target_regions"}
        current["owner"] = locked.owner
        current["target_regions"] = list(locked.target_regions.all())
        errors = _Errors()
        values = _clean_programme({**current, **given}, errors, locked.owner_id)
        owner = values["owner"]
        if (
            owner is not None
            and owner.pk != locked.owner_id
            and not access.has_role(Role.PROVINCIAL_ADMIN)
        ):
            errors.add(
                "owner",
                _("Only a provincial administrator can move a programme to another agency."),
            )
        _check_periods_fit(locked, values, errors)
        if errors:
            raise ValidationError(errors)
        return _save(locked, values, actor)


def _clean_period(programme: Programme, data: dict, errors: _Errors) -> dict[str, Any]:
    out = {
        "name": _text(data.get("name"), "name", errors, required=True, max_length=20),
        "starts_on": _date(data.get("starts_on"), "starts_on", errors, required=True),
        "ends_on": _date(data.get("ends_on"), "ends_on", errors, required=True),
        "quota": _whole(
            data.get("quota"), "quota", errors, required=False, minimum=1, maximum=QUOTA_MAX
        ),
        "budget": _whole(
            data.get("budget"), "budget", errors, required=False, minimum=1, maximum=RUPIAH_MAX
        ),
    }
    starts, ends = out["starts_on"], out["ends_on"]
    if starts and ends and ends <= starts:
        errors.add("ends_on", _("Must be after the start date."))
        return out
    if starts and starts < programme.active_from:
        errors.add(
            "starts_on",
            _("The programme is active from %(day)s; the period cannot start before.")
            % {"day": day_text(programme.active_from)},
        )
    if ends and programme.active_until and ends > programme.active_until:
        errors.add(
            "ends_on",
            _("The programme is active until %(day)s; the period cannot end after.")
            % {"day": day_text(programme.active_until)},
        )
    if out["name"] and programme.periods.filter(name=out["name"]).exists():
        errors.add(
            "name",
            _("This programme already has a period named %(name)s.") % {"name": out["name"]},
        )
    if starts and ends and "ends_on" not in errors:
        overlapping = programme.periods.filter(starts_on__lte=ends, ends_on__gte=starts)
        for other in overlapping.order_by("starts_on"):
            errors.add(
                "starts_on",
                _("Overlaps period %(name)s (%(start)s – %(end)s); periods cannot overlap.")
                % {
                    "name": other.name,
                    "start": day_text(other.starts_on),
                    "end": day_text(other.ends_on),
                },
            )
    return out


def _create_period(*, actor, programme: Programme, data: dict) -> ProgrammePeriod:
    with transaction.atomic():
        # One writer per programme at a time, so two overlapping periods cannot both pass.
        locked = Programme.objects.select_for_update().get(pk=programme.pk)
        errors = _Errors()
        values = _clean_period(locked, data, errors)
        if errors:
            raise ValidationError(errors)
        period = ProgrammePeriod(programme=locked, **values)
        period._history_user = actor
        try:
            with transaction.atomic():
                period.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"name": [_("This programme already has a period named %(name)s.") % values]}
            ) from exc
        return period


def programme_period_create(
    *,
    actor,
    programme: Programme,
    name: str,
    starts_on: date | str,
    ends_on: date | str,
    quota: int | None = None,
    budget: int | None = None,
) -> ProgrammePeriod:
    """Add a budget period (e.g. "2026") with its quota of households and budget in rupiah
    (None: no limit). Periods of a programme never overlap and lie within its active dates."""
    _require(
        edits_programme(access_for(actor), programme),
        _("You may add periods only to the programmes of your own agency."),
    )
    data = {
        "name": name,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "quota": quota,
        "budget": budget,
    }
    return _create_period(actor=actor, programme=programme, data=data)


# --- seed data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    programmes: int = 0
    periods: int = 0


def _prefixed(exc: ValidationError, prefix: str) -> dict[str, list[str]]:
    return {f"{prefix}.{key}": messages for key, messages in exc.message_dict.items()}


def programmes_load(*, path: Path = PROGRAMMES_JSON) -> LoadResult:
    """Create the reference programmes (and their periods) whose code is missing.

    Idempotent; never changes a programme that exists (local edits win). All or nothing: a
    fixture entry that fails validation raises ``ValidationError`` keyed "<code>.<field>".
    """
    entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValidationError(_("The file must hold a JSON list of programme objects."))
    existing = set(Programme.objects.values_list("code", flat=True))
    owners = {o.short_name: o for o in Organisation.objects.all()}
    codes = {c for e in entries for c in e.get("target_regions", [])}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    created = periods = 0
    with transaction.atomic():
        for index, entry in enumerate(entries):
            code = str(entry.get("code") or f"[{index}]")
            if code in existing:
                continue
            data = {k: v for k, v in entry.items() if k in PROGRAMME_FIELDS}
            errors = _Errors()
            owner_name = entry.get("owner")
            data["owner"] = owners.get(owner_name)
            if data["owner"] is None:
                errors.add(
                    f"{code}.owner",
                    _("Unknown organisation '%(name)s' (load the organisations first).")
                    % {"name": owner_name},
                )
            missing = [c for c in data.get("target_regions", []) if c not in regions]
            if missing:
                errors.add(
                    f"{code}.target_regions",
                    _("Unknown region codes: %(codes)s.") % {"codes": ", ".join(missing)},
                )
            if errors:
                raise ValidationError(errors)
            data["target_regions"] = [regions[c] for c in data.get("target_regions", [])]
            try:
                programme = _create(actor=None, code=entry.get("code"), data=data)
                created += 1
                for number, period in enumerate(entry.get("periods", [])):
                    try:
                        _create_period(actor=None, programme=programme, data=period)
                    except ValidationError as exc:
                        raise ValidationError(_prefixed(exc, f"periods[{number}]")) from exc
                    periods += 1
            except ValidationError as exc:
                raise ValidationError(_prefixed(exc, code)) from exc
    return LoadResult(programmes=created, periods=periods)


# --- selectors --------------------------------------------------------------------------------


ALL = gettext_lazy("All")


class ProgrammeFilter(django_filters.FilterSet):
    """Filters shared by the HTML catalogue and the API list."""

    q = django_filters.CharFilter(label=gettext_lazy("Search (code, name)"), method="filter_q")
    owner = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Agency (OPD)"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.OPD).order_by("short_name"),
        to_field_name="short_name",
        empty_label=ALL,
        help_text=gettext_lazy("The short name of the owning agency, e.g. Dinsos Banten."),
    )
    tier = django_filters.ChoiceFilter(
        label=gettext_lazy("Tier"), choices=ProgrammeTier.choices, empty_label=ALL
    )
    need = django_filters.ChoiceFilter(
        label=gettext_lazy("Need"),
        choices=[(n, PROGRAMME_NEED_NAMES[n]) for n in PROGRAMME_NEEDS],
        method="filter_need",
        empty_label=ALL,
    )
    strategy = django_filters.ChoiceFilter(
        label=gettext_lazy("Strategy"), choices=Strategy.choices, empty_label=ALL
    )
    funding_source = django_filters.ChoiceFilter(
        label=gettext_lazy("Funding source"),
        choices=FundingSource.choices,
        method="filter_funding_source",
        empty_label=ALL,
    )
    active = django_filters.BooleanFilter(
        label=gettext_lazy("Running today"),
        method="filter_active",
        widget=forms.Select(
            choices=[
                ("", ALL),
                ("true", gettext_lazy("Running today")),
                ("false", gettext_lazy("Not running")),
            ]
        ),
        help_text=gettext_lazy(
            "true: switched on and today within its active dates; false: the others."
        ),
    )

    class Meta:
        model = Programme
        fields = ["q", "owner", "tier", "need", "strategy", "funding_source", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))

    # JSON lists hold plain codes: '"food"' (quoted) matches one element exactly, on SQLite and
    # PostgreSQL alike (JSONField "contains" is not available on SQLite).
    def filter_need(self, queryset, name, value):
        return queryset.filter(needs__icontains=f'"{value}"') if value else queryset

    def filter_funding_source(self, queryset, name, value):
        return queryset.filter(funding_sources__icontains=f'"{value}"') if value else queryset

    def filter_active(self, queryset, name, value):
        if value is None:
            return queryset
        running = Programme.objects.running(timezone.localdate()).values("pk")
        if value:
            return queryset.filter(pk__in=running)
        return queryset.exclude(pk__in=running)


def programmes_visible_to(user) -> QuerySet[Programme]:
    """Every programme for the catalogue's readers; none for anyone else."""
    qs = Programme.objects.all()
    return qs if reads_catalogue(access_for(user)) else qs.none()


def programme_list(user, params=None) -> QuerySet[Programme]:
    """Visible programmes with what a list row shows, in a constant number of queries."""
    qs = (
        programmes_visible_to(user)
        .select_related("owner")
        .prefetch_related("target_regions")
        .order_by("tier", "code")
    )
    if params is not None:
        qs = ProgrammeFilter(params, queryset=qs).qs
    return qs


def programme_detail(user, code: str) -> Programme:
    """One visible programme with its periods (``Programme.DoesNotExist`` otherwise)."""
    return (
        programmes_visible_to(user)
        .select_related("owner")
        .prefetch_related("target_regions", "periods")
        .get(code=code)
    )
