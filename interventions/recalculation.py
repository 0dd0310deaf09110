"""Set-based recalculation: evaluate a chunk of households and write only what changed.

One chunk is a handful of bulk reads (completed referrals, active members, households, cases:
raw single queries by id range), evaluation in Python (`fast_evaluation.Evaluator`, the same
verdicts as `evaluation.evaluate`), and bulk writes (assessments, cases, transitions) in one
transaction. A household whose inputs and rule set are unchanged since its last assessment is
skipped, so a rerun writes nothing. The same function serves one household (after its data
changed) and the whole province; `parallel` runs a job's chunks in worker processes.

Two writers, same rows: on PostgreSQL, psycopg 3 COPY (assessment ids drawn from their sequence
in one query; changed cases through a temporary table and one UPDATE ... FROM); elsewhere the
portable bulk_create / bulk_update. Reads are plain fetches (no cursor kept open), so COPY runs
on the same connection safely. Inputs and verdict are stored compact (`compact`), encoded once;
the fingerprint is the sha1 of the rule-set version and that inputs text. A chunk pauses the
cyclic garbage collector and, on PostgreSQL, commits without waiting for the WAL flush.
"""

import gc
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from households.choices import HouseholdStatus, MemberStatus
from households.models import Household, Member

from .compact import (
    compact_inputs,
    encode_json,
    inputs_compact,
    inputs_json,
    member_inputs,
    verdict_stored,
)
from .evaluation import (
    CompiledRules,
    HouseholdFacts,
    MemberFacts,
    Verdict,
    age_on,
    compile_rules,
)
from .fast_evaluation import Evaluator
from .graduation_moves import record_moves
from .group_facts import read_group_facts
from .models import (
    Assessment,
    Case,
    Delivery,
    RecalculationJob,
    Referral,
    ReferralStatus,
    RuleSet,
    Transition,
    TransitionKind,
    VerdictLayout,
)
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
_UNSET = object()
TRAINING = "training"  # the need a completed training referral meets, for its member
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
    evaluator: Evaluator = field(init=False, repr=False)  # = evaluate(facts, compiled), faster

    def __post_init__(self):
        self.evaluator = Evaluator(self.compiled)

    @classmethod
    def load(cls) -> "RulesInForce | None":
        rule_set = RuleSet.objects.in_force().first()
        if rule_set is None:
            return None
        return cls(rule_set=rule_set, compiled=compile_rules(rule_set.rules))


def fingerprint(inputs: dict, rule_set_version: int) -> str:
    """The fingerprint of an `as_dict()` inputs snapshot: sha1 of its stored (compact) text."""
    text = inputs_json(compact_inputs(inputs))
    return hashlib.sha1(f"{rule_set_version}:{text}".encode(), usedforsecurity=False).hexdigest()


# JSON as stored, compact. A MappingProxyType (a line's shared detail) is encoded as its dict.
_encode_compact = json.JSONEncoder(separators=(",", ":"), default=dict).encode
_sha1 = partial(hashlib.sha1, usedforsecurity=False)


@dataclass(slots=True)
class _CaseRow:
    """A case as the chunk reads and changes it (a Case model instance only for the ORM path)."""

    household_id: int
    state: str
    since: datetime
    latest_assessment_id: int | None
    fingerprint: str
    recent: list
    is_overridden: bool
    is_new: bool = False

    def as_model(self) -> Case:
        return Case(**{name: getattr(self, name) for name in CASE_COLUMNS})


CASE_COLUMNS = (
    "household_id",
    "state",
    "since",
    "latest_assessment_id",
    "fingerprint",
    "recent",
    "is_overridden",
)


@dataclass(slots=True)
class _Assessed:
    case: _CaseRow
    inputs: list | dict  # compact (compact.inputs_compact)
    inputs_json: str
    verdict: Verdict
    steps: list
    referrals: tuple[int, ...] = ()  # completed referrals behind met needs (for the evidence)
    deliveries: tuple[int, ...] = ()


def _bool_or_none(value) -> bool | None:
    return None if value is None or value == "" else bool(value)


#: A member's recorded text facts, read as one text joined by commas (one value per row to
#: fetch instead of seven: fetching was a third of reading a chunk). Choice codes hold no comma.
MEMBER_PROFILE = (
    "sex",
    "relationship",
    "school_enrolment",
    "education",
    "work_status",
    "disability",
    "health_insurance",
)


def _member(
    age: int | None, profile: str, chronic, trained: bool = False, in_group: bool = False
) -> MemberFacts:
    """MemberFacts.from_dict for a member read as (age, MEMBER_PROFILE joined, chronic illness)."""
    sex, relationship, school, education, work, disability, insurance = profile.split(",")
    return MemberFacts(
        age=age,
        sex=sex,
        relationship=relationship,
        school_enrolment=school,
        education=education,
        work_status=work,
        disability=disability,
        chronic_illness=_bool_or_none(chronic),
        health_insurance=insurance,
        completed_training=trained,
        in_active_group=in_group,
    )


@dataclass(frozen=True, slots=True)
class _Completed:
    """A completed referral as the chunk reads it."""

    id: int
    member_id: int | None
    need: str


def _ids_where(column: str, ids: Sequence[int]) -> tuple[str, list, frozenset | None]:
    """A WHERE clause selecting `ids` in `column`: a range when they are (nearly) contiguous.

    Returns (sql, params, keep): `keep` is the set to filter the rows of a range by, None when
    every row of the clause is wanted. One or two parameters for a range (a batch chunk), the
    ids themselves otherwise; the query is the same whatever the number of ids.
    """
    low, high = min(ids), max(ids)
    quoted = connection.ops.quote_name(column)
    span = high - low + 1
    if span <= 2 * len(ids) + 64:
        keep = None if span == len(ids) else frozenset(ids)
        return f"{quoted} BETWEEN %s AND %s", [low, high], keep
    if connection.vendor == "postgresql":
        return f"{quoted} = ANY(%s)", [list(ids)], None
    return f"{quoted} IN ({', '.join(['%s'] * len(ids))})", list(ids), None


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def read_completed(ids: Sequence[int]) -> dict[int, list[_Completed]]:
    """Completed referrals of the households `ids`, by household: one query."""
    completed: dict[int, list[_Completed]] = defaultdict(list)
    if not ids:
        return completed
    where, params, keep = _ids_where("household_id", ids)
    rows = _fetch(
        f"SELECT id, household_id, member_id, need FROM {Referral._meta.db_table} "  # noqa: S608
        f"WHERE {where} AND status = %s ORDER BY household_id, id",
        [*params, ReferralStatus.COMPLETED.value],
    )
    for pk, household_id, member_id, need in rows:
        if keep is None or household_id in keep:
            completed[household_id].append(_Completed(pk, member_id, need))
    return completed


def read_facts(
    ids: Sequence[int], today: date, completed: dict[int, list[_Completed]] | None = None
) -> dict[int, HouseholdFacts]:
    """Facts of the active households among `ids` (in id order): three queries whatever the chunk.

    The same facts as `HouseholdFacts.from_dicts` on the `values()` of HOUSEHOLD_VALUES and
    MEMBER_VALUES, built from plain tuples (no dict per row), plus what completed referrals
    meet (`completed`, from `read_completed`, read here when not given): the needs they cover
    (`met_needs`) and, for a training referral of a member, that member's completed training.
    """
    return {pk: facts for pk, (facts, _) in _read_facts(ids, today, completed).items()}


def _read_facts(
    ids: Sequence[int], today: date, completed: dict[int, list[_Completed]] | None = None
) -> dict[int, tuple[HouseholdFacts, list[tuple]]]:
    """`read_facts`, with each household's members in compact form (`compact.member_inputs`).

    Members with the same recorded data share one MemberFacts (it is frozen): a chunk builds
    each distinct member once.
    """
    if not ids:
        return {}
    if completed is None:
        completed = read_completed(ids)
    trained = {c.member_id for refs in completed.values() for c in refs if c.need == TRAINING}
    trained.discard(None)
    groups = read_group_facts(ids, today)  # tier 3: groups, business records, loans
    in_group = groups.members_in_group
    quote = connection.ops.quote_name
    where, params, keep = _ids_where("household_id", ids)
    profile = " || ',' || ".join(quote(c) for c in MEMBER_PROFILE)  # NOT NULL columns
    member_rows = _fetch(
        f"SELECT household_id, birth_date, {profile}, chronic_illness, id "  # noqa: S608
        f"FROM {Member._meta.db_table} WHERE {where} AND status = %s ORDER BY household_id, id",
        [*params, MemberStatus.ACTIVE.value],
    )
    members: dict[int, list[MemberFacts]] = defaultdict(list)
    compact: dict[int, list[tuple]] = defaultdict(list)
    shared: dict[tuple, tuple[MemberFacts, tuple]] = {}
    ages: dict = {}
    flagged = bool(trained or in_group)  # most chunks have neither
    for household_id, birth, text, chronic, pk in member_rows:
        if keep is not None and household_id not in keep:
            continue
        age = ages.get(birth, _UNSET)
        if age is _UNSET:
            born = date.fromisoformat(birth) if isinstance(birth, str) else birth
            age = ages[birth] = age_on(born, today) if born else None
        if flagged:
            key = (age, text, chronic, pk in trained, pk in in_group)
        else:
            key = (age, text, chronic)
        found = shared.get(key)
        if found is None:
            member = _member(age, text, chronic, *key[3:])
            found = shared[key] = (member, member_inputs(member))
        members[household_id].append(found[0])
        compact[household_id].append(found[1])
    where, params, keep = _ids_where("id", ids)
    household_rows = _fetch(
        f"SELECT {', '.join(quote(c) for c in HOUSEHOLD_VALUES)} "  # noqa: S608
        f"FROM {Household._meta.db_table} WHERE {where} AND status = %s ORDER BY id",
        [*params, HouseholdStatus.ACTIVE.value],
    )
    facts = {}
    no_members: tuple = ()
    for row in household_rows:
        (pk, spending, desil, water, toilet, septic, floor, wall, roof, area, light, fuel, own,
         meals) = row  # fmt: skip
        if keep is not None and pk not in keep:
            continue
        refs = completed.get(pk)
        # The text columns are NOT NULL and the numbers come back as int or None; only a
        # boolean needs converting (SQLite gives 0 or 1).
        household = HouseholdFacts(
            members=tuple(members.get(pk, no_members)),
            monthly_expenditure=spending,
            desil=desil,
            water_source=water,
            toilet=toilet,
            has_septic_tank=septic if septic is None or septic.__class__ is bool else bool(septic),
            floor_material=floor,
            wall_material=wall,
            roof_material=roof,
            floor_area_m2=area,
            lighting=light,
            cooking_fuel=fuel,
            ownership=own,
            meals_per_day=meals,
            in_active_group=None,
            met_needs=tuple(sorted({c.need for c in refs if c.need != TRAINING})) if refs else (),
        )
        tier3 = groups.households.get(pk)
        if tier3 is not None:  # tier 3 facts, only for households in groups or with loans
            household = replace(household, **tier3)
        facts[pk] = (household, compact.get(pk, []))
    return facts


def _aware(value) -> datetime:
    """A datetime column read raw: SQLite gives naive UTC (or text), PostgreSQL aware."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


def _read_cases(household_ids: list[int]) -> dict[int, _CaseRow]:
    if not household_ids:
        return {}
    quote = connection.ops.quote_name
    where, params, keep = _ids_where("household_id", household_ids)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    rows = _fetch(
        f"SELECT {', '.join(quote(c) for c in CASE_COLUMNS)} "  # noqa: S608
        f"FROM {Case._meta.db_table} WHERE {where}{lock}",
        params,
    )
    recent = Case._meta.get_field("recent")
    cases = {}
    for household_id, state, at, latest, print_, history, overridden in rows:
        if keep is not None and household_id not in keep:
            continue
        cases[household_id] = _CaseRow(
            household_id,
            state,
            _aware(at),
            latest,
            print_,
            recent.from_db_value(history, None, connection),
            bool(overridden),
        )
    return cases


def recalculate_chunk(
    ids: Sequence[int],
    *,
    rules: RulesInForce,
    now: datetime | None = None,
    job: RecalculationJob | None = None,
    in_transaction: Callable[[ChunkResult], None] | None = None,
    copy: bool | None = None,
) -> ChunkResult:
    """Evaluate the households `ids` and record what changed, in one transaction.

    `in_transaction(result)` runs inside that transaction (a job records its progress there, so
    a killed worker resumes exactly after the last committed chunk). `copy`: write with COPY
    (default: on PostgreSQL) or with the portable bulk_create / bulk_update; the rows are the same.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    use_copy = connection.vendor == "postgresql" if copy is None else copy
    version = rules.rule_set.version
    result = ChunkResult(households=len(ids))
    with _gc_paused(), transaction.atomic():
        if connection.vendor == "postgresql":
            _relax_commit()
        completed = read_completed(ids)
        facts_by_id = _read_facts(ids, today, completed)
        cases = _read_cases(list(facts_by_id))
        work: list[_Assessed] = []
        prefix = f"{version}:"
        for household_id, (facts, members) in facts_by_id.items():
            case = cases.get(household_id)
            if case is None:
                case = _CaseRow(household_id, REGISTERED, now, None, "", [], False, is_new=True)
            elif case.state == EXITED:
                continue
            inputs = inputs_compact(facts, members)
            text = inputs_json(inputs)
            print_ = _sha1((prefix + text).encode()).hexdigest()  # = fingerprint(...)
            if case.fingerprint == print_:
                continue
            verdict, steps = _assess(case, facts, print_, rules, today, now)
            refs = tuple(c.id for c in completed.get(household_id, ())) if steps else ()
            work.append(_Assessed(case, inputs, text, verdict, steps, refs))
        _attach_deliveries(work)
        layouts = {}
        if work:
            layouts = (_write_copy if use_copy else _write_orm)(work, rules, now, job)
            _after_moves(work, rules, now)
        result.assessed = len(work)
        result.moved = sum(1 for item in work if item.steps)
        if in_transaction is not None:
            in_transaction(result)
        # Last, just before the commit: a layout another transaction has just inserted makes
        # this insert wait for that transaction. Parallel workers commit their chunks in
        # turn, and `in_transaction` waits for this chunk's turn, so no worker ever waits
        # here for one that waits for it.
        _save_layouts(layouts)
    return result


def _after_moves(work: list[_Assessed], rules: RulesInForce, now: datetime) -> None:
    """Graduation records and relapse follow-ups for the moves just written (tier 3 issue)."""
    moves = [
        (item.case.household_id, str(from_state), str(decision.to_state), decision.params,
         item.case.latest_assessment_id)
        for item in work
        for from_state, decision in item.steps
    ]  # fmt: skip
    if moves:
        record_moves(moves, now=now, rules=rules.rule_set.rules)


@contextmanager
def _gc_paused():
    """No cyclic garbage collection inside a chunk: it allocates many objects, none in cycles
    that outlive it, and the collector would walk them all again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _relax_commit() -> None:
    """The chunk's commit does not wait for its WAL flush (PostgreSQL).

    Safe here: a chunk only holds what can be computed again, and a batch that loses its last
    commits in a server crash resumes from its recorded progress, which is lost with them.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")


def _assess(case: _CaseRow, facts, print_, rules, today, now) -> tuple[Verdict, list]:
    verdict = rules.evaluator(facts)
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
    return verdict, steps


def verdict_json(verdict: Verdict) -> str:
    """`json.dumps(verdict.as_dict())`, compact; the lines' dicts built in one pass (faster)."""
    return _encode_compact(
        {
            "extreme_poor": verdict.extreme_poor,
            "below_extreme_line": verdict.below_extreme_line,
            "desil_within_cutoff": verdict.desil_within_cutoff,
            "spending_per_person": verdict.spending_per_person,
            "unmet_needs": list(verdict.unmet_needs),
            "unmet_critical_needs": list(verdict.unmet_critical_needs),
            "eligible_tier2": verdict.eligible_tier2,
            "eligible_tier3": verdict.eligible_tier3,
            "meets_graduation": verdict.meets_graduation,
            "recommended_tier": verdict.recommended_tier,
            "lines": [
                {
                    "code": code,
                    "need": need,
                    "value": value,
                    "threshold": threshold,
                    "passed": passed,
                    "detail": detail,  # a MappingProxyType: encoded as its dict
                }
                for code, need, value, threshold, passed, detail in verdict.lines
            ],
        }
    )


def _attach_deliveries(work: list[_Assessed]) -> None:
    """The deliveries of the completed referrals behind the moves: one query for the chunk."""
    referral_ids = [pk for item in work for pk in item.referrals]
    if not referral_ids:
        return
    by_referral: dict[int, list[int]] = defaultdict(list)
    rows = Delivery.objects.filter(referral_id__in=referral_ids).order_by("pk")
    for referral_id, pk in rows.values_list("referral_id", "pk"):
        by_referral[referral_id].append(pk)
    for item in work:
        if item.referrals:
            item.deliveries = tuple(pk for ref in item.referrals for pk in by_referral[ref])


def _evidence(item: _Assessed, assessment_id: int, version: int) -> dict:
    evidence = {"assessment": assessment_id, "rule_set": version}
    if item.referrals:
        evidence["referrals"] = list(item.referrals)
        evidence["deliveries"] = sorted(item.deliveries)
    return evidence


def _transition_rows(item: _Assessed, assessment_id: int, version: int, now):
    """(household_id, from, to, at, kind, reason_code, reason_params, assessment_id, evidence)."""
    for from_state, decision in item.steps:
        yield (  # plain strings: psycopg would write an Enum member by its name
            item.case.household_id,
            str(from_state),
            str(decision.to_state),
            now,
            TransitionKind(decision.kind).value,
            decision.code,
            decision.params,
            assessment_id,
            _evidence(item, assessment_id, version),
        )


# --- portable writer: bulk_create / bulk_update ---------------------------------------------------


def _save_layouts(layouts: dict[str, list]) -> None:
    """The verdict layouts a chunk's assessments refer to that are not stored yet.

    Nearly always all of them are: the keys are looked up first, since sending every layout
    again (a few hundred, kilobytes each) cost more than the lookup.
    """
    if not layouts:
        return
    stored = set(VerdictLayout.objects.filter(key__in=list(layouts)).values_list("key", flat=True))
    if missing := [VerdictLayout(key=k, lines=v) for k, v in layouts.items() if k not in stored]:
        VerdictLayout.objects.bulk_create(missing, ignore_conflicts=True)


def _stored_verdicts(work: list[_Assessed]) -> tuple[list[str], dict[str, list]]:
    """Each item's verdict as stored (format 2 where it can), and the layouts they use."""
    texts = []
    layouts = {}
    for item in work:
        text, key, layout = verdict_stored(item.verdict)
        texts.append(text)
        if key is not None:
            layouts[key] = layout
    return texts, layouts


def _write_orm(work: list[_Assessed], rules: RulesInForce, now, job) -> dict[str, list]:
    texts, layouts = _stored_verdicts(work)
    assessments = [
        Assessment(
            household_id=item.case.household_id,
            rule_set=rules.rule_set,
            assessed_at=now,
            inputs=item.inputs,
            verdict=json.loads(text),
            extreme_poor=item.verdict.extreme_poor,
            spending_per_person=item.verdict.spending_per_person,
            unmet_needs=list(item.verdict.unmet_needs),
            recommended_tier=item.verdict.recommended_tier,
            meets_graduation=item.verdict.meets_graduation,
            fingerprint=item.case.fingerprint,
            job=job,
        )
        for item, text in zip(work, texts, strict=True)
    ]
    Assessment.objects.bulk_create(assessments, batch_size=1000)
    transitions = []
    for item, assessment in zip(work, assessments, strict=True):
        item.case.latest_assessment_id = assessment.pk
        for row in _transition_rows(item, assessment.pk, rules.rule_set.version, now):
            household_id, from_state, to_state, at, kind, code, params, assessment_id, evid = row
            transitions.append(
                Transition(
                    household_id=household_id,
                    from_state=from_state,
                    to_state=to_state,
                    at=at,
                    actor=None,
                    kind=kind,
                    reason_code=code,
                    reason_params=params,
                    assessment_id=assessment_id,
                    evidence=evid,
                )
            )
    Case.objects.bulk_create([i.case.as_model() for i in work if i.case.is_new], batch_size=1000)
    changed = [i.case.as_model() for i in work if not i.case.is_new]
    Case.objects.bulk_update(changed, CASE_FIELDS, batch_size=1000)
    Transition.objects.bulk_create(transitions, batch_size=1000)
    return layouts


# --- PostgreSQL writer: COPY ----------------------------------------------------------------------

ASSESSMENT_COLUMNS = (
    "id",
    "household_id",
    "rule_set_id",
    "assessed_at",
    "inputs",
    "verdict",
    "extreme_poor",
    "spending_per_person",
    "unmet_needs",
    "recommended_tier",
    "meets_graduation",
    "fingerprint",
    "job_id",
)
TRANSITION_COLUMNS = (
    "household_id",
    "from_state",
    "to_state",
    "at",
    "kind",
    "reason_code",
    "reason_params",
    "assessment_id",
    "evidence",
    "actor_id",
    "reason",
    "exit_reason",
)
CASE_UPDATES = "recalc_case_updates"  # temporary table, one per session, emptied at commit


def _copy_sql(table: str, columns: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    return f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"


def _write_copy(work: list[_Assessed], rules: RulesInForce, now, job) -> dict[str, list]:
    """The same rows as `_write_orm`, through COPY. Constant number of statements per chunk.

    Never call this while a server-side cursor is open on the connection (psycopg 3 would
    deadlock): the chunk's reads are plain fetches, all consumed before the writes start.
    """
    quote = connection.ops.quote_name
    version = rules.rule_set.version
    rule_set_id = rules.rule_set.pk
    job_id = job.pk if job is not None else None
    case_table = Case._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Assessment._meta.db_table, len(work)],
        )
        assessment_ids = [row[0] for row in cursor.fetchall()]
        verdicts, layouts = _stored_verdicts(work)
        raw = cursor.cursor  # psycopg 3
        transitions = []
        # Rows in COPY's text format, built here (psycopg's write_row adapts value by value).
        # JSON and hex need no escaping but of backslashes (orjson escapes control characters).
        constant = f"\t{rule_set_id}\t{now.isoformat()}\t"
        job_text = NULL if job_id is None else str(job_id)
        lines = []
        for item, pk, verdict_text in zip(work, assessment_ids, verdicts, strict=True):
            verdict = item.verdict
            case = item.case
            case.latest_assessment_id = pk
            spending = verdict.spending_per_person
            lines.append(
                f"{pk}\t{case.household_id}{constant}{_copy_text(item.inputs_json)}\t"
                f"{_copy_text(verdict_text)}\t{'t' if verdict.extreme_poor else 'f'}\t"
                f"{NULL if spending is None else spending}\t"
                f"{_copy_text(encode_json(verdict.unmet_needs))}\t{verdict.recommended_tier}\t"
                f"{'t' if verdict.meets_graduation else 'f'}\t{case.fingerprint}\t{job_text}\n"
            )
            if item.steps:
                transitions.extend(_transition_rows(item, pk, version, now))
        _copy_lines(raw, Assessment._meta.db_table, ASSESSMENT_COLUMNS, lines)
        new = [item.case for item in work if item.case.is_new]
        changed = [item.case for item in work if not item.case.is_new]
        if new:
            _copy_lines(raw, case_table, CASE_COLUMNS, [_case_line(case) for case in new])
        if changed:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {CASE_UPDATES} "
                f"(LIKE {quote(case_table)} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"TRUNCATE {CASE_UPDATES}")  # empty even inside an outer transaction
            _copy_lines(raw, CASE_UPDATES, CASE_COLUMNS, [_case_line(case) for case in changed])
            sets = ", ".join(f"{quote(c)} = u.{quote(c)}" for c in CASE_COLUMNS[1:])
            cursor.execute(
                f"UPDATE {quote(case_table)} AS c SET {sets} FROM {CASE_UPDATES} AS u "  # noqa: S608
                "WHERE c.household_id = u.household_id"
            )
        if transitions:
            with raw.copy(_copy_sql(Transition._meta.db_table, TRANSITION_COLUMNS)) as copy:
                for row in transitions:
                    *head, params, assessment_id, evidence = row
                    copy.write_row(
                        (
                            *head,
                            _encode_compact(params),
                            assessment_id,
                            _encode_compact(evidence),
                            None,
                            "",
                            "",
                        )
                    )
    return layouts


NULL = "\\N"  # COPY text format
COPY_BATCH = 1000  # rows sent per write


def _copy_text(text: str) -> str:
    """A JSON or plain text value for COPY's text format (no tabs, newlines or CRs in it)."""
    return text.replace("\\", "\\\\") if "\\" in text else text


def _copy_lines(raw, table: str, columns: Sequence[str], lines: list[str]) -> None:
    with raw.copy(_copy_sql(table, columns)) as copy:
        for start in range(0, len(lines), COPY_BATCH):
            copy.write("".join(lines[start : start + COPY_BATCH]))


def _case_line(case: _CaseRow) -> str:
    latest = case.latest_assessment_id
    return (
        f"{case.household_id}\t{case.state!s}\t{case.since.isoformat()}\t"
        f"{NULL if latest is None else latest}\t{case.fingerprint}\t"
        f"{_copy_text(encode_json(case.recent))}\t{'t' if case.is_overridden else 'f'}\n"
    )
