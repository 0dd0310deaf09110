"""Eligibility rule sets as plain data, and their validation (pure: no database).

A rule set is a JSON-compatible ``dict`` (stored in a versioned model, edited by provincial
admins). ``validate_rules(data)`` returns the normalised, complete rule set or raises a
``ValidationError`` whose ``message_dict`` maps field paths to messages, for example
``{"deprivations.water.criteria[0].field": ["Unknown field 'watr_source'; known fields: ..."]}``.
Missing keys are filled from ``DEFAULT_RULES``; unknown keys are refused (they are typos).

Shape (see ``DEFAULT_RULES`` for every key and its default)::

    year                  int, the year the lines apply to
    extreme_poverty_line  int rupiah per person per month (BPS: Rp 391.000 for USD 2.15 PPP)
    poverty_line          int rupiah per person per month, the provincial line (Banten, Mar 2025)
    desil_cutoff          1..10, a household in this desil or lower counts as extreme poor ...
    extreme_poor_rule     ... by "spending_or_desil" | "spending_and_desil" | "spending_only"
    deprivations          the seven needs of NEEDS, each {"critical": bool, "label": str,
                          "criteria": [condition, ...]}: a need is UNMET if ANY condition holds
    tiers                 {"tier2": {...}, "tier3": {...}} entry criteria of tiers 2 and 3
    graduation            {...} the graduation criteria

A condition tests one fact (``HOUSEHOLD_FACTS``) of the household::

    {"field": "water_source", "op": "in", "value": ["river", "unprotected_well"]}
    {"field": "meals_per_day", "op": "<", "value": 2}
    {"field": "water_source", "op": "is_empty", "value": true}   # not recorded (false: recorded)

ops: ``< <= > >=`` (number facts), ``== !=`` (any fact), ``in not_in`` (a non-empty list),
``is_empty``. A fact that is not recorded never satisfies a comparison; only ``is_empty`` tests
for it. Member facts (``MEMBER_FACTS``) are tested through the members::

    {"field": "members", "op": "any_member", "age_min": 7, "age_max": 18,
     "value": {"field": "school_enrolment", "op": "in", "value": ["dropped_out"]}}
    {"field": "members", "op": "count_members", "age_min": 15, "age_max": 64,
     "value": null, "min": null, "max": 0}      # holds when the count lies in [min, max]

``value`` of a member op is a condition on member facts, or null for "any member in the age
range". ``{"op": "all", "value": [condition, ...]}`` holds when every listed condition holds
(used by the default sanitation rule: own or shared toilet without a septic tank).

Tier 3 entry always includes tier 2 entry (the evaluator checks tier 2's criteria first), so
tier 3 can only add requirements; validation refuses a tier 3 that would be looser.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import TextChoices
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from households import choices as c

from .money import format_rupiah

# --- needs ------------------------------------------------------------------------------------

NEEDS: Final = ("food", "water", "sanitation", "health", "education", "housing", "information")

#: The name of each need, for headings ("Clean drinking water: met.").
NEED_NAMES: Final[dict[str, Promise]] = {
    "food": gettext_lazy("Food"),
    "water": gettext_lazy("Clean drinking water"),
    "sanitation": gettext_lazy("Sanitation"),
    "health": gettext_lazy("Health"),
    "education": gettext_lazy("Education"),
    "housing": gettext_lazy("Decent housing"),
    "information": gettext_lazy("Information and social services"),
}

#: What an unmet need reads like after "the household has ..." (a rule's "label" replaces it).
NEED_LACKING: Final[dict[str, Promise]] = {
    "food": gettext_lazy("no food security"),
    "water": gettext_lazy("no safe drinking water"),
    "sanitation": gettext_lazy("no decent sanitation"),
    "health": gettext_lazy("no health cover for every member"),
    "education": gettext_lazy("a school-age child out of school"),
    "housing": gettext_lazy("no decent housing"),
    "information": gettext_lazy("no access to information and social services"),
}

EXTREME_POOR_RULES: Final = ("spending_or_desil", "spending_and_desil", "spending_only")
GRADUATION_LINES: Final = ("extreme", "provincial")

# --- facts ------------------------------------------------------------------------------------

INT, NUMBER, BOOL, CHOICE = "int", "number", "bool", "choice"


@dataclass(frozen=True)
class Fact:
    """A fact a condition may test: its type, allowed values and how it reads in words."""

    name: str
    level: str  # "household" or "member"
    kind: str  # INT, NUMBER (int or float), BOOL or CHOICE
    label: Promise  # lower case, reads after a number or before ": value"
    choices: type[TextChoices] | None = None
    minimum: int | None = None
    maximum: int | None = None
    money: bool = False  # rupiah: shown as "Rp 1.200.000"

    @property
    def values(self) -> tuple[str, ...]:
        """The allowed values of a choice fact (empty for other kinds)."""
        return tuple(self.choices.values) if self.choices else ()

    @property
    def numeric(self) -> bool:
        return self.kind in (INT, NUMBER)


def _facts(level: str, *facts: tuple) -> dict[str, Fact]:
    return {f[0]: Fact(f[0], level, *f[1:]) for f in facts}


HOUSEHOLD_FACTS: Final[dict[str, Fact]] = _facts(
    "household",
    ("member_count", INT, gettext_lazy("members"), None, 0),
    ("monthly_expenditure", INT, gettext_lazy("monthly expenditure"), None, 0, None, True),
    ("spending_per_person", INT, gettext_lazy("spending per person"), None, 0, None, True),
    ("desil", INT, gettext_lazy("welfare decile (desil)"), None, 1, 10),
    ("water_source", CHOICE, gettext_lazy("drinking water source"), c.WaterSource),
    ("toilet", CHOICE, gettext_lazy("toilet"), c.Toilet),
    ("has_septic_tank", BOOL, gettext_lazy("septic tank")),
    ("floor_material", CHOICE, gettext_lazy("floor"), c.FloorMaterial),
    ("wall_material", CHOICE, gettext_lazy("wall"), c.WallMaterial),
    ("roof_material", CHOICE, gettext_lazy("roof"), c.RoofMaterial),
    ("floor_area_per_person", NUMBER, gettext_lazy("floor area per person (m²)"), None, 0),
    ("lighting", CHOICE, gettext_lazy("lighting"), c.Lighting),
    ("cooking_fuel", CHOICE, gettext_lazy("cooking fuel"), c.CookingFuel),
    ("ownership", CHOICE, gettext_lazy("house ownership"), c.Ownership),
    ("meals_per_day", INT, gettext_lazy("meals per day"), None, 0, 9),
    ("in_active_group", BOOL, gettext_lazy("member of an active group")),
    # Tier 3 business facts (interventions.group_facts), recorded only for group households.
    (
        "business_months_ago",
        INT,
        gettext_lazy("months since the group's last business record"),
        None,
        0,
    ),
    ("loan_in_good_standing", BOOL, gettext_lazy("a KUR loan in good standing")),
)

MEMBER_FACTS: Final[dict[str, Fact]] = _facts(
    "member",
    ("age", INT, gettext_lazy("age"), None, 0, 150),
    ("sex", CHOICE, gettext_lazy("sex"), c.Sex),
    ("relationship", CHOICE, gettext_lazy("relationship to the head"), c.Relationship),
    ("school_enrolment", CHOICE, gettext_lazy("school enrolment"), c.SchoolEnrolment),
    ("education", CHOICE, gettext_lazy("education"), c.Education),
    ("work_status", CHOICE, gettext_lazy("work status"), c.WorkStatus),
    ("disability", CHOICE, gettext_lazy("disability"), c.Disability),
    ("chronic_illness", BOOL, gettext_lazy("chronic illness")),
    ("health_insurance", CHOICE, gettext_lazy("health insurance"), c.HealthInsurance),
    ("completed_training", BOOL, gettext_lazy("completed training")),
    ("in_active_group", BOOL, gettext_lazy("active member of an active group")),
)

MEMBERS_FIELD: Final = "members"

# --- operators --------------------------------------------------------------------------------

COMPARISON_OPS: Final = ("<", "<=", ">", ">=")
EQUALITY_OPS: Final = ("==", "!=")
LIST_OPS: Final = ("in", "not_in")
MEMBER_OPS: Final = ("any_member", "count_members")
OPS: Final = (*COMPARISON_OPS, *EQUALITY_OPS, *LIST_OPS, "is_empty", *MEMBER_OPS, "all")

_LEAF_KEYS = frozenset({"field", "op", "value"})
_MEMBER_KEYS = {
    "any_member": frozenset({"field", "op", "value", "age_min", "age_max"}),
    "count_members": frozenset({"field", "op", "value", "age_min", "age_max", "min", "max"}),
}
_ALL_KEYS = frozenset({"op", "value"})

# --- defaults ---------------------------------------------------------------------------------

UNSAFE_WATER: Final = [
    c.WaterSource.UNPROTECTED_WELL.value,
    c.WaterSource.UNPROTECTED_SPRING.value,
    c.WaterSource.RIVER.value,
]


def _need(critical: bool, *criteria: dict) -> dict:
    return {"critical": critical, "label": "", "criteria": list(criteria)}


def _leaf(field: str, op: str, value: Any) -> dict:
    return {"field": field, "op": op, "value": value}


def _any_member(condition: dict | None, age_min: int | None = None, age_max: int | None = None):
    return {
        "field": MEMBERS_FIELD,
        "op": "any_member",
        "value": condition,
        "age_min": age_min,
        "age_max": age_max,
    }


#: The default rule set, already in normalised form. Do not mutate: use ``default_rules()``.
DEFAULT_RULES: Final[dict] = {
    "year": 2025,
    "extreme_poverty_line": 391_000,  # BPS, USD 2.15 PPP (2017) a day, per person per month
    "poverty_line": 684_232,  # BPS, Banten, March 2025
    "desil_cutoff": 1,
    "extreme_poor_rule": "spending_or_desil",
    "deprivations": {
        "food": _need(True, _leaf("meals_per_day", "<", 2)),
        "water": _need(
            True,
            _leaf("water_source", "in", UNSAFE_WATER),
            _leaf("water_source", "is_empty", True),
        ),
        "sanitation": _need(
            True,
            _leaf("toilet", "in", [c.Toilet.NONE.value, c.Toilet.PUBLIC.value]),
            {
                "op": "all",
                "value": [
                    _leaf("toilet", "in", [c.Toilet.OWN.value, c.Toilet.SHARED.value]),
                    _leaf("has_septic_tank", "==", False),
                ],
            },
        ),
        "health": _need(
            True, _any_member(_leaf("health_insurance", "==", c.HealthInsurance.NONE.value))
        ),
        "education": _need(
            True,
            _any_member(
                _leaf(
                    "school_enrolment",
                    "in",
                    [c.SchoolEnrolment.NOT_ENROLLED.value, c.SchoolEnrolment.DROPPED_OUT.value],
                ),
                age_min=7,
                age_max=18,
            ),
        ),
        "housing": _need(
            True,
            _leaf(
                "floor_material", "in", [c.FloorMaterial.EARTH.value, c.FloorMaterial.BAMBOO.value]
            ),
            _leaf(
                "wall_material",
                "in",
                [c.WallMaterial.BAMBOO.value, c.WallMaterial.WOVEN_BAMBOO.value],
            ),
            _leaf(
                "roof_material", "in", [c.RoofMaterial.THATCH.value, c.RoofMaterial.BAMBOO.value]
            ),
            _leaf("floor_area_per_person", "<", 8),
        ),
        "information": _need(False, _leaf("lighting", "==", c.Lighting.NONE.value)),
    },
    "tiers": {
        "tier2": {
            "max_unmet_critical_needs": 0,
            "min_working_age_members": 1,
            "working_age_min": 15,
            "working_age_max": 64,
            # members with these work statuses do not count as able to train
            "excluded_work_statuses": [c.WorkStatus.UNABLE.value],
        },
        "tier3": {
            "max_unmet_critical_needs": 0,
            "min_trained_members": 1,
            # the SAME member: completed training and active in an active group
            "requires_active_group": True,
        },
    },
    "graduation": {
        "spending_above": "extreme",
        "consecutive_assessments": 2,
        "min_months_between": 3,
        "max_unmet_critical_needs": 0,
        "monitoring_months": 12,
        # from tier 3: a running business (a record within the months) or a loan in good standing
        "tier3_requires_business": True,
        "business_within_months": 3,
    },
}


# A line per person per month above this is a typing error, not a policy.
MAX_LINE: Final = 100_000_000


def default_rules() -> dict:
    """A fresh, mutable copy of ``DEFAULT_RULES``."""
    return copy.deepcopy(DEFAULT_RULES)


# --- validation -------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_path.setdefault(path or NON_FIELD_ERRORS, []).append(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A JSON number; NaN and infinity (which some editors write) are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _as_int(value: Any) -> int | None:
    """An int, also from a float with no fraction (JSON editors write 3.0); else None."""
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _section(data: Any, default: dict, path: str, errors: _Errors) -> dict:
    """The mapping at ``path`` merged over its defaults; unknown keys are errors."""
    if data is None:
        return copy.deepcopy(default)
    if not isinstance(data, Mapping):
        errors.add(path, _("Must be an object with the keys %(keys)s.") % {"keys": _list(default)})
        return copy.deepcopy(default)
    for key in data:
        if key not in default:
            errors.add(
                _join(path, str(key)),
                _("Unknown setting '%(key)s'; known settings: %(keys)s.")
                % {"key": key, "keys": _list(default)},
            )
    merged = copy.deepcopy(default)
    merged.update({k: v for k, v in data.items() if k in default})
    return merged


def _list(names) -> str:
    return ", ".join(str(n) for n in names)


def _whole(
    section: dict,
    key: str,
    path: str,
    errors: _Errors,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    message: str | None = None,
) -> int | None:
    value = _as_int(section.get(key))
    if value is None or value < minimum or (maximum is not None and value > maximum):
        if message is None:
            if maximum is not None:
                message = _("Must be a whole number from %(min)s to %(max)s.") % {
                    "min": minimum,
                    "max": maximum,
                }
            elif minimum == 0:
                message = _("Must be a whole number, zero or more.")
            else:
                message = _("Must be a whole number of at least %(min)s.") % {"min": minimum}
        errors.add(_join(path, key), message)
        return None
    section[key] = value
    return value


def _boolean(section: dict, key: str, path: str, errors: _Errors) -> None:
    if not isinstance(section.get(key), bool):
        errors.add(_join(path, key), _("Must be true or false."))


def _one_of(section: dict, key: str, allowed, path: str, errors: _Errors) -> None:
    if section.get(key) not in allowed:
        errors.add(
            _join(path, key),
            _("Must be one of %(allowed)s, not '%(value)s'.")
            % {"allowed": _list(allowed), "value": section.get(key)},
        )


def _check_value(fact: Fact, value: Any, path: str, errors: _Errors) -> bool:
    """Is ``value`` a value ``fact`` can take? Adds an error and returns False when not."""
    if fact.kind == BOOL:
        ok = isinstance(value, bool)
        expected = _("true or false")
    elif fact.kind == CHOICE:
        if isinstance(value, str) and value in fact.values:
            return True
        errors.add(
            path,
            _("Unknown value '%(value)s' for %(field)s; allowed values: %(allowed)s.")
            % {"value": value, "field": fact.name, "allowed": _list(fact.values)},
        )
        return False
    elif fact.kind == INT:
        ok = _is_int(value)
        expected = _("a whole number")
    else:
        ok = _is_number(value)
        expected = _("a number")
    if ok and fact.numeric:
        too_low = fact.minimum is not None and value < fact.minimum
        too_high = fact.maximum is not None and value > fact.maximum
        if too_low or too_high:
            errors.add(
                path,
                _("%(value)s is outside the range of %(field)s (%(min)s to %(max)s).")
                % {
                    "value": value,
                    "field": fact.name,
                    "min": fact.minimum if fact.minimum is not None else "…",
                    "max": fact.maximum if fact.maximum is not None else "…",
                },
            )
            return False
    if not ok:
        errors.add(
            path,
            _("%(field)s needs %(expected)s, not %(value)r.")
            % {"field": fact.name, "expected": expected, "value": value},
        )
    return ok


def _condition(data: Any, path: str, errors: _Errors, facts: dict[str, Fact]) -> dict | None:
    """Normalise one condition on ``facts`` (household or member level)."""
    member_level = facts is MEMBER_FACTS
    if not isinstance(data, Mapping):
        errors.add(path, _("A condition must be an object with 'field', 'op' and 'value'."))
        return None
    op = data.get("op")
    if op not in OPS or (member_level and op in MEMBER_OPS):
        allowed = [o for o in OPS if not (member_level and o in MEMBER_OPS)]
        errors.add(
            _join(path, "op"),
            _("Unknown operator '%(op)s'; known operators: %(ops)s.")
            % {"op": op, "ops": _list(allowed)},
        )
        return None
    keys = _ALL_KEYS if op == "all" else _MEMBER_KEYS.get(op, _LEAF_KEYS)
    for key in data:
        if key not in keys:
            errors.add(
                _join(path, str(key)),
                _("Unknown key '%(key)s' in a '%(op)s' condition; allowed keys: %(keys)s.")
                % {"key": key, "op": op, "keys": _list(sorted(keys))},
            )
    if op == "all":
        return _all_condition(data, path, errors, facts)
    if op in MEMBER_OPS:
        return _member_condition(data, path, errors)
    return _leaf_condition(data, path, errors, facts)


def _all_condition(data: Mapping, path: str, errors: _Errors, facts: dict[str, Fact]):
    parts = data.get("value")
    if not isinstance(parts, list) or not parts:
        errors.add(_join(path, "value"), _("'all' needs a non-empty list of conditions."))
        return None
    normalised = [
        _condition(part, f"{path}.value[{i}]", errors, facts) for i, part in enumerate(parts)
    ]
    return {"op": "all", "value": normalised}


def _leaf_condition(data: Mapping, path: str, errors: _Errors, facts: dict[str, Fact]):
    op = data["op"]
    name = data.get("field")
    fact = facts.get(name) if isinstance(name, str) else None
    if fact is None:
        if not isinstance(name, str):
            name = repr(name)
        if facts is HOUSEHOLD_FACTS and name in MEMBER_FACTS:
            message = _(
                "'%(field)s' is a member fact: test it inside an 'any_member' or "
                "'count_members' condition."
            ) % {"field": name}
        elif facts is MEMBER_FACTS and name in HOUSEHOLD_FACTS:
            message = _("'%(field)s' is a household fact; known member fields: %(known)s.") % {
                "field": name,
                "known": _list(facts),
            }
        else:
            message = _("Unknown field '%(field)s'; known fields: %(known)s.") % {
                "field": name,
                "known": _list(facts),
            }
        errors.add(_join(path, "field"), message)
        return None
    value = data.get("value")
    value_path = _join(path, "value")
    if op == "is_empty":
        if "value" not in data:
            value = True
        elif not isinstance(value, bool):
            errors.add(value_path, _("'is_empty' takes true (not recorded) or false (recorded)."))
            return None
    elif op in COMPARISON_OPS:
        if not fact.numeric:
            errors.add(
                _join(path, "op"),
                _("'%(op)s' compares numbers; %(field)s is not a number: use ==, != or in.")
                % {"op": op, "field": name},
            )
            return None
        if not _is_number(value):
            errors.add(value_path, _("'%(op)s' needs a number.") % {"op": op})
            return None
    elif op in EQUALITY_OPS:
        if value is None:
            errors.add(value_path, _("Needs a value; to test for a missing value use is_empty."))
            return None
        if not _check_value(fact, value, value_path, errors):
            return None
    else:  # in, not_in
        if not isinstance(value, list) or not value:
            errors.add(value_path, _("'%(op)s' needs a non-empty list of values.") % {"op": op})
            return None
        checked = [_check_value(fact, v, f"{value_path}[{i}]", errors) for i, v in enumerate(value)]
        if not all(checked):
            return None
        value = list(dict.fromkeys(value))
    return {"field": name, "op": op, "value": value}


def _member_condition(data: Mapping, path: str, errors: _Errors):
    op = data["op"]
    name = data.get("field", MEMBERS_FIELD)
    if name != MEMBERS_FIELD:
        errors.add(
            _join(path, "field"),
            _("'%(op)s' tests the members: its field is '%(members)s', not '%(field)s'.")
            % {"op": op, "members": MEMBERS_FIELD, "field": name},
        )
    result: dict[str, Any] = {"field": MEMBERS_FIELD, "op": op}
    inner = data.get("value")
    result["value"] = (
        None if inner is None else _condition(inner, _join(path, "value"), errors, MEMBER_FACTS)
    )
    bounds = (
        ("age_min", "age_max", "min", "max") if op == "count_members" else ("age_min", "age_max")
    )
    for key in bounds:
        raw = data.get(key)
        number = _as_int(raw)
        if raw is not None and (number is None or number < 0):
            errors.add(_join(path, key), _("Must be empty or a whole number, zero or more."))
        result[key] = number
    if (result["age_min"] is not None and result["age_max"] is not None) and result[
        "age_min"
    ] > result["age_max"]:
        errors.add(_join(path, "age_max"), _("Cannot be below age_min."))
    if op == "count_members":
        if result["min"] is None and result["max"] is None:
            errors.add(path, _("'count_members' needs 'min', 'max' or both."))
        elif (
            result["min"] is not None
            and result["max"] is not None
            and result["min"] > result["max"]
        ):
            errors.add(_join(path, "max"), _("Cannot be below min."))
    return result


def _deprivations(data: Any, errors: _Errors) -> dict:
    path = "deprivations"
    section = _section(data, DEFAULT_RULES[path], path, errors)
    result = {}
    for need in NEEDS:
        need_path = f"{path}.{need}"
        spec = _section(section[need], DEFAULT_RULES[path][need], need_path, errors)
        _boolean(spec, "critical", need_path, errors)
        label = spec.get("label")
        if label is None:
            spec["label"] = ""
        elif not isinstance(label, str) or len(label) > 120:
            errors.add(_join(need_path, "label"), _("Must be text of at most 120 characters."))
        else:
            spec["label"] = label.strip()
        criteria = spec.get("criteria")
        if not isinstance(criteria, list):
            errors.add(
                _join(need_path, "criteria"),
                _("Must be a list of conditions (an empty list: the need is never unmet)."),
            )
        else:
            spec["criteria"] = [
                _condition(item, f"{need_path}.criteria[{i}]", errors, HOUSEHOLD_FACTS)
                for i, item in enumerate(criteria)
            ]
        result[need] = spec
    return result


def _tiers(data: Any, errors: _Errors) -> dict:
    path = "tiers"
    section = _section(data, DEFAULT_RULES[path], path, errors)
    p2, p3 = f"{path}.tier2", f"{path}.tier3"
    tier2 = _section(section["tier2"], DEFAULT_RULES[path]["tier2"], p2, errors)
    tier3 = _section(section["tier3"], DEFAULT_RULES[path]["tier3"], p3, errors)
    max2 = _whole(tier2, "max_unmet_critical_needs", p2, errors, maximum=len(NEEDS))
    _whole(tier2, "min_working_age_members", p2, errors, maximum=50)
    age_min = _whole(tier2, "working_age_min", p2, errors, maximum=150)
    age_max = _whole(tier2, "working_age_max", p2, errors, maximum=150)
    if age_min is not None and age_max is not None and age_min > age_max:
        errors.add(
            _join(p2, "working_age_max"),
            _("The working age cannot end (%(max)s) before it starts (%(min)s).")
            % {"min": age_min, "max": age_max},
        )
    statuses = tier2.get("excluded_work_statuses")
    allowed = tuple(c.WorkStatus.values)
    if not isinstance(statuses, list) or any(s not in allowed for s in statuses):
        errors.add(
            _join(p2, "excluded_work_statuses"),
            _("Must be a list of work statuses from %(allowed)s.") % {"allowed": _list(allowed)},
        )
    else:
        tier2["excluded_work_statuses"] = list(dict.fromkeys(statuses))
    max3 = _whole(tier3, "max_unmet_critical_needs", p3, errors, maximum=len(NEEDS))
    trained = _whole(tier3, "min_trained_members", p3, errors, maximum=50)
    _boolean(tier3, "requires_active_group", p3, errors)
    if max2 is not None and max3 is not None and max3 > max2:
        errors.add(
            _join(p3, "max_unmet_critical_needs"),
            _(
                "Tier 3 entry cannot be looser than tier 2: it allows %(tier3)s unmet critical "
                "needs, tier 2 allows %(tier2)s."
            )
            % {"tier3": max3, "tier2": max2},
        )
    if trained == 0 and tier3.get("requires_active_group") is False:
        errors.add(
            _join(p3, "min_trained_members"),
            _(
                "Tier 3 entry cannot be looser than tier 2: it must ask for at least one trained "
                "member or an active group."
            ),
        )
    return {"tier2": tier2, "tier3": tier3}


def _graduation(data: Any, tiers: dict, errors: _Errors) -> dict:
    path = "graduation"
    section = _section(data, DEFAULT_RULES[path], path, errors)
    _one_of(section, "spending_above", GRADUATION_LINES, path, errors)
    _whole(section, "consecutive_assessments", path, errors, minimum=1, maximum=12)
    _whole(section, "min_months_between", path, errors, minimum=1, maximum=60)
    limit = _whole(section, "max_unmet_critical_needs", path, errors, maximum=len(NEEDS))
    _whole(section, "monitoring_months", path, errors, minimum=1, maximum=120)
    _boolean(section, "tier3_requires_business", path, errors)
    _whole(section, "business_within_months", path, errors, maximum=36)
    tier3_limit = tiers["tier3"].get("max_unmet_critical_needs")
    if limit is not None and _is_int(tier3_limit) and limit > tier3_limit:
        errors.add(
            _join(path, "max_unmet_critical_needs"),
            _(
                "Graduation cannot be looser than tier 3 entry: it allows %(graduation)s unmet "
                "critical needs, tier 3 allows %(tier3)s."
            )
            % {"graduation": limit, "tier3": tier3_limit},
        )
    return section


def validate_rules(data: dict) -> dict:
    """Check a rule set and return it normalised and complete, or raise ``ValidationError``.

    The error's ``message_dict`` maps each offending path (``"extreme_poverty_line"``,
    ``"deprivations.water.criteria[0].field"``, ``"tiers.tier3.max_unmet_critical_needs"``) to
    messages that say what is wrong and what is allowed. The input is not modified.
    """
    errors = _Errors()
    rules = _section(data, DEFAULT_RULES, "", errors)
    _whole(rules, "year", "", errors, minimum=2000, maximum=2100)
    money = _("Must be a whole number of rupiah above zero and at most Rp 100.000.000.")
    extreme = _whole(
        rules, "extreme_poverty_line", "", errors, minimum=1, maximum=MAX_LINE, message=money
    )
    provincial = _whole(
        rules, "poverty_line", "", errors, minimum=1, maximum=MAX_LINE, message=money
    )
    if extreme is not None and provincial is not None and extreme > provincial:
        errors.add(
            "extreme_poverty_line",
            _(
                "The extreme-poverty line (%(extreme)s) cannot be above the provincial poverty "
                "line (%(provincial)s)."
            )
            % {"extreme": format_rupiah(extreme), "provincial": format_rupiah(provincial)},
        )
    _whole(rules, "desil_cutoff", "", errors, minimum=1, maximum=10)
    _one_of(rules, "extreme_poor_rule", EXTREME_POOR_RULES, "", errors)
    rules["deprivations"] = _deprivations(rules["deprivations"], errors)
    rules["tiers"] = _tiers(rules["tiers"], errors)
    rules["graduation"] = _graduation(rules["graduation"], rules["tiers"], errors)
    if errors.by_path:
        raise ValidationError(errors.by_path)
    return rules


def validate_conditions(conditions: list) -> list:
    """Check a list of household-fact conditions (a programme's eligibility) and return it
    normalised, or raise ``ValidationError``.

    The conditions use the rule-set condition language on ``HOUSEHOLD_FACTS`` (member facts
    through ``any_member`` / ``count_members``); all of them must hold, and an empty list means
    every household. Error keys are relative paths: ``"[0].field"``, ``"[1].value[0]"``; an
    input that is not a list is a non-field error.
    """
    errors = _Errors()
    if not isinstance(conditions, list):
        errors.add(
            "", _("Must be a list of conditions (an empty list: every household is eligible).")
        )
        raise ValidationError(errors.by_path)
    result = [
        _condition(item, f"[{i}]", errors, HOUSEHOLD_FACTS) for i, item in enumerate(conditions)
    ]
    if errors.by_path:
        raise ValidationError(errors.by_path)
    return result
