"""Compact assessments: stored as arrays, read back as the same dicts, words and API output."""

import json
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from interventions import compact
from interventions.evaluation import (
    HouseholdFacts,
    MemberFacts,
    Verdict,
    compile_rules,
    evaluate,
)
from interventions.models import Assessment, VerdictLayout
from interventions.recalculation import RulesInForce, read_facts, recalculate_chunk
from interventions.rules import NEEDS, default_rules
from tests.interventions.conftest import make_household
from tests.interventions.test_evaluation import FAST, household_facts, rule_sets

met_needs = st.lists(st.sampled_from(NEEDS), unique=True, max_size=3).map(sorted).map(tuple)


def _stored(data) -> object:
    """What a JSON column gives back."""
    return json.loads(json.dumps(data))


def test_the_current_facts_have_a_registered_layout():
    """A fact added to HOUSEHOLD_FACTS / MEMBER_FACTS needs the next layout in INPUT_LAYOUTS
    (the old ones stay, for the rows stored with them); until then inputs are stored as dicts."""
    assert compact.CURRENT_INPUTS_FORMAT is not None, (
        "register the current facts as a new layout in interventions.compact.INPUT_LAYOUTS"
    )


@FAST
@given(facts=household_facts, met=met_needs)
def test_inputs_read_back_as_the_snapshot(facts, met):
    facts = replace(facts, met_needs=met)
    stored = json.loads(compact.inputs_json(compact.inputs_compact(facts)))
    assert isinstance(stored, list)
    assert compact.expand_inputs(stored) == facts.as_dict()
    assert compact.compact_inputs(facts.as_dict()) == stored
    assert HouseholdFacts.from_snapshot(compact.expand_inputs(stored), None) == facts


@FAST
@given(facts=household_facts, rules=rule_sets)
def test_verdict_reads_back_the_same(facts, rules):
    verdict = evaluate(facts, rules)
    stored = json.loads(compact.verdict_compact_json(verdict))
    assert stored == _stored(compact.verdict_compact(verdict))
    assert compact.expand_verdict(stored) == verdict.as_dict()
    assert compact.compact_verdict(verdict.as_dict()) == stored
    again = Verdict.from_dict(compact.expand_verdict(stored))
    assert again.as_dict(with_text=True) == verdict.as_dict(with_text=True)


def test_rows_stored_with_an_older_layout_still_read():
    """Layout 1 (before tier 3): no business facts, no member in_active_group."""
    household_keys, member_keys = compact.INPUT_LAYOUTS[1]
    stored = _stored([1, [None] * len(household_keys), [[None] * len(member_keys)], ["food"]])
    data = compact.expand_inputs(stored)
    assert set(data) == {*household_keys, "members", "met_needs"}
    assert "business_months_ago" not in data
    assert [set(m) for m in data["members"]] == [set(member_keys)]
    assert HouseholdFacts.from_snapshot(data, None).members[0].in_active_group is False


def test_tier3_facts_are_left_out_of_the_snapshot_while_unset():
    member = MemberFacts(age=30, completed_training=True)
    outside = HouseholdFacts(members=(member,))
    inside = replace(
        outside,
        members=(replace(member, in_active_group=True), member),
        in_active_group=True,
        business_months_ago=2,
        loan_in_good_standing=False,
    )
    for facts in (outside, inside):
        stored = _stored(compact.inputs_compact(facts))
        assert stored[0] == compact.CURRENT_INPUTS_FORMAT
        assert compact.expand_inputs(stored) == facts.as_dict()
    assert "loan_in_good_standing" not in compact.expand_inputs(
        _stored(compact.inputs_compact(outside))
    )
    # a dict that spells out an unset tier 3 fact is not what as_dict() gives: kept as it is
    spelled = {**outside.as_dict(), "business_months_ago": None}
    assert compact.compact_inputs(spelled) == spelled


def test_inputs_with_unknown_keys_are_kept_as_a_dict():
    inputs = {**HouseholdFacts().as_dict(), "in_new_programme": True}
    assert compact.compact_inputs(inputs) == inputs
    assert compact.expand_inputs(_stored(inputs)) == inputs


@pytest.mark.django_db
def test_compact_form_is_much_smaller(desa_lebak):
    member = MemberFacts(age=40, sex="M", relationship="head", health_insurance="pbi_jkn")
    facts = HouseholdFacts(members=(member,) * 4, monthly_expenditure=900_000, toilet="own")
    verdict = evaluate(facts, RulesInForce.load().compiled)
    full = len(json.dumps(facts.as_dict())) + len(json.dumps(verdict.as_dict()))
    small = len(compact.inputs_json(compact.inputs_compact(facts)))
    small += len(compact.verdict_compact_json(verdict))
    assert small < 0.6 * full


@pytest.mark.django_db
@pytest.mark.parametrize("copy", [False, True])
def test_assessments_are_stored_compact_and_read_as_dicts(desa_lebak, copy):
    if copy and connection.vendor != "postgresql":
        pytest.skip("COPY path needs PostgreSQL")
    household = make_household(desa_lebak, per_person=300_000, toilet="none")
    rules = RulesInForce.load()
    recalculate_chunk([household.pk], rules=rules, copy=copy)
    facts = read_facts([household.pk], timezone.localdate())
    assessment = Assessment.objects.get(household=household)
    household_facts = facts[household.pk]
    verdict = evaluate(household_facts, rules.compiled)
    assert assessment.inputs == household_facts.as_dict()
    assert assessment.verdict == verdict.as_dict()
    assert assessment.summary == verdict.summary()
    assert [line.text for line in assessment.result.lines] == [line.text for line in verdict.lines]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT inputs, verdict FROM {Assessment._meta.db_table} WHERE id = %s",  # noqa: S608
            [assessment.pk],
        )
        raw_inputs, raw_verdict = cursor.fetchone()
    raw_inputs = json.loads(raw_inputs) if isinstance(raw_inputs, str) else raw_inputs
    raw_verdict = json.loads(raw_verdict) if isinstance(raw_verdict, str) else raw_verdict
    assert raw_inputs[0] == compact.CURRENT_INPUTS_FORMAT
    assert raw_verdict[0] == compact.VERDICT_LAYOUT_FORMAT
    layout = VerdictLayout.objects.get(key=raw_verdict[1])
    assert [line[0] for line in layout.lines] == [line.code for line in verdict.lines]


@FAST
@given(facts=household_facts, rules=rule_sets, met=met_needs)
def test_a_verdict_stored_against_its_layout_reads_back_the_same(facts, rules, met):
    verdict = evaluate(replace(facts, met_needs=met), rules)
    text, key, layout = compact.verdict_stored(verdict)
    stored = json.loads(text)
    assert stored[:2] == [compact.VERDICT_LAYOUT_FORMAT, key]
    assert key == compact.layout_key(layout)
    compact._LAYOUTS.clear()  # another process: it knows the layout only from its row
    compact.remember_layout(key, _stored(layout))
    assert compact.expand_verdict(stored) == verdict.as_dict()
    again = Verdict.from_dict(compact.expand_verdict(stored))
    assert again.as_dict(with_text=True) == verdict.as_dict(with_text=True)


def test_the_layout_holds_what_every_household_repeats():
    """Two households under one rule set: one layout; per household only values remain."""
    rules = compile_rules(default_rules())
    poor = HouseholdFacts(members=(MemberFacts(age=40),), monthly_expenditure=200_000)
    better = replace(poor, monthly_expenditure=900_000, toilet="own", water_source="piped")
    first, second = evaluate(poor, rules), evaluate(better, rules)
    (text1, key1, layout), (text2, key2, _) = map(compact.verdict_stored, (first, second))
    assert key1 == key2
    assert len(text1) < 0.6 * len(compact.verdict_compact_json(first))
    need_details = [line[3] for line in layout if line[1] is not None]
    assert len(need_details) == len(NEEDS)
    assert all("critical" in detail for detail in need_details)
    assert '"critical"' not in text1
    assert '"critical"' not in text2


@pytest.mark.django_db
def test_a_layout_is_read_from_its_row_by_a_process_that_did_not_write_it(desa_lebak):
    households = [make_household(desa_lebak, per_person=p) for p in (200_000, 300_000)]
    recalculate_chunk([households[0].pk], rules=RulesInForce.load())
    recalculate_chunk([households[1].pk], rules=RulesInForce.load())
    assert VerdictLayout.objects.count() == 1  # the second chunk found it stored
    expected = [a.verdict for a in Assessment.objects.order_by("household_id")]
    compact._LAYOUTS.clear()
    with CaptureQueriesContext(connection) as queries:
        read = [a.verdict for a in Assessment.objects.order_by("household_id")]
    assert read == expected
    assert len(queries) == 2  # the assessments, then the layout once


@pytest.mark.django_db
def test_a_verdict_whose_layout_is_missing_is_a_clear_error(desa_lebak):
    household = make_household(desa_lebak, per_person=200_000)
    recalculate_chunk([household.pk], rules=RulesInForce.load())
    VerdictLayout.objects.all().delete()
    compact._LAYOUTS.clear()
    with pytest.raises(LookupError, match="verdict layout"):
        Assessment.objects.get(household=household)


@pytest.mark.django_db
def test_format_1_verdicts_still_read(desa_lebak):
    """Rows the batch wrote before layouts (format 1: every line in full) read the same."""
    household = make_household(desa_lebak, per_person=300_000)
    recalculate_chunk([household.pk], rules=RulesInForce.load())
    assessment = Assessment.objects.get(household=household)
    full = compact.verdict_compact_json(assessment.result)
    Assessment.objects.filter(pk=assessment.pk).update(verdict=json.loads(full))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT verdict FROM {Assessment._meta.db_table} WHERE id = %s",  # noqa: S608
            [assessment.pk],
        )
        raw = cursor.fetchone()[0]
    assert (json.loads(raw) if isinstance(raw, str) else raw)[0] == compact.VERDICT_FORMAT
    assert Assessment.objects.get(pk=assessment.pk).verdict == assessment.verdict


@pytest.mark.django_db
def test_assessments_stored_as_dicts_still_read(desa_lebak):
    """Rows written before the compact form read the same (no data migration needed)."""
    household = make_household(desa_lebak, per_person=300_000)
    rules = RulesInForce.load()
    recalculate_chunk([household.pk], rules=rules)
    assessment = Assessment.objects.get(household=household)
    inputs, verdict = assessment.inputs, assessment.verdict
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Assessment._meta.db_table} SET inputs = %s, verdict = %s "  # noqa: S608
            "WHERE id = %s",
            [json.dumps(inputs), json.dumps(verdict), assessment.pk],
        )
    legacy = Assessment.objects.get(pk=assessment.pk)
    assert (legacy.inputs, legacy.verdict) == (inputs, verdict)
    assert legacy.summary == assessment.summary
