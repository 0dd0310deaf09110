"""Eligibility evaluation (pure: household facts and a rule set in, a verdict out).

``HouseholdFacts.from_dicts(household, members, today)`` turns plain dicts (model ``values()``,
``model_to_dict`` or a stored snapshot) into facts; ``evaluate(facts, rules)`` applies a rule set
that went through ``rules.validate_rules`` (or ``compile_rules``) and returns a ``Verdict``: the
extreme-poor flag, the unmet needs, tier eligibility, the single-assessment graduation test, the
recommended tier and one ``CriterionLine`` per criterion.

Words are not frozen at evaluation time: ``CriterionLine.text`` and ``Verdict.summary()`` are
worded on access, in the active language, from the line's data. ``Verdict.as_dict()`` stores that
data (JSON) and ``Verdict.from_dict()`` rebuilds a verdict that reads the same, so an assessment
stored by a Celery worker reads in Indonesian and in English.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .money import format_rupiah
from .rules import (
    BOOL,
    CHOICE,
    HOUSEHOLD_FACTS,
    MEMBER_FACTS,
    MEMBER_OPS,
    NEED_LACKING,
    NEED_NAMES,
    NEEDS,
    Fact,
)

# Line codes (stable: stored with every assessment).
SPENDING = "spending"  # spending per person vs the extreme-poverty line
SPENDING_PROVINCIAL = "spending_provincial"  # ... vs the provincial poverty line
DESIL = "desil"
EXTREME_POOR = "extreme_poor"
NEED_PREFIX = "need."  # "need.water": one line per need
TIER2_NEEDS = "tier2.critical_needs"
TIER2_WORKING = "tier2.working_age_members"
TIER3_NEEDS = "tier3.critical_needs"
TIER3_TRAINED = "tier3.trained_members"
TIER3_GROUP = "tier3.active_group"  # only when the rule set requires an active group
GRADUATION_SPENDING = "graduation.spending"
GRADUATION_NEEDS = "graduation.critical_needs"
GRADUATION_BUSINESS = "graduation.business"  # tier 3: a running business or a loan in good standing

_NO_DETAIL: Mapping[str, Any] = MappingProxyType({})


# --- facts ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _bool_or_none(value: Any) -> bool | None:
    return None if value is None or value == "" else bool(value)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def age_on(birth_date: date, today: date) -> int:
    """Completed years on ``today`` (a birthday on 29 February counts from 1 March)."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the rules may know about one active member. Empty string: not recorded."""

    age: int | None = None
    sex: str = ""
    relationship: str = ""
    school_enrolment: str = ""
    education: str = ""
    work_status: str = ""
    disability: str = ""
    chronic_illness: bool | None = None
    health_insurance: str = ""
    completed_training: bool = False
    in_active_group: bool = False  # an open member of an active business group

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], today: date) -> MemberFacts:
        """From a member dict: ``age`` if given, else ``birth_date`` (date or ISO text)."""
        age = data.get("age")
        if age is None and data.get("birth_date"):
            age = age_on(_as_date(data["birth_date"]), today)
        return cls(
            age=_int_or_none(age),
            sex=_text(data.get("sex")),
            relationship=_text(data.get("relationship")),
            school_enrolment=_text(data.get("school_enrolment")),
            education=_text(data.get("education")),
            work_status=_text(data.get("work_status")),
            disability=_text(data.get("disability")),
            chronic_illness=_bool_or_none(data.get("chronic_illness")),
            health_insurance=_text(data.get("health_insurance")),
            completed_training=bool(data.get("completed_training")),
            in_active_group=bool(data.get("in_active_group")),
        )

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in MEMBER_FACTS}
        if not self.in_active_group:  # snapshots of people outside groups stay as they were
            del data["in_active_group"]
        return data


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    """What the rules may know about a household: its living conditions and active members.

    ``member_count``, ``spending_per_person`` and ``floor_area_per_person`` are derived (None
    when unknown), so they can never disagree with the members and the raw figures.
    """

    members: tuple[MemberFacts, ...] = ()
    monthly_expenditure: int | None = None  # rupiah per month, whole household
    desil: int | None = None
    water_source: str = ""
    toilet: str = ""
    has_septic_tank: bool | None = None
    floor_material: str = ""
    wall_material: str = ""
    roof_material: str = ""
    floor_area_m2: int | None = None
    lighting: str = ""
    cooking_fuel: str = ""
    ownership: str = ""
    meals_per_day: int | None = None
    in_active_group: bool | None = None  # a member belongs to an active UMKM/KUBE group
    business_months_ago: int | None = None  # since the latest business record of a member's group
    loan_in_good_standing: bool | None = None  # a KUR loan of the household or its group
    # Needs a completed referral to a programme covers: evaluated as met whatever the facts.
    met_needs: tuple[str, ...] = ()

    @property
    def member_count(self) -> int:
        return len(self.members)

    @property
    def spending_per_person(self) -> int | None:
        """Monthly expenditure divided by the members, rounded down (rupiah)."""
        if self.monthly_expenditure is None or not self.members:
            return None
        return self.monthly_expenditure // len(self.members)

    @property
    def floor_area_per_person(self) -> float | None:
        if self.floor_area_m2 is None or not self.members:
            return None
        return round(self.floor_area_m2 / len(self.members), 2)

    @classmethod
    def from_dicts(
        cls, household: Mapping[str, Any], members: Iterable[Mapping[str, Any]], today: date
    ) -> HouseholdFacts:
        """Facts from a household dict (model field names) and its ACTIVE members' dicts.

        Unknown keys are ignored; missing ones count as not recorded. Ages are taken on
        ``today`` (Asia/Jakarta date) unless a member dict carries ``age``.
        """
        return cls(
            members=tuple(MemberFacts.from_dict(m, today) for m in members),
            monthly_expenditure=_int_or_none(household.get("monthly_expenditure")),
            desil=_int_or_none(household.get("desil")),
            water_source=_text(household.get("water_source")),
            toilet=_text(household.get("toilet")),
            has_septic_tank=_bool_or_none(household.get("has_septic_tank")),
            floor_material=_text(household.get("floor_material")),
            wall_material=_text(household.get("wall_material")),
            roof_material=_text(household.get("roof_material")),
            floor_area_m2=_int_or_none(household.get("floor_area_m2")),
            lighting=_text(household.get("lighting")),
            cooking_fuel=_text(household.get("cooking_fuel")),
            ownership=_text(household.get("ownership")),
            meals_per_day=_int_or_none(household.get("meals_per_day")),
            in_active_group=_bool_or_none(household.get("in_active_group")),
            business_months_ago=_int_or_none(household.get("business_months_ago")),
            loan_in_good_standing=_bool_or_none(household.get("loan_in_good_standing")),
            met_needs=tuple(household.get("met_needs") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON snapshot of the inputs (with the derived facts); ``from_dicts`` reads it back.

        ``met_needs`` is in the snapshot only when a programme met a need, so the snapshots
        (and fingerprints) of households without completed referrals stay as they were.
        """
        data = {name: getattr(self, name) for name in HOUSEHOLD_FACTS}
        for name in _BUSINESS_FACTS:  # recorded only for group households: others unchanged
            if data[name] is None:
                del data[name]
        data["floor_area_m2"] = self.floor_area_m2
        data["members"] = [m.as_dict() for m in self.members]
        if self.met_needs:
            data["met_needs"] = sorted(self.met_needs)
        return data

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any], today: date) -> HouseholdFacts:
        """Rebuild from ``as_dict()`` output."""
        return cls.from_dicts(data, data.get("members", ()), today)


_BUSINESS_FACTS = ("business_months_ago", "loan_in_good_standing")


# --- conditions -------------------------------------------------------------------------------

_EMPTY = (None, "")
Test = Callable[[Any], bool]


def _compile(condition: dict) -> Test:
    """A validated condition as a function of HouseholdFacts (MemberFacts when nested)."""
    op = condition["op"]
    value = condition["value"]
    if op == "all":
        parts = tuple(_compile(part) for part in value)
        return lambda s: all(test(s) for test in parts)
    if op in MEMBER_OPS:
        select = _member_selector(condition)
        if op == "any_member":
            return lambda s: any(select(m) for m in s.members)
        low, high = condition["min"], condition["max"]

        def count_within(s: Any) -> bool:
            count = sum(1 for m in s.members if select(m))
            return (low is None or count >= low) and (high is None or count <= high)

        return count_within
    get = attrgetter(condition["field"])
    # An unrecorded fact (None or "") satisfies no comparison; only is_empty tests for it.
    # Validated values are never None or "", so "==" and "in" need no explicit check.
    if op == "is_empty":
        return lambda s: (get(s) in _EMPTY) == value
    if op == "==":
        return lambda s: get(s) == value
    if op == "!=":
        return lambda s: (v := get(s)) not in _EMPTY and v != value
    if op == "in":
        allowed = frozenset(value)
        return lambda s: get(s) in allowed
    if op == "not_in":
        refused = frozenset(value)
        return lambda s: (v := get(s)) not in _EMPTY and v not in refused
    compare = _COMPARISONS[op]
    return lambda s: (v := get(s)) is not None and compare(v, value)


_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _member_selector(condition: dict) -> Test:
    """Does a member fall in the age range and satisfy the nested condition?"""
    where = None if condition["value"] is None else _compile(condition["value"])
    low, high = condition["age_min"], condition["age_max"]

    def select(m: MemberFacts) -> bool:
        if low is not None or high is not None:
            age = m.age
            if age is None or (low is not None and age < low) or (high is not None and age > high):
                return False
        return where is None or where(m)

    return select


def _household_fields(conditions: Iterable[dict]) -> list[str]:
    """Household facts a list of conditions reads, in order of first use."""
    names: list[str] = []
    for condition in conditions:
        if condition["op"] == "all":
            names.extend(_household_fields(condition["value"]))
        elif condition["op"] not in MEMBER_OPS:
            names.append(condition["field"])
    return list(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class _Criterion:
    condition: dict
    test: Test
    observe: Callable[[HouseholdFacts], list[dict]]


def _observer(condition: dict) -> Callable[[HouseholdFacts], list[dict]]:
    """What the line shows when ``condition`` holds: the facts behind it, as JSON."""
    op = condition["op"]
    if op == "all":
        parts = [_observer(part) for part in condition["value"]]
        return lambda facts: [item for observe in parts for item in observe(facts)]
    if op in MEMBER_OPS:
        select = _member_selector(condition)
        shape = {
            "age_min": condition["age_min"],
            "age_max": condition["age_max"],
            "where": condition["value"],
        }
        return lambda facts: [{"members": sum(1 for m in facts.members if select(m)), **shape}]
    name = condition["field"]
    return lambda facts: [{"field": name, "value": getattr(facts, name)}]


@dataclass(frozen=True, slots=True)
class _NeedRule:
    need: str
    critical: bool
    label: str
    criteria: tuple[_Criterion, ...]
    fields: tuple[str, ...]  # household facts shown on a met line
    code: str
    detail: Mapping[str, Any]  # shared by every line of this need: read-only
    programme_detail: Mapping[str, Any]  # the same, for a need a programme met


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """A validated rule set prepared for fast evaluation (compile once per batch)."""

    rules: dict
    needs: tuple[_NeedRule, ...]


def compile_rules(rules: dict) -> CompiledRules:
    """Prepare ``validate_rules`` output for ``evaluate``; reuse it for many households."""
    needs = []
    for need in NEEDS:
        spec = rules["deprivations"][need]
        criteria = tuple(
            _Criterion(condition, _compile(condition), _observer(condition))
            for condition in spec["criteria"]
        )
        fields = tuple(_household_fields(spec["criteria"]))
        detail = MappingProxyType({"critical": spec["critical"], "label": spec["label"]})
        by_programme = MappingProxyType({**detail, "met_by": "programme"})
        needs.append(
            _NeedRule(
                need,
                spec["critical"],
                spec["label"],
                criteria,
                fields,
                NEED_PREFIX + need,
                detail,
                by_programme,
            )
        )
    return CompiledRules(rules=rules, needs=tuple(needs))


# --- lines ------------------------------------------------------------------------------------


class CriterionLine(NamedTuple):
    """One criterion of a verdict: what was found, against what, and whether it is met.

    ``passed`` is True when the household meets the standard (the need is met, spending is at
    or above the line, the tier requirement holds); an unknown value never passes. ``value`` and
    ``threshold`` are JSON values; ``detail`` holds whatever else the words need. ``text`` words
    the line in the active language.
    """

    code: str
    need: str | None
    value: Any
    threshold: Any
    passed: bool
    detail: Mapping[str, Any] = _NO_DETAIL

    @property
    def text(self) -> str:
        return line_text(self)

    def as_dict(self, *, with_text: bool = False) -> dict[str, Any]:
        data = {
            "code": self.code,
            "need": self.need,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": dict(self.detail),
        }
        if with_text:
            data["text"] = self.text
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriterionLine:
        return cls(
            code=data["code"],
            need=data.get("need"),
            value=data.get("value"),
            threshold=data.get("threshold"),
            passed=bool(data["passed"]),
            detail=dict(data.get("detail") or {}),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one evaluation. History (graduation over time) is ``pathway``'s job."""

    extreme_poor: bool
    spending_per_person: int | None
    unmet_needs: tuple[str, ...]
    unmet_critical_needs: tuple[str, ...]
    eligible_tier2: bool
    eligible_tier3: bool
    meets_graduation: bool  # this assessment alone: spending above the line, needs within limit
    recommended_tier: int  # 1, 2 or 3, from the eligibility flags only
    lines: tuple[CriterionLine, ...] = ()
    below_extreme_line: bool = False  # spending known and below the extreme-poverty line
    desil_within_cutoff: bool = False

    def line(self, code: str) -> CriterionLine | None:
        return next((line for line in self.lines if line.code == code), None)

    def summary_params(self) -> dict[str, Any]:
        """The figures ``summary()`` words (JSON; ``render_summary`` words them again)."""

        def get(code: str, attr: str, default: Any = None) -> Any:
            line = self.line(code)
            return default if line is None else getattr(line, attr)

        working_detail = get(TIER2_WORKING, "detail", {})
        labels = {
            line.need: line.detail.get("label", "")
            for line in self.lines
            if line.need in self.unmet_critical_needs
        }
        return {
            "tier": self.recommended_tier,
            "extreme_poor": self.extreme_poor,
            "spending": self.spending_per_person,
            "line": get(SPENDING, "threshold"),
            "below": self.below_extreme_line,
            "desil": get(DESIL, "value"),
            "cutoff": get(DESIL, "threshold"),
            "desil_within": self.desil_within_cutoff,
            "unmet_critical": [[need, labels.get(need, "")] for need in self.unmet_critical_needs],
            "tier2_max": get(TIER2_NEEDS, "threshold", 0),
            "working": get(TIER2_WORKING, "value", 0),
            "working_min": get(TIER2_WORKING, "threshold", 0),
            "age_min": working_detail.get("age_min"),
            "age_max": working_detail.get("age_max"),
            "trained": get(TIER3_TRAINED, "value", 0),
            "trained_min": get(TIER3_TRAINED, "threshold", 0),
            "group_required": self.line(TIER3_GROUP) is not None,
            "in_group": get(TIER3_GROUP, "passed", False),
        }

    def summary(self) -> str:
        """One sentence: the recommended tier and why, e.g. "Tier 1 because spending is ..."."""
        return render_summary(self.summary_params())

    def as_dict(self, *, with_text: bool = False) -> dict[str, Any]:
        """JSON for storing; ``from_dict`` reads it back. ``with_text`` adds the words now."""
        data = {
            "extreme_poor": self.extreme_poor,
            "below_extreme_line": self.below_extreme_line,
            "desil_within_cutoff": self.desil_within_cutoff,
            "spending_per_person": self.spending_per_person,
            "unmet_needs": list(self.unmet_needs),
            "unmet_critical_needs": list(self.unmet_critical_needs),
            "eligible_tier2": self.eligible_tier2,
            "eligible_tier3": self.eligible_tier3,
            "meets_graduation": self.meets_graduation,
            "recommended_tier": self.recommended_tier,
            "lines": [line.as_dict(with_text=with_text) for line in self.lines],
        }
        if with_text:
            data["summary"] = self.summary()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            extreme_poor=bool(data["extreme_poor"]),
            spending_per_person=data.get("spending_per_person"),
            unmet_needs=tuple(data.get("unmet_needs", ())),
            unmet_critical_needs=tuple(data.get("unmet_critical_needs", ())),
            eligible_tier2=bool(data["eligible_tier2"]),
            eligible_tier3=bool(data["eligible_tier3"]),
            meets_graduation=bool(data["meets_graduation"]),
            recommended_tier=int(data["recommended_tier"]),
            lines=tuple(CriterionLine.from_dict(line) for line in data.get("lines", ())),
            below_extreme_line=bool(data.get("below_extreme_line", False)),
            desil_within_cutoff=bool(data.get("desil_within_cutoff", False)),
        )


# --- evaluation -------------------------------------------------------------------------------


def _count_working(facts: HouseholdFacts, tier2: dict) -> int:
    low, high = tier2["working_age_min"], tier2["working_age_max"]
    excluded = tier2["excluded_work_statuses"]
    return sum(
        1
        for m in facts.members
        if m.age is not None and low <= m.age <= high and m.work_status not in excluded
    )


def evaluate(facts: HouseholdFacts, rules: dict | CompiledRules) -> Verdict:
    """Apply a validated rule set (``validate_rules`` output) to one household. Pure.

    Pass ``compile_rules(rules)`` instead of the dict when evaluating many households.
    Extreme poor: spending per person below the extreme-poverty line and/or desil within the
    cut-off, per ``extreme_poor_rule``. Tier 2: at most ``tier2.max_unmet_critical_needs``
    critical needs unmet and enough working-age members able to train (work status not
    excluded). Tier 3: tier 2 plus its own limit, trained members and, if required, an active
    group. ``meets_graduation``: spending at or above the chosen line and critical needs within
    the graduation limit.
    """
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    rules = compiled.rules
    spending = facts.spending_per_person
    desil = facts.desil
    line = rules["extreme_poverty_line"]
    provincial = rules["poverty_line"]
    cutoff = rules["desil_cutoff"]
    known = spending is not None
    below = known and spending < line
    desil_within = desil is not None and desil <= cutoff
    rule = rules["extreme_poor_rule"]
    if rule == "spending_or_desil":
        extreme_poor = below or desil_within
    elif rule == "spending_and_desil":
        extreme_poor = below and desil_within
    else:
        extreme_poor = below
    lines = [
        CriterionLine(SPENDING, None, spending, line, known and not below),
        CriterionLine(
            SPENDING_PROVINCIAL, None, spending, provincial, known and spending >= provincial
        ),
        CriterionLine(DESIL, None, desil, cutoff, desil is not None and not desil_within),
        CriterionLine(
            EXTREME_POOR,
            None,
            extreme_poor,
            rule,
            not extreme_poor,
            {"below_line": below, "desil_within": desil_within},
        ),
    ]

    unmet: list[str] = []
    unmet_critical: list[str] = []
    met_by_programme = frozenset(facts.met_needs)
    for need_rule in compiled.needs:
        need = need_rule.need
        observed: list[dict] = []
        if need in met_by_programme:
            # A completed referral covers the need: met, whatever the facts still say.
            lines.append(
                CriterionLine(need_rule.code, need, [], None, True, need_rule.programme_detail)
            )
            continue
        for criterion in need_rule.criteria:
            if criterion.test(facts):
                observed.extend(i for i in criterion.observe(facts) if i not in observed)
        met = not observed  # a condition that holds always observes something
        if not met:
            unmet.append(need)
            if need_rule.critical:
                unmet_critical.append(need)
        else:
            observed = [{"field": name, "value": getattr(facts, name)} for name in need_rule.fields]
        lines.append(CriterionLine(need_rule.code, need, observed, None, met, need_rule.detail))

    critical = len(unmet_critical)
    tier2, tier3 = rules["tiers"]["tier2"], rules["tiers"]["tier3"]
    working = _count_working(facts, tier2)
    max2 = tier2["max_unmet_critical_needs"]
    needs_ok2 = critical <= max2
    working_ok = working >= tier2["min_working_age_members"]
    eligible2 = needs_ok2 and working_ok
    ages = {"age_min": tier2["working_age_min"], "age_max": tier2["working_age_max"]}
    lines.append(
        CriterionLine(TIER2_NEEDS, None, critical, max2, needs_ok2, {"needs": unmet_critical})
    )
    lines.append(
        CriterionLine(
            TIER2_WORKING, None, working, tier2["min_working_age_members"], working_ok, ages
        )
    )

    trained = sum(1 for m in facts.members if m.completed_training)
    max3 = tier3["max_unmet_critical_needs"]
    needs_ok3 = critical <= max3
    trained_ok = trained >= tier3["min_trained_members"]
    # The SAME member must have completed training and be active in an active group.
    trained_in_group = sum(1 for m in facts.members if m.completed_training and m.in_active_group)
    group_min = max(1, tier3["min_trained_members"])
    group_ok = not tier3["requires_active_group"] or trained_in_group >= group_min
    eligible3 = eligible2 and needs_ok3 and trained_ok and group_ok
    lines.append(
        CriterionLine(TIER3_NEEDS, None, critical, max3, needs_ok3, {"needs": unmet_critical})
    )
    lines.append(
        CriterionLine(TIER3_TRAINED, None, trained, tier3["min_trained_members"], trained_ok)
    )
    if tier3["requires_active_group"]:
        lines.append(CriterionLine(TIER3_GROUP, None, trained_in_group, group_min, group_ok))

    graduation = rules["graduation"]
    kind = graduation["spending_above"]
    grad_line = line if kind == "extreme" else provincial
    spending_ok = known and spending >= grad_line
    max_grad = graduation["max_unmet_critical_needs"]
    grad_needs_ok = critical <= max_grad
    lines.append(
        CriterionLine(GRADUATION_SPENDING, None, spending, grad_line, spending_ok, {"line": kind})
    )
    lines.append(
        CriterionLine(
            GRADUATION_NEEDS, None, critical, max_grad, grad_needs_ok, {"needs": unmet_critical}
        )
    )
    if graduation.get("tier3_requires_business"):
        within = graduation["business_within_months"]
        months = facts.business_months_ago
        business_ok = (
            months is not None and months <= within
        ) or facts.loan_in_good_standing is True
        lines.append(
            CriterionLine(
                GRADUATION_BUSINESS,
                None,
                months,
                within,
                business_ok,
                {"loan": facts.loan_in_good_standing is True},
            )
        )
    return Verdict(
        extreme_poor=extreme_poor,
        spending_per_person=spending,
        unmet_needs=tuple(unmet),
        unmet_critical_needs=tuple(unmet_critical),
        eligible_tier2=eligible2,
        eligible_tier3=eligible3,
        meets_graduation=spending_ok and grad_needs_ok,
        recommended_tier=3 if eligible3 else 2 if eligible2 else 1,
        lines=tuple(lines),
        below_extreme_line=below,
        desil_within_cutoff=desil_within,
    )


# --- words ------------------------------------------------------------------------------------


def _capfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lowerfirst(text: str) -> str:
    """Lower-case the first letter ("Unprotected well"), but not of an acronym ("PLN ...")."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def join_and(items: list[str]) -> str:
    """Join words: "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return _("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("%(items)s or %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def _join_reasons(parts: list[str]) -> str:
    """Clauses that may hold commas themselves: "a, and b", "a, b, and c"."""
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(clauses)s, and %(last)s") % {"clauses": ", ".join(parts[:-1]), "last": parts[-1]}


def _fact(name: str) -> Fact | None:
    return HOUSEHOLD_FACTS.get(name) or MEMBER_FACTS.get(name)


def format_fact_value(name: str, value: Any) -> str:
    """A fact's value in words: choice labels, yes/no, rupiah, "not recorded"."""
    if value is None or value == "":
        return _("not recorded")
    fact = _fact(name)
    if fact is not None and fact.kind == BOOL:
        return _("yes") if value else _("no")
    if fact is not None and fact.kind == CHOICE:
        labels = dict(fact.choices.choices)
        return _lowerfirst(str(labels[value])) if value in labels else str(value)
    if fact is not None and fact.money and isinstance(value, int):
        return format_rupiah(value)
    if isinstance(value, float):  # "5,5" in Indonesian, "5.5" in English
        return formats.number_format(value, 1) if not value.is_integer() else str(int(value))
    return str(value)


def _fact_label(name: str) -> str:
    fact = _fact(name)
    return str(fact.label) if fact else name


def describe_condition(condition: dict) -> str:
    """A condition in words: "school enrolment is never enrolled or dropped out"."""
    op = condition["op"]
    if op == "all":
        return join_and([describe_condition(part) for part in condition["value"]])
    if op in MEMBER_OPS:
        return _members_phrase(None, condition)
    name = condition["field"]
    label = _fact_label(name)
    value = condition["value"]
    fact = _fact(name)
    if fact is not None and fact.kind == BOOL and op in ("==", "!=") and isinstance(value, bool):
        # "without septic tank", not "septic tank is no"
        present = value if op == "==" else not value
        return (_("with %(fact)s") if present else _("without %(fact)s")) % {"fact": label}
    if op == "is_empty":
        template = _("%(fact)s is not recorded") if value else _("%(fact)s is recorded")
        return template % {"fact": label}
    if op in ("in", "not_in"):
        values = [format_fact_value(name, v) for v in value]
        template = (
            _("%(fact)s is %(values)s") if op == "in" else _("%(fact)s is none of %(values)s")
        )
        return template % {"fact": label, "values": join_or(values)}
    templates = {
        "==": _("%(fact)s is %(value)s"),
        "!=": _("%(fact)s is not %(value)s"),
        "<": _("%(fact)s is below %(value)s"),
        "<=": _("%(fact)s is at most %(value)s"),
        ">": _("%(fact)s is above %(value)s"),
        ">=": _("%(fact)s is at least %(value)s"),
    }
    return templates[op] % {"fact": label, "value": format_fact_value(name, value)}


def ages_phrase(age_min: int | None, age_max: int | None) -> str:
    """Ages in words: "aged 7-18" (en dash), "aged 15 or over", "aged 18 or under" or ""."""
    if age_min is not None and age_max is not None:
        return _("aged %(min)s–%(max)s") % {"min": age_min, "max": age_max}
    if age_min is not None:
        return _("aged %(min)s or over") % {"min": age_min}
    if age_max is not None:
        return _("aged %(max)s or under") % {"max": age_max}
    return ""


def _members_phrase(count: int | None, item: Mapping[str, Any]) -> str:
    """Members in words: "2 members aged 7-18 whose school enrolment is dropped out"."""
    if count is None:
        text = _("members")
    else:
        text = ngettext("%(count)s member", "%(count)s members", count) % {"count": count}
    ages = ages_phrase(item.get("age_min"), item.get("age_max"))
    if ages:
        text = f"{text} {ages}"
    where = item.get("where", item.get("value"))
    if where:
        text = _("%(members)s whose %(condition)s") % {
            "members": text,
            "condition": describe_condition(where),
        }
    return text


def _observed_text(items: list[dict]) -> str:
    parts = []
    for item in items:
        if "members" in item:
            parts.append(_members_phrase(item["members"], item))
        else:
            parts.append(
                _("%(fact)s: %(value)s")
                % {
                    "fact": _fact_label(item["field"]),
                    "value": format_fact_value(item["field"], item["value"]),
                }
            )
    return "; ".join(parts)


def line_name(kind: str) -> str:
    """The line in words: "the extreme-poverty line" or "the provincial poverty line"."""
    if kind == "provincial":
        return _("the provincial poverty line")
    return _("the extreme-poverty line")


def spending_clause(spending: int | None, line: int, kind: str = "extreme") -> str:
    """The spending clause: "spending is Rp 310.000 per person per month, below the ..."."""
    if spending is None:
        return _("spending per person is not known")
    params = {
        "spending": format_rupiah(spending),
        "line_name": line_name(kind),
        "line": format_rupiah(line),
    }
    if spending < line:
        return (
            _("spending is %(spending)s per person per month, below %(line_name)s of %(line)s")
            % params
        )
    return (
        _("spending is %(spending)s per person per month, at or above %(line_name)s of %(line)s")
        % params
    )


def _critical_needs_text(count: int, limit: int, stage: str, needs: list[str]) -> str:
    if count == 0:
        return _("Every critical need is met.")
    names = join_and([str(NEED_NAMES[n]).lower() for n in needs if n in NEED_NAMES])
    return ngettext(
        "%(count)s critical need is unmet (%(needs)s); %(stage)s allows at most %(limit)s.",
        "%(count)s critical needs are unmet (%(needs)s); %(stage)s allows at most %(limit)s.",
        count,
    ) % {"count": count, "needs": names, "stage": stage, "limit": limit}


def _need_line_text(line: CriterionLine) -> str:
    need = line.need or line.code.removeprefix(NEED_PREFIX)
    observed = _observed_text(line.value or [])
    if line.passed:
        name = str(NEED_NAMES.get(need, need))
        if line.detail.get("met_by") == "programme":
            return _("%(need)s: met by a programme.") % {"need": name}
        if observed:
            return _("%(need)s: met (%(facts)s).") % {"need": name, "facts": observed}
        return _("%(need)s: met.") % {"need": name}
    lacking = _capfirst(line.detail.get("label") or str(NEED_LACKING.get(need, need)))
    if observed:
        return _("%(lacking)s (%(facts)s).") % {"lacking": lacking, "facts": observed}
    return f"{lacking}."


def line_text(line: CriterionLine) -> str:
    """Word one criterion line in the active language."""
    code, value, threshold = line.code, line.value, line.threshold
    if code.startswith(NEED_PREFIX):
        return _need_line_text(line)
    if code in (SPENDING, SPENDING_PROVINCIAL):
        if value is None:
            return _("Spending per person is not known (expenditure or members not recorded).")
        kind = "provincial" if code == SPENDING_PROVINCIAL else "extreme"
        return _capfirst(spending_clause(value, threshold, kind)) + "."
    if code == DESIL:
        if value is None:
            return _("The welfare decile (desil) is not recorded.")
        params = {"desil": value, "cutoff": threshold}
        if line.passed:
            return (
                _("The household is in desil %(desil)s, above the cut-off of desil %(cutoff)s.")
                % params
            )
        return (
            _("The household is in desil %(desil)s, within the cut-off of desil %(cutoff)s.")
            % params
        )
    if code == EXTREME_POOR:
        reasons = []
        if line.detail.get("below_line"):
            reasons.append(_("spending below the extreme-poverty line"))
        if line.detail.get("desil_within"):
            reasons.append(_("desil within the cut-off"))
        if value and reasons:
            return _("Extreme poor: %(reasons)s.") % {"reasons": join_and(reasons)}
        if value:
            return _("Extreme poor.")
        rules_text = {
            "spending_or_desil": _("spending below the line or desil within the cut-off"),
            "spending_and_desil": _("spending below the line and desil within the cut-off"),
            "spending_only": _("spending below the line"),
        }
        return _("Not extreme poor (the rule is: %(rule)s).") % {
            "rule": rules_text.get(threshold, threshold)
        }
    if code in (TIER2_NEEDS, TIER3_NEEDS, GRADUATION_NEEDS):
        stage = {
            TIER2_NEEDS: _("tier 2"),
            TIER3_NEEDS: _("tier 3"),
            GRADUATION_NEEDS: _("graduation"),
        }[code]
        return _critical_needs_text(value, threshold, stage, line.detail.get("needs", []))
    if code == TIER2_WORKING:
        ages = ages_phrase(line.detail.get("age_min"), line.detail.get("age_max"))
        return ngettext(
            "%(count)s member %(ages)s can train; tier 2 needs at least %(min)s.",
            "%(count)s members %(ages)s can train; tier 2 needs at least %(min)s.",
            value,
        ) % {"count": value, "ages": ages, "min": threshold}
    if code == TIER3_TRAINED:
        return ngettext(
            "%(count)s member has completed training; tier 3 needs at least %(min)s.",
            "%(count)s members have completed training; tier 3 needs at least %(min)s.",
            value,
        ) % {"count": value, "min": threshold}
    if code == TIER3_GROUP:
        if line.passed:
            return _(
                "A member who completed training is active in an active group, as tier 3 requires."
            )
        return _(
            "No member who completed training is active in an active group; tier 3 requires one."
        )
    if code == GRADUATION_BUSINESS:
        params = {"months": threshold, "value": value}
        if line.detail.get("loan"):
            return _("A KUR loan is in good standing, as graduation from tier 3 requires.")
        if line.passed:
            return (
                _(
                    "The group's business is running (last record %(value)s months ago, within "
                    "%(months)s), as graduation from tier 3 requires."
                )
                % params
            )
        return (
            _(
                "No business record in the last %(months)s months and no loan in good standing; "
                "graduation from tier 3 needs one of them."
            )
            % params
        )
    if code == GRADUATION_SPENDING:
        kind = line.detail.get("line", "extreme")
        if value is None:
            return _("Spending per person is not known; graduation needs at least %(line)s.") % {
                "line": format_rupiah(threshold)
            }
        text = _capfirst(spending_clause(value, threshold, kind))
        if line.passed:
            return _("%(clause)s, as graduation requires.") % {"clause": text}
        return _("%(clause)s; graduation needs at least that line.") % {"clause": text}
    return code


# --- summary ----------------------------------------------------------------------------------


def _needs_phrase(unmet_critical: list[list[str]]) -> str:
    phrases = [label or str(NEED_LACKING.get(need, need)) for need, label in unmet_critical]
    return _("the household has %(needs)s") % {"needs": join_and(phrases)}


def _working_clause(p: Mapping[str, Any]) -> str:
    return ngettext(
        "%(count)s member %(ages)s can train",
        "%(count)s members %(ages)s can train",
        p["working"],
    ) % {"count": p["working"], "ages": ages_phrase(p.get("age_min"), p.get("age_max"))}


def tier1_reasons(p: Mapping[str, Any]) -> list[str]:
    """Why a household belongs in tier 1, as clauses (see ``Verdict.summary_params``)."""
    parts = []
    if p["below"]:
        parts.append(spending_clause(p["spending"], p["line"]))
    elif p["extreme_poor"] and p["desil_within"]:
        parts.append(
            _("the household is in desil %(desil)s, within the cut-off of desil %(cutoff)s")
            % {"desil": p["desil"], "cutoff": p["cutoff"]}
        )
    needs_block = len(p["unmet_critical"]) > (p.get("tier2_max") or 0)
    if needs_block:
        parts.append(_needs_phrase(p["unmet_critical"]))
    elif p["working"] < p["working_min"]:
        parts.append(
            _("%(clause)s while tier 2 needs at least %(min)s")
            % {"clause": _working_clause(p), "min": p["working_min"]}
        )
    return parts


def _needs_met_clause(p: Mapping[str, Any]) -> str:
    if not p["unmet_critical"]:
        return _("every critical need is met")
    count = len(p["unmet_critical"])
    return ngettext(
        "only %(count)s critical need is unmet", "only %(count)s critical needs are unmet", count
    ) % {"count": count}


def render_summary(p: Mapping[str, Any], lead: str = "tier") -> str:
    """Word ``Verdict.summary_params()``.

    ``lead``: "tier" ("Tier 1 because ..."), "placed" (after verification), "moved" (one step
    up, to ``p["tier"]``) or "relapse" ("Back to tier 1 (relapse) because ...", always giving
    tier 1's reasons).
    """
    tier = 1 if lead == "relapse" else p["tier"]
    if tier == 1:
        reasons = _join_reasons(tier1_reasons(p))
    elif tier == 2:
        reasons = join_and([_needs_met_clause(p), _working_clause(p)])
    else:
        clauses = [
            _needs_met_clause(p),
            ngettext(
                "%(count)s member has completed training",
                "%(count)s members have completed training",
                p["trained"],
            )
            % {"count": p["trained"]},
        ]
        if p.get("group_required"):
            clauses.append(_("a member who completed training is active in an active group"))
        reasons = join_and(clauses)
    params = {"tier": tier, "reasons": reasons}
    if lead == "relapse":
        if reasons:
            return _("Back to tier 1 (relapse) because %(reasons)s.") % params
        return _("Back to tier 1 (relapse).")
    if lead == "moved":
        return _("Moved to tier %(tier)s because %(reasons)s.") % params
    if lead == "placed":
        if reasons:
            return _("Placed in tier %(tier)s after verification because %(reasons)s.") % params
        return _("Placed in tier %(tier)s after verification.") % params
    if reasons:
        return _("Tier %(tier)s because %(reasons)s.") % params
    return _("Tier %(tier)s.") % params


def unmet_conditions(facts: HouseholdFacts, conditions: Iterable[dict]) -> list[dict]:
    """The conditions (``rules.validate_conditions`` output) the household does not meet."""
    return [condition for condition in conditions if not _compile(condition)(facts)]


def household_matches(facts: HouseholdFacts, conditions: Iterable[dict]) -> bool:
    """Does a household meet every condition (``rules.validate_conditions`` output)?

    An empty list matches every household. Used for programme eligibility.
    """
    return all(_compile(condition)(facts) for condition in conditions)
