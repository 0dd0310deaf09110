"""A rule set specialised for batch evaluation: the same verdicts as ``evaluation.evaluate``.

``Evaluator(compiled)`` is called like ``evaluate(facts, compiled)`` and returns an equal
``Verdict``. It reads the rule set's constants once, and it remembers the line of each need that
only reads household facts (food, water, sanitation, housing, information by default) by the
values of those facts: in a province many households share them, so most of those lines are
looked up, not evaluated. Needs that read members are evaluated as ``evaluate`` does.

``evaluate`` stays the reference: ``tests/interventions/test_fast_evaluation.py`` checks that both
agree on random households and rule sets. When ``evaluate`` learns something new (a fact, a
line), this module must learn it too, or the batch falls back to ``evaluate``
(``Evaluator.supports``).
"""

from __future__ import annotations

from operator import attrgetter

from .evaluation import (
    DESIL,
    EXTREME_POOR,
    GRADUATION_BUSINESS,
    GRADUATION_NEEDS,
    GRADUATION_SPENDING,
    SPENDING,
    SPENDING_PROVINCIAL,
    TIER2_NEEDS,
    TIER2_WORKING,
    TIER3_GROUP,
    TIER3_NEEDS,
    TIER3_TRAINED,
    CompiledRules,
    CriterionLine,
    HouseholdFacts,
    Verdict,
    evaluate,
)
from .rules import MEMBER_OPS

MEMO_LIMIT = 20_000  # remembered lines per need (a few MiB), then forgotten: memory stays flat

#: The rule-set keys this evaluator knows; a rule set with others is evaluated by ``evaluate``.
KNOWN_RULES = frozenset(
    {
        "year",
        "extreme_poverty_line",
        "poverty_line",
        "desil_cutoff",
        "extreme_poor_rule",
        "deprivations",
        "tiers",
        "graduation",
    }
)
KNOWN_TIER2 = frozenset(
    {
        "max_unmet_critical_needs",
        "min_working_age_members",
        "working_age_min",
        "working_age_max",
        "excluded_work_statuses",
    }
)
KNOWN_GRADUATION = frozenset(
    {
        "spending_above",
        "consecutive_assessments",
        "min_months_between",
        "max_unmet_critical_needs",
        "monitoring_months",
        "tier3_requires_business",
        "business_within_months",
    }
)
KNOWN_TIER3 = frozenset(
    {"max_unmet_critical_needs", "min_trained_members", "requires_active_group"}
)


def _reads_members(condition: dict) -> bool:
    if condition["op"] == "all":
        return any(_reads_members(part) for part in condition["value"])
    return condition["op"] in MEMBER_OPS


class Evaluator:
    """``evaluate`` for one compiled rule set, faster on many households."""

    def __init__(self, compiled: CompiledRules):
        self.compiled = compiled
        rules = compiled.rules
        self.supported = self.supports(rules)
        self.line = rules["extreme_poverty_line"]
        self.provincial = rules["poverty_line"]
        self.cutoff = rules["desil_cutoff"]
        self.rule = rules["extreme_poor_rule"]
        tier2, tier3 = rules["tiers"]["tier2"], rules["tiers"]["tier3"]
        self.max2 = tier2["max_unmet_critical_needs"]
        self.min_working = tier2["min_working_age_members"]
        self.age_low, self.age_high = tier2["working_age_min"], tier2["working_age_max"]
        self.excluded = tier2["excluded_work_statuses"]
        self.ages = {"age_min": self.age_low, "age_max": self.age_high}
        self.max3 = tier3["max_unmet_critical_needs"]
        self.min_trained = tier3["min_trained_members"]
        self.requires_group = tier3["requires_active_group"]
        self.group_min = max(1, self.min_trained)  # trained members active in an active group
        graduation = rules["graduation"]
        self.grad_kind = graduation["spending_above"]
        self.grad_line = self.line if self.grad_kind == "extreme" else self.provincial
        self.grad_detail = {"line": self.grad_kind}
        self.max_grad = graduation["max_unmet_critical_needs"]
        # graduating from tier 3: a business record within these months or a sound loan
        self.business_within = (
            graduation["business_within_months"]
            if graduation.get("tier3_requires_business")
            else None
        )
        # (need rule, key getter or None when it reads members, memo)
        self.needs = []
        for need_rule in compiled.needs:
            by_members = any(_reads_members(c.condition) for c in need_rule.criteria)
            if by_members or not need_rule.fields:
                key = None
            else:
                key = attrgetter(*need_rule.fields) if len(need_rule.fields) > 1 else None
                key = key or _single(need_rule.fields[0])
            self.needs.append((need_rule, key, {}))

    @staticmethod
    def supports(rules: dict) -> bool:
        tiers = rules.get("tiers", {})
        return (
            set(rules) <= KNOWN_RULES
            and set(tiers) <= {"tier2", "tier3"}
            and set(tiers.get("tier2", {})) <= KNOWN_TIER2
            and set(tiers.get("tier3", {})) <= KNOWN_TIER3
            and set(rules.get("graduation", {})) <= KNOWN_GRADUATION
        )

    def _need_line(self, need_rule, facts: HouseholdFacts) -> tuple[CriterionLine, bool]:
        """The need's line as ``evaluate`` builds it, and whether the need is met."""
        observed: list[dict] = []
        for criterion in need_rule.criteria:
            if criterion.test(facts):
                observed.extend(i for i in criterion.observe(facts) if i not in observed)
        met = not observed
        if met:
            observed = [{"field": name, "value": getattr(facts, name)} for name in need_rule.fields]
        return CriterionLine(
            need_rule.code, need_rule.need, observed, None, met, need_rule.detail
        ), met

    def __call__(self, facts: HouseholdFacts) -> Verdict:
        if not self.supported:
            return evaluate(facts, self.compiled)
        members = facts.members
        if facts.monthly_expenditure is None or not members:
            spending = None
        else:
            spending = facts.monthly_expenditure // len(members)
        desil = facts.desil
        line, provincial, cutoff = self.line, self.provincial, self.cutoff
        known = spending is not None
        below = known and spending < line
        desil_within = desil is not None and desil <= cutoff
        rule = self.rule
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
        met_by_programme = facts.met_needs
        for need_rule, key, memo in self.needs:
            need = need_rule.need
            if met_by_programme and need in met_by_programme:
                lines.append(
                    CriterionLine(need_rule.code, need, [], None, True, need_rule.programme_detail)
                )
                continue
            if key is None:
                need_line, met = self._need_line(need_rule, facts)
            else:
                values = key(facts)
                found = memo.get(values)
                if found is None:
                    if len(memo) >= MEMO_LIMIT:
                        memo.clear()
                    found = memo[values] = self._need_line(need_rule, facts)
                need_line, met = found
            if not met:
                unmet.append(need)
                if need_rule.critical:
                    unmet_critical.append(need)
            lines.append(need_line)

        critical = len(unmet_critical)
        working = 0
        trained = 0
        trained_in_group = 0  # the SAME member: completed training and active in an active group
        low, high, excluded = self.age_low, self.age_high, self.excluded
        for m in members:
            age = m.age
            if age is not None and low <= age <= high and m.work_status not in excluded:
                working += 1
            if m.completed_training:
                trained += 1
                if m.in_active_group:
                    trained_in_group += 1
        max2 = self.max2
        needs_ok2 = critical <= max2
        working_ok = working >= self.min_working
        eligible2 = needs_ok2 and working_ok
        needs_detail = {"needs": unmet_critical}
        lines.append(CriterionLine(TIER2_NEEDS, None, critical, max2, needs_ok2, needs_detail))
        lines.append(
            CriterionLine(TIER2_WORKING, None, working, self.min_working, working_ok, self.ages)
        )
        max3 = self.max3
        needs_ok3 = critical <= max3
        trained_ok = trained >= self.min_trained
        group_min = self.group_min
        group_ok = not self.requires_group or trained_in_group >= group_min
        eligible3 = eligible2 and needs_ok3 and trained_ok and group_ok
        lines.append(CriterionLine(TIER3_NEEDS, None, critical, max3, needs_ok3, needs_detail))
        lines.append(CriterionLine(TIER3_TRAINED, None, trained, self.min_trained, trained_ok))
        if self.requires_group:
            lines.append(CriterionLine(TIER3_GROUP, None, trained_in_group, group_min, group_ok))
        grad_line = self.grad_line
        spending_ok = known and spending >= grad_line
        grad_needs_ok = critical <= self.max_grad
        lines.append(
            CriterionLine(
                GRADUATION_SPENDING, None, spending, grad_line, spending_ok, self.grad_detail
            )
        )
        lines.append(
            CriterionLine(
                GRADUATION_NEEDS, None, critical, self.max_grad, grad_needs_ok, needs_detail
            )
        )
        within = self.business_within
        if within is not None:
            months = facts.business_months_ago
            loan = facts.loan_in_good_standing is True
            business_ok = (months is not None and months <= within) or loan
            lines.append(
                CriterionLine(
                    GRADUATION_BUSINESS, None, months, within, business_ok, {"loan": loan}
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


def _single(name: str):
    """A key of one fact, as a 1-tuple (as attrgetter of several names gives a tuple)."""

    def get(facts):
        return (getattr(facts, name),)

    return get
