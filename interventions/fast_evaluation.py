"""A rule set specialised for batch evaluation: the same verdicts as ``evaluation.evaluate``.

``Evaluator(compiled)`` is called like ``evaluate(facts, compiled)`` and returns an equal
``Verdict``. It reads the rule set's constants once, and it remembers the line of each need by
what the line depends on: the values of the household facts its criteria read and, for a need
that reads members (health and education by default), how many members each of its member
conditions selects. In a province many households share them, so most lines are looked up, not
evaluated.

The member counts come from one packed integer per member: each member selector (the age range
and nested condition of an ``any_member`` or ``count_members`` condition) and each tier counter
(working age and able to train; completed training; and also active in an active group) has a
lane of ``LANE_BITS`` bits, 1 if the member counts there. A batch chunk shares one MemberFacts
between members with the same data (``recalculation._read_facts``), so a member is packed once
and remembered by identity; a household's counts are lanes of the sum of its members' packs.
A household with ``MAX_MEMBERS`` members or more (a lane could overflow) goes to ``evaluate``.

The other lines that do not depend on spending are remembered the same way: the desil and
extreme-poor lines by (below the line, desil), the tier lines and the graduation needs line by
(unmet critical needs, tier counts), the business line by (months, loan). Remembered lines are
shared by the verdicts that have them (as the need lines always were): read them, never change
them. Every memo holds at most ``MEMO_LIMIT`` entries and is emptied when full.

``evaluate`` stays the reference: ``tests/interventions/test_fast_evaluation.py`` checks that both
agree on random households and rule sets. When ``evaluate`` learns something new (a fact, a
line), this module must learn it too, or the batch falls back to ``evaluate``
(``Evaluator.supports``).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from types import MappingProxyType

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
    MemberFacts,
    Verdict,
    _member_selector,
    evaluate,
)
from .rules import MEMBER_OPS

MEMO_LIMIT = 20_000  # entries per memo (a few MiB each), then all forgotten: memory stays flat

LANE_BITS = 8  # a member count per lane of the packed members
LANE = (1 << LANE_BITS) - 1
MAX_MEMBERS = LANE  # a household with this many members or more is evaluated by `evaluate`
# The tier counters' lanes; the member selectors' lanes follow.
_WORKING_BIT = 1
_TRAINED_SHIFT = LANE_BITS
_TRAINED_BIT = 1 << _TRAINED_SHIFT
_IN_GROUP_SHIFT = 2 * LANE_BITS  # completed training and active in an active group
_IN_GROUP_BIT = 1 << _IN_GROUP_SHIFT
_FIRST_SELECTOR_SHIFT = 3 * LANE_BITS

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


def _member_conditions(condition: dict):
    """The any_member and count_members conditions in ``condition`` (also inside "all")."""
    if condition["op"] == "all":
        for part in condition["value"]:
            yield from _member_conditions(part)
    elif condition["op"] in MEMBER_OPS:
        yield condition


def _selector_key(condition: dict) -> str:
    """Member conditions with equal keys select the same members (and share a lane)."""
    return repr((condition["age_min"], condition["age_max"], condition["value"]))


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
        self.ages = MappingProxyType({"age_min": self.age_low, "age_max": self.age_high})
        self.max3 = tier3["max_unmet_critical_needs"]
        self.min_trained = tier3["min_trained_members"]
        self.requires_group = tier3["requires_active_group"]
        self.group_min = max(1, self.min_trained)  # trained members active in an active group
        graduation = rules["graduation"]
        self.grad_kind = graduation["spending_above"]
        self.grad_line = self.line if self.grad_kind == "extreme" else self.provincial
        self.grad_detail = MappingProxyType({"line": self.grad_kind})
        # The details of lines are read-only and made once each: a stored verdict keeps them in
        # its layout (``compact``), which names them by identity.
        self.extreme_details = {
            (below, within): MappingProxyType({"below_line": below, "desil_within": within})
            for below in (False, True)
            for within in (False, True)
        }
        self.loan_details = {loan: MappingProxyType({"loan": loan}) for loan in (False, True)}
        self.needs_details: dict[tuple[str, ...], MappingProxyType] = {}
        self.max_grad = graduation["max_unmet_critical_needs"]
        # graduating from tier 3: a business record within these months or a sound loan
        self.business_within = (
            graduation["business_within_months"]
            if graduation.get("tier3_requires_business")
            else None
        )
        # The member selectors of the needs' conditions: (bit of its lane, selector).
        self.selectors: list[tuple[int, Callable[[MemberFacts], bool]]] = []
        shifts: dict[str, int] = {}  # selector key -> shift of its lane
        # (need rule, getter of the household facts it reads or None, mask of the lanes of the
        # member selectors it reads (0: none), memo): its line is remembered by those values
        # and lanes (the counts), which are all the line depends on.
        self.needs = []
        for need_rule in compiled.needs:
            mask = 0
            for criterion in need_rule.criteria:
                for condition in _member_conditions(criterion.condition):
                    key = _selector_key(condition)
                    shift = shifts.get(key)
                    if shift is None:
                        shift = shifts[key] = (
                            _FIRST_SELECTOR_SHIFT + len(self.selectors) * LANE_BITS
                        )
                        self.selectors.append((1 << shift, _member_selector(condition)))
                    mask |= LANE << shift
            fields = need_rule.fields
            getter = attrgetter(*fields) if fields else None
            self.needs.append((need_rule, getter, mask, {}))
        # id(member) -> (member, packed lanes): the member is kept, so its id is not reused
        self.packs: dict[int, tuple[MemberFacts, int]] = {}
        # The other lines, remembered by all they depend on: (below the line, desil) -> the
        # desil and extreme-poor lines; (unmet critical needs, tier lanes) -> the tier lines;
        # (months since the business record, loan in good standing) -> the business line.
        self.heads: dict[tuple, tuple] = {}
        self.tier_lanes = LANE | LANE << _TRAINED_SHIFT
        if self.requires_group:
            self.tier_lanes |= LANE << _IN_GROUP_SHIFT
        self.tier_memo: dict[tuple, tuple] = {}
        self.business_memo: dict[tuple, CriterionLine] = {}

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

    def _pack(self, member: MemberFacts) -> tuple[MemberFacts, int]:
        """The member's lanes (1 where it counts) as one integer, remembered by identity."""
        age = member.age
        packed = 0
        if (
            age is not None
            and self.age_low <= age <= self.age_high
            and member.work_status not in self.excluded
        ):
            packed = _WORKING_BIT
        if member.completed_training:
            packed |= _TRAINED_BIT
            if member.in_active_group:
                packed |= _IN_GROUP_BIT
        for bit, select in self.selectors:
            if select(member):
                packed |= bit
        return _remember(self.packs, id(member), (member, packed))

    def _head(self, below: bool, desil: int | None) -> tuple:
        """The desil and extreme-poor lines, the extreme-poor flag and desil_within."""
        desil_within = desil is not None and desil <= self.cutoff
        rule = self.rule
        if rule == "spending_or_desil":
            extreme_poor = below or desil_within
        elif rule == "spending_and_desil":
            extreme_poor = below and desil_within
        else:
            extreme_poor = below
        return (
            CriterionLine(DESIL, None, desil, self.cutoff, desil is not None and not desil_within),
            CriterionLine(
                EXTREME_POOR,
                None,
                extreme_poor,
                rule,
                not extreme_poor,
                self.extreme_details[below, desil_within],
            ),
            extreme_poor,
            desil_within,
        )

    def _tiers(self, unmet_critical: tuple[str, ...], packed: int) -> tuple:
        """The tier lines, the graduation needs line and the flags they give."""
        critical = len(unmet_critical)
        working = packed & LANE
        trained = (packed >> _TRAINED_SHIFT) & LANE
        # the SAME member: completed training and active in an active group
        trained_in_group = (packed >> _IN_GROUP_SHIFT) & LANE
        max2 = self.max2
        needs_ok2 = critical <= max2
        working_ok = working >= self.min_working
        eligible2 = needs_ok2 and working_ok
        needs_detail = self.needs_details.get(unmet_critical)
        if needs_detail is None:  # one per set of needs (at most 2 ** needs): stored layouts
            needs_detail = self.needs_details[unmet_critical] = MappingProxyType(
                {"needs": list(unmet_critical)}
            )
        lines = [
            CriterionLine(TIER2_NEEDS, None, critical, max2, needs_ok2, needs_detail),
            CriterionLine(TIER2_WORKING, None, working, self.min_working, working_ok, self.ages),
        ]
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
        grad_needs_ok = critical <= self.max_grad
        grad_needs = CriterionLine(
            GRADUATION_NEEDS, None, critical, self.max_grad, grad_needs_ok, needs_detail
        )
        return tuple(lines), grad_needs, eligible2, eligible3, grad_needs_ok

    def _business(self, months: int | None, loan: bool) -> CriterionLine:
        """The line of a running business or a loan in good standing (graduation from tier 3)."""
        within = self.business_within
        business_ok = (months is not None and months <= within) or loan
        detail = self.loan_details[loan]
        return CriterionLine(GRADUATION_BUSINESS, None, months, within, business_ok, detail)

    def __call__(self, facts: HouseholdFacts) -> Verdict:
        if not self.supported:
            return evaluate(facts, self.compiled)
        members = facts.members
        size = len(members)
        if size >= MAX_MEMBERS:  # a lane could overflow
            return evaluate(facts, self.compiled)
        # every lane's count: the sum of the members' packs
        packed = 0
        remembered = self.packs.get
        for m in members:
            entry = remembered(id(m))
            if entry is None or entry[0] is not m:
                entry = self._pack(m)
            packed += entry[1]
        if facts.monthly_expenditure is None or not size:
            spending = None
        else:
            spending = facts.monthly_expenditure // size
        desil = facts.desil
        line, provincial = self.line, self.provincial
        known = spending is not None
        below = known and spending < line
        key = (below, desil)
        head = self.heads.get(key)
        if head is None:
            head = _remember(self.heads, key, self._head(below, desil))
        desil_line, extreme_line, extreme_poor, desil_within = head
        lines = [
            CriterionLine(SPENDING, None, spending, line, known and not below),
            CriterionLine(
                SPENDING_PROVINCIAL, None, spending, provincial, known and spending >= provincial
            ),
            desil_line,
            extreme_line,
        ]
        unmet: list[str] = []
        unmet_critical: list[str] = []
        met_by_programme = facts.met_needs
        for need_rule, getter, mask, memo in self.needs:
            need = need_rule.need
            if met_by_programme and need in met_by_programme:
                lines.append(
                    CriterionLine(need_rule.code, need, [], None, True, need_rule.programme_detail)
                )
                continue
            if getter is None:
                key = packed & mask  # 0 for a need without criteria
            elif mask:
                key = (getter(facts), packed & mask)
            else:
                key = getter(facts)
            found = memo.get(key)
            if found is None:
                found = _remember(memo, key, self._need_line(need_rule, facts))
            need_line, met = found
            if not met:
                unmet.append(need)
                if need_rule.critical:
                    unmet_critical.append(need)
            lines.append(need_line)

        critical_needs = tuple(unmet_critical)
        key = (critical_needs, packed & self.tier_lanes)
        tiers = self.tier_memo.get(key)
        if tiers is None:
            tiers = _remember(self.tier_memo, key, self._tiers(critical_needs, packed))
        tier_lines, grad_needs, eligible2, eligible3, grad_needs_ok = tiers
        lines.extend(tier_lines)
        grad_line = self.grad_line
        spending_ok = known and spending >= grad_line
        lines.append(
            CriterionLine(
                GRADUATION_SPENDING, None, spending, grad_line, spending_ok, self.grad_detail
            )
        )
        lines.append(grad_needs)
        if self.business_within is not None:
            key = (facts.business_months_ago, facts.loan_in_good_standing is True)
            business = self.business_memo.get(key)
            if business is None:
                business = _remember(self.business_memo, key, self._business(*key))
            lines.append(business)
        return Verdict(
            extreme_poor=extreme_poor,
            spending_per_person=spending,
            unmet_needs=tuple(unmet),
            unmet_critical_needs=critical_needs,
            eligible_tier2=eligible2,
            eligible_tier3=eligible3,
            meets_graduation=spending_ok and grad_needs_ok,
            recommended_tier=3 if eligible3 else 2 if eligible2 else 1,
            lines=tuple(lines),
            below_extreme_line=below,
            desil_within_cutoff=desil_within,
        )


def _remember(memo: dict, key, value):
    """``memo[key] = value``, forgetting everything first when the memo is full."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value
