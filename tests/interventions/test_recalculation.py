"""The batch writers: PostgreSQL COPY and the portable bulk path give the same rows."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from households import choices as c
from households.models import Household, Member
from interventions.evaluation import HouseholdFacts, evaluate
from interventions.group_facts import read_group_facts
from interventions.models import Assessment, Case, RecalculationJob, Transition
from interventions.pathway import VERIFIED
from interventions.recalculation import (
    HOUSEHOLD_VALUES,
    MEMBER_VALUES,
    RulesInForce,
    fingerprint,
    read_facts,
    recalculate_chunk,
    verdict_json,
)
from tests.factories import MemberFactory

from .conftest import make_household

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY path needs PostgreSQL"
)
WRITERS = [
    pytest.param(False, id="portable"),
    pytest.param(True, id="copy", marks=[pytest.mark.postgres, postgres_only]),
]


@pytest.fixture
def households(desa_lebak):
    """A mix: tier 1 (needs unmet), tier 2, a family with children, spending above the line."""
    made = [
        make_household(desa_lebak, per_person=250_000, toilet=c.Toilet.NONE),
        make_household(desa_lebak, per_person=300_000),
        make_household(desa_lebak, per_person=900_000),
        make_household(desa_lebak, per_person=350_000, water_source=c.WaterSource.RIVER),
    ]
    family = made[1]
    MemberFactory(household=family, birth_date=date(2014, 2, 3), sex=c.Sex.FEMALE)
    MemberFactory(household=family, birth_date=date(1950, 7, 1), health_insurance="")
    return made


def _ids(households) -> list[int]:
    return sorted(h.pk for h in households)


def _snapshot() -> dict:
    """Every interventions row, with database ids replaced by their place per household."""
    order = {}
    assessments = []
    for a in Assessment.objects.order_by("household_id", "id"):
        order[a.pk] = (a.household_id, sum(1 for k in order.values() if k[0] == a.household_id))
        assessments.append(
            (
                a.household_id,
                a.rule_set_id,
                a.assessed_at,
                a.inputs,
                a.verdict,
                a.extreme_poor,
                a.spending_per_person,
                a.unmet_needs,
                a.recommended_tier,
                a.meets_graduation,
                a.fingerprint,
                a.job_id is not None,  # each scenario makes its own job
            )
        )
    cases = [
        (
            k.household_id,
            k.state,
            k.since,
            order.get(k.latest_assessment_id),
            k.fingerprint,
            k.recent,
            k.is_overridden,
        )
        for k in Case.objects.order_by("household_id")
    ]
    transitions = [
        (
            t.household_id,
            t.from_state,
            t.to_state,
            t.at,
            t.actor_id,
            t.kind,
            t.reason_code,
            t.reason_params,
            t.reason,
            t.exit_reason,
            order.get(t.assessment_id),
            {**t.evidence, "assessment": order.get(t.evidence.get("assessment"))},
        )
        for t in Transition.objects.order_by("household_id", "at", "id")
    ]
    return {"assessments": assessments, "cases": cases, "transitions": transitions}


def _scenario(ids: list[int], copy: bool, start=None) -> dict:
    """Cold run, verification (placement moves), a data change, and a no-op rerun."""
    rules = RulesInForce.load()
    job = RecalculationJob.objects.create(trigger="manual")
    start = start or timezone.now().replace(microsecond=0)
    first = recalculate_chunk(ids, rules=rules, now=start, job=job, copy=copy)
    assert (first.assessed, first.moved) == (len(ids), 0)

    Case.objects.filter(household_id__in=ids[:3]).update(state=VERIFIED, fingerprint="")
    second = recalculate_chunk(ids, rules=rules, now=start + timedelta(days=1), copy=copy)
    assert (second.assessed, second.moved) == (3, 3)

    Household.objects.filter(pk=ids[0]).update(toilet=c.Toilet.OWN)  # needs met now: tier 2
    third = recalculate_chunk(ids, rules=rules, now=start + timedelta(days=100), copy=copy)
    assert third.assessed >= 1  # (an age may also have changed by then)
    assert third.moved >= 1

    before = _snapshot()
    rerun = recalculate_chunk(ids, rules=rules, now=start + timedelta(days=101), copy=copy)
    assert (rerun.assessed, rerun.moved) == (0, 0)
    assert _snapshot() == before
    Household.objects.filter(pk=ids[0]).update(toilet=c.Toilet.NONE)  # for the next writer
    return before


@pytest.mark.django_db
@pytest.mark.parametrize("copy", WRITERS)
def test_scenario_writes_assessments_cases_and_transitions(households, copy):
    ids = _ids(households)
    rows = _scenario(ids, copy)
    assert len(rows["assessments"]) >= len(ids) + 3 + 1
    assert [case[1] for case in rows["cases"]][:3] != ["verified"] * 3  # placed in their tiers
    assert len(rows["transitions"]) >= 3
    assert all(t[4] is None and t[5] in ("automatic", "relapse") for t in rows["transitions"])


@pytest.mark.django_db
@pytest.mark.postgres
@postgres_only
def test_copy_and_portable_writers_give_the_same_rows(households):
    ids = _ids(households)
    start = timezone.now().replace(microsecond=0)  # the same clock for both writers
    portable = _scenario(ids, copy=False, start=start)
    Transition.objects.all().delete()
    Case.objects.all().delete()
    Assessment.objects.all().delete()
    assert _scenario(ids, copy=True, start=start) == portable


@pytest.mark.django_db
@pytest.mark.parametrize("copy", WRITERS)
def test_no_op_rerun_writes_nothing(households, copy):
    ids = _ids(households)
    rules = RulesInForce.load()
    recalculate_chunk(ids, rules=rules, copy=copy)
    with CaptureQueriesContext(connection) as queries:
        result = recalculate_chunk(ids, rules=rules, copy=copy)
    assert result.assessed == 0
    written = [
        q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "COPY")
    ]
    assert written == []


@pytest.mark.django_db
@pytest.mark.parametrize("copy", WRITERS)
def test_queries_per_chunk_do_not_grow_with_its_size(desa_lebak, copy):
    made = [make_household(desa_lebak, per_person=300_000 + i) for i in range(24)]
    ids = _ids(made)
    rules = RulesInForce.load()
    recalculate_chunk(ids[:3], rules=rules, copy=copy)  # stores the verdict layouts (once ever)
    Assessment.objects.all().delete()
    Case.objects.all().delete()
    counts = []
    for chunk in (ids[:3], ids[3:24]):
        with CaptureQueriesContext(connection) as queries:
            recalculate_chunk(chunk, rules=rules, copy=copy)  # new cases
        counts.append(len(queries))
        Case.objects.filter(household_id__in=chunk).update(state=VERIFIED, fingerprint="")
        with CaptureQueriesContext(connection) as queries:
            recalculate_chunk(chunk, rules=rules, copy=copy)  # changed cases and transitions
        counts.append(len(queries))
    assert counts[0] == counts[2]
    assert counts[1] == counts[3]


@pytest.mark.django_db
@pytest.mark.parametrize("copy", WRITERS)
def test_progress_is_recorded_in_the_chunk_transaction(households, copy):
    seen = []

    def progress(result):
        seen.append((connection.in_atomic_block, result.assessed))

    recalculate_chunk(_ids(households), rules=RulesInForce.load(), in_transaction=progress)
    assert seen == [(True, len(households))]


@pytest.mark.django_db
def test_read_facts_equal_the_facts_from_dicts(households):
    ids = _ids(households)
    today = timezone.localdate()
    facts = read_facts(ids, today)
    assert list(facts) == ids
    for pk in ids:
        household = Household.objects.filter(pk=pk).values(*HOUSEHOLD_VALUES).get()
        members = (
            Member.objects.filter(household_id=pk, status=c.MemberStatus.ACTIVE)
            .order_by("id")
            .values(*MEMBER_VALUES)
        )
        assert facts[pk] == HouseholdFacts.from_dicts(household, list(members), today)


@pytest.mark.django_db
def test_stored_fingerprint_and_verdict_are_the_public_ones(households):
    ids = _ids(households)
    rules = RulesInForce.load()
    recalculate_chunk(ids, rules=rules)
    facts = read_facts(ids, timezone.localdate())
    for assessment in Assessment.objects.filter(household_id__in=ids):
        household_facts = facts[assessment.household_id]
        verdict = evaluate(household_facts, rules.compiled)
        assert assessment.fingerprint == fingerprint(
            household_facts.as_dict(), rules.rule_set.version
        )
        assert assessment.inputs == household_facts.as_dict()
        assert assessment.verdict == verdict.as_dict()
        assert json.loads(verdict_json(verdict)) == verdict.as_dict()
        assert Case.objects.get(pk=assessment.household_id).fingerprint == assessment.fingerprint


@pytest.mark.django_db
@pytest.mark.parametrize("copy", WRITERS)
def test_tier3_facts_in_the_raw_reads(desa_lebak, field_worker_lebak, copy):
    """Group members' facts (in an active group, the group's business) reach the chunk; a member
    outside groups with the same recorded data does not share the group member's facts."""
    from interventions import groups

    from .tier3 import make_group, tier2_person

    group = make_group(field_worker_lebak, desa_lebak)
    groups.business_record_save(
        actor=field_worker_lebak, group=group, month=timezone.localdate().replace(day=1),
        revenue=5_000_000, costs=3_000_000,
    )  # fmt: skip
    inside = group.memberships.order_by("pk").first().member
    outside = tier2_person(desa_lebak)
    copied = Member.objects.filter(pk=inside.pk).values(*MEMBER_VALUES[1:]).get()
    Member.objects.filter(pk=outside.pk).update(**copied)  # the same recorded data
    ids = sorted([inside.household_id, outside.household_id])
    today = timezone.localdate()

    # the other group members' households lie between the two: read by range, then left out
    assert set(read_group_facts(ids, today).households) == {inside.household_id}
    facts = read_facts(ids, today)
    assert facts[inside.household_id].members[0].in_active_group is True
    assert facts[outside.household_id].members[0].in_active_group is False
    assert facts[inside.household_id].in_active_group is True
    assert facts[inside.household_id].business_months_ago == 0
    assert facts[outside.household_id].in_active_group is None
    assert facts[outside.household_id].business_months_ago is None
    assert "business_months_ago" not in facts[outside.household_id].as_dict()

    rules = RulesInForce.load()
    recalculate_chunk(ids, rules=rules, copy=copy)
    for pk in ids:
        assessment = Assessment.objects.get(household_id=pk)
        assert assessment.inputs == facts[pk].as_dict()
        assert assessment.verdict == evaluate(facts[pk], rules.compiled).as_dict()
        assert assessment.fingerprint == fingerprint(facts[pk].as_dict(), rules.rule_set.version)


@pytest.mark.django_db
@pytest.mark.postgres
@postgres_only
def test_copy_rows_keep_backslashes_quotes_and_nulls():
    """The COPY writer builds its text rows itself: JSON with escapes survives the trip."""
    from interventions.recalculation import NULL, _copy_lines, _copy_text

    document = json.dumps({"label": 'a "quoted" \\ back\\slash\ttab\nline', "n": None})
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_check (id int, doc json, note text)")
        _copy_lines(
            cursor.cursor,
            "copy_check",
            ("id", "doc", "note"),
            [f"1\t{_copy_text(document)}\t{NULL}\n", f"2\t{_copy_text('[]')}\tplain\n"],
        )
        cursor.execute("SELECT id, doc::text, note FROM copy_check ORDER BY id")
        rows = cursor.fetchall()
    assert rows == [(1, document, None), (2, "[]", "plain")]
    assert json.loads(rows[0][1])["label"] == 'a "quoted" \\ back\\slash\ttab\nline'


def test_member_profile_columns_hold_no_comma():
    """The chunk reads a member's text facts joined by commas: no stored code may hold one."""
    from interventions.recalculation import MEMBER_PROFILE

    assert set(MEMBER_PROFILE) <= set(MEMBER_VALUES)
    assert set(MEMBER_VALUES) - set(MEMBER_PROFILE) == {
        "household_id",
        "birth_date",
        "chronic_illness",
    }
    for name in MEMBER_PROFILE:
        field = Member._meta.get_field(name)
        assert field.choices, f"{name}: free text could hold a comma"
        assert not field.null
        assert all("," not in str(value) for value, _ in field.choices), name
