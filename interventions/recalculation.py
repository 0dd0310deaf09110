"""Set-based recalculation: evaluate a chunk of households and write only what changed.

One chunk is a handful of bulk reads (households, their active members, their cases), evaluation
in Python, and bulk writes (assessments, cases, transitions) in one transaction. A household whose
inputs and rule set are unchanged since its last assessment is skipped, so a rerun writes nothing.
The same function serves one household (after its data changed) and the whole province.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from households.choices import HouseholdStatus, MemberStatus
from households.models import Household, Member

from .evaluation import CompiledRules, HouseholdFacts, compile_rules, evaluate
from .models import Assessment, Case, RecalculationJob, RuleSet, Transition, TransitionKind
from .pathway import EXITED, REGISTERED, AssessmentPoint, Decision, decide

HOUSEHOLD_VALUES = (
    "id",
    "monthly_expenditure",
    "desil",
    "water_source",
    "toilet",
    "has_septic_tank",
    "floor_material",
    "wall_material",
    "roof_material",
    "floor_area_m2",
    "lighting",
    "cooking_fuel",
    "ownership",
    "meals_per_day",
)
MEMBER_VALUES = (
    "household_id",
    "birth_date",
    "sex",
    "relationship",
    "school_enrolment",
    "education",
    "work_status",
    "disability",
    "chronic_illness",
    "health_insurance",
)
RECENT_KEPT = 6  # assessments the pathway looks back on (graduation needs two)
MAX_STEPS = 4  # moves one assessment may justify (verified -> tier, then onward)
CASE_FIELDS = ("state", "since", "latest_assessment", "fingerprint", "recent", "is_overridden")


@dataclass
class ChunkResult:
    households: int = 0
    assessed: int = 0
    moved: int = 0


@dataclass
class RulesInForce:
    rule_set: RuleSet
    compiled: CompiledRules

    @classmethod
    def load(cls) -> "RulesInForce | None":
        rule_set = RuleSet.objects.in_force().first()
        if rule_set is None:
            return None
        return cls(rule_set=rule_set, compiled=compile_rules(rule_set.rules))


def fingerprint(inputs: dict, rule_set_version: int) -> str:
    payload = json.dumps([rule_set_version, inputs], sort_keys=True, default=str)
    return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()


def read_facts(ids: Sequence[int], today: date) -> dict[int, HouseholdFacts]:
    """Facts of the active households among `ids`: two queries whatever the chunk size."""
    households = Household.objects.filter(pk__in=ids, status=HouseholdStatus.ACTIVE).values(
        *HOUSEHOLD_VALUES
    )
    members: dict[int, list[dict]] = defaultdict(list)
    member_rows = Member.objects.filter(household_id__in=ids, status=MemberStatus.ACTIVE)
    for row in member_rows.order_by("household_id", "id").values(*MEMBER_VALUES):
        members[row["household_id"]].append(row)
    return {
        row["id"]: HouseholdFacts.from_dicts(row, members[row["id"]], today) for row in households
    }


def recalculate_chunk(
    ids: Sequence[int],
    *,
    rules: RulesInForce,
    now: datetime | None = None,
    job: RecalculationJob | None = None,
    in_transaction: Callable[[ChunkResult], None] | None = None,
) -> ChunkResult:
    """Evaluate the households `ids` and record what changed, in one transaction.

    `in_transaction(result)` runs inside that transaction (a job records its progress there, so
    a killed worker resumes exactly after the last committed chunk).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = ChunkResult(households=len(ids))
    with transaction.atomic():
        facts_by_id = read_facts(ids, today)
        cases = {
            c.household_id: c
            for c in Case.objects.select_for_update().filter(household_id__in=list(facts_by_id))
        }
        new_cases, changed_cases, assessments, moves = [], [], [], []
        for household_id, facts in facts_by_id.items():
            case = cases.get(household_id)
            is_new = case is None
            if is_new:
                case = Case(household_id=household_id, state=REGISTERED, since=now)
            elif case.state == EXITED:
                continue
            inputs = facts.as_dict()
            print_ = fingerprint(inputs, rules.rule_set.version)
            if case.fingerprint == print_:
                continue
            (new_cases if is_new else changed_cases).append(case)
            assessment, steps = _assess(case, facts, inputs, print_, rules, now, today, job)
            assessments.append(assessment)
            moves.append((case, assessment, steps))
        Assessment.objects.bulk_create(assessments, batch_size=1000)
        transitions = []
        for case, assessment, steps in moves:
            case.latest_assessment_id = assessment.pk
            transitions.extend(_transitions(case.household_id, assessment, steps, now))
        Case.objects.bulk_create(new_cases, batch_size=1000)
        Case.objects.bulk_update(changed_cases, CASE_FIELDS, batch_size=1000)
        Transition.objects.bulk_create(transitions, batch_size=1000)
        result.assessed = len(assessments)
        result.moved = sum(1 for _, _, steps in moves if steps)
        if in_transaction is not None:
            in_transaction(result)
    return result


def _assess(case, facts, inputs, print_, rules, now, today, job):
    verdict = evaluate(facts, rules.compiled)
    history = [AssessmentPoint(date.fromisoformat(d), s, g) for d, s, g in case.recent]
    steps: list[tuple[str, Decision]] = []
    state = case.state
    for _ in range(MAX_STEPS):
        decision = decide(state, verdict, history, rules.compiled, on=today)
        if decision is None:
            break
        steps.append((state, decision))
        state = decision.to_state
        if decision.kind == "relapse":
            break  # a relapse lands in tier 1; the next assessment may move it on
    point = [today.isoformat(), verdict.spending_per_person, verdict.meets_graduation]
    case.recent = [*case.recent, point][-RECENT_KEPT:]
    case.fingerprint = print_
    if steps:
        case.state = state
        case.since = now
        case.is_overridden = False
    assessment = Assessment(
        household_id=case.household_id,
        rule_set=rules.rule_set,
        assessed_at=now,
        inputs=inputs,
        verdict=verdict.as_dict(),
        extreme_poor=verdict.extreme_poor,
        spending_per_person=verdict.spending_per_person,
        unmet_needs=list(verdict.unmet_needs),
        recommended_tier=verdict.recommended_tier,
        meets_graduation=verdict.meets_graduation,
        fingerprint=print_,
        job=job,
    )
    return assessment, steps


def _transitions(household_id, assessment, steps, now) -> list[Transition]:
    return [
        Transition(
            household_id=household_id,
            from_state=from_state,
            to_state=decision.to_state,
            at=now,
            actor=None,
            kind=TransitionKind(decision.kind),
            reason_code=decision.code,
            reason_params=decision.params,
            assessment=assessment,
            evidence={"assessment": assessment.pk, "rule_set": assessment.rule_set.version},
        )
        for from_state, decision in steps
    ]
