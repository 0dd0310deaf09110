"""The pure evaluator: facts, each deprivation, tiers, words, storage, and its properties."""

import json
from dataclasses import replace
from datetime import date

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from households import choices as c
from interventions.evaluation import (
    SPENDING,
    CriterionLine,
    HouseholdFacts,
    MemberFacts,
    Verdict,
    age_on,
    compile_rules,
    describe_condition,
    evaluate,
)
from interventions.money import format_rupiah
from interventions.rules import default_rules, validate_rules

TODAY = date(2025, 6, 1)
RULES = validate_rules(default_rules())
FAST = settings(max_examples=100, deadline=None, database=None)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def household(**overrides):
    """A household of four with every need met, Rp 500.000 per person, desil 3."""
    data = {
        "monthly_expenditure": 2_000_000,
        "desil": 3,
        "water_source": "piped",
        "toilet": "own",
        "has_septic_tank": True,
        "floor_material": "ceramic",
        "wall_material": "masonry",
        "roof_material": "clay_tile",
        "floor_area_m2": 48,
        "lighting": "pln_900",
        "cooking_fuel": "lpg_3kg",
        "ownership": "own",
        "meals_per_day": 3,
    }
    data.update(overrides)
    return data


TRAINED_IN_GROUP = {"completed_training": True, "in_active_group": True}


def members(*changes):
    """Head 45 (working), spouse 40, children 12 (in school) and 4; ``changes`` per member."""
    base = [
        {"age": 45, "relationship": "head", "work_status": "working"},
        {"age": 40, "relationship": "spouse", "work_status": "housekeeping"},
        {
            "age": 12,
            "relationship": "child",
            "school_enrolment": "enrolled",
            "work_status": "school",
        },
        {"age": 4, "relationship": "child", "school_enrolment": "not_school_age"},
    ]
    for m in base:
        m["health_insurance"] = "pbi_jkn"
    for i, change in enumerate(changes):
        base[i].update(change)
    return base


def verdict(hh=None, ms=None, rules=RULES):
    hh = household() if hh is None else hh
    return evaluate(HouseholdFacts.from_dicts(hh, members() if ms is None else ms, TODAY), rules)


def rules_with(**changes):
    rules = default_rules()
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = rules
        for key in parents:
            node = node[key]
        node[last] = value
    return validate_rules(rules)


# --- money and facts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "Rp 0"),
        (999, "Rp 999"),
        (391_000, "Rp 391.000"),
        (1_200_000, "Rp 1.200.000"),
        (684_232, "Rp 684.232"),
        (-5_000, "-Rp 5.000"),
    ],
)
def test_format_rupiah(amount, text):
    assert format_rupiah(amount) == text


@pytest.mark.parametrize("amount", [1.5, "100", None, True])
def test_format_rupiah_refuses_what_is_not_whole_rupiah(amount):
    with pytest.raises(TypeError):
        format_rupiah(amount)


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2000, 6, 1), date(2025, 6, 1), 25),
        (date(2000, 6, 2), date(2025, 6, 1), 24),
        (date(2008, 2, 29), date(2025, 2, 28), 16),
        (date(2008, 2, 29), date(2025, 3, 1), 17),
    ],
)
def test_age_on(birth, today, age):
    assert age_on(birth, today) == age


def test_facts_from_dicts_derive_ages_spending_and_area():
    facts = HouseholdFacts.from_dicts(
        household(monthly_expenditure=1_000_001, floor_area_m2=21, unknown_key="ignored"),
        [
            {"birth_date": date(1980, 6, 2), "health_insurance": "none", "education": None},
            {"birth_date": "2015-01-31", "completed_training": 1},
            {"age": 70, "chronic_illness": True},
        ],
        TODAY,
    )
    assert [m.age for m in facts.members] == [44, 10, 70]
    assert facts.members[0].education == ""
    assert facts.members[1].completed_training is True
    assert facts.member_count == 3
    assert facts.spending_per_person == 333_333
    assert facts.floor_area_per_person == 7.0


def test_unknown_figures_stay_unknown():
    facts = HouseholdFacts.from_dicts({"monthly_expenditure": None, "desil": ""}, [], TODAY)
    assert facts.spending_per_person is None
    assert facts.floor_area_per_person is None
    assert facts.desil is None
    assert facts.has_septic_tank is None
    no_members = HouseholdFacts(monthly_expenditure=500_000)
    assert no_members.spending_per_person is None


def test_facts_snapshot_reads_back_to_the_same_facts():
    facts = HouseholdFacts.from_dicts(household(), members(), TODAY)
    snapshot = json.loads(json.dumps(facts.as_dict()))
    assert snapshot["spending_per_person"] == 500_000
    assert HouseholdFacts.from_snapshot(snapshot, date(2030, 1, 1)) == facts


# --- deprivations -----------------------------------------------------------------------------

CHILD_10 = {"age": 10, "school_enrolment": "enrolled"}


@pytest.mark.parametrize(
    ("need", "hh", "ms", "unmet"),
    [
        ("food", {"meals_per_day": 1}, None, True),
        ("food", {"meals_per_day": 0}, None, True),
        ("food", {"meals_per_day": 2}, None, False),
        ("food", {"meals_per_day": None}, None, False),
        ("water", {"water_source": "unprotected_well"}, None, True),
        ("water", {"water_source": "unprotected_spring"}, None, True),
        ("water", {"water_source": "river"}, None, True),
        ("water", {"water_source": ""}, None, True),
        ("water", {"water_source": "protected_well"}, None, False),
        ("water", {"water_source": "bottled"}, None, False),
        ("sanitation", {"toilet": "none", "has_septic_tank": None}, None, True),
        ("sanitation", {"toilet": "public"}, None, True),
        ("sanitation", {"toilet": "own", "has_septic_tank": False}, None, True),
        ("sanitation", {"toilet": "shared", "has_septic_tank": False}, None, True),
        ("sanitation", {"toilet": "shared", "has_septic_tank": True}, None, False),
        ("sanitation", {"toilet": "own", "has_septic_tank": None}, None, False),
        ("health", {}, members({}, {"health_insurance": "none"}), True),
        ("health", {}, members({"health_insurance": "jkn_contributor"}), False),
        ("education", {}, members({}, {}, {**CHILD_10, "school_enrolment": "dropped_out"}), True),
        ("education", {}, members({}, {}, {**CHILD_10, "school_enrolment": "not_enrolled"}), True),
        ("education", {}, members({}, {}, {"age": 7, "school_enrolment": "not_enrolled"}), True),
        ("education", {}, members({}, {}, {"age": 18, "school_enrolment": "dropped_out"}), True),
        ("education", {}, members({}, {}, {"age": 19, "school_enrolment": "dropped_out"}), False),
        ("education", {}, members({}, {}, {"age": 6, "school_enrolment": "not_enrolled"}), False),
        ("education", {}, members({}, {}, CHILD_10), False),
        ("housing", {"floor_material": "earth"}, None, True),
        ("housing", {"floor_material": "bamboo"}, None, True),
        ("housing", {"wall_material": "bamboo"}, None, True),
        ("housing", {"wall_material": "woven_bamboo"}, None, True),
        ("housing", {"roof_material": "thatch"}, None, True),
        ("housing", {"roof_material": "bamboo"}, None, True),
        ("housing", {"floor_area_m2": 31}, None, True),  # 7.75 m² per person
        ("housing", {"floor_area_m2": 32}, None, False),  # 8 m² per person
        ("housing", {"floor_area_m2": None}, None, False),
        ("housing", {"floor_material": "wood", "wall_material": "wood"}, None, False),
        ("information", {"lighting": "none"}, None, True),
        ("information", {"lighting": "non_pln"}, None, False),
    ],
)
def test_each_deprivation(need, hh, ms, unmet):
    v = verdict(household(**hh), ms)
    assert (need in v.unmet_needs) is unmet
    assert v.line(f"need.{need}").passed is not unmet
    assert set(v.unmet_needs) <= {need}
    critical = need != "information"
    assert (need in v.unmet_critical_needs) is (unmet and critical)


def test_a_fully_provided_household_has_no_unmet_need():
    v = verdict()
    assert v.unmet_needs == ()
    assert not v.extreme_poor
    assert v.spending_per_person == 500_000


# --- extreme poverty and tiers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "spending", "desil", "extreme_poor"),
    [
        ("spending_or_desil", 390_999, 5, True),
        ("spending_or_desil", 391_000, 5, False),
        ("spending_or_desil", 500_000, 1, True),
        ("spending_or_desil", None, None, False),
        ("spending_and_desil", 300_000, 5, False),
        ("spending_and_desil", 300_000, 1, True),
        ("spending_and_desil", 500_000, 1, False),
        ("spending_only", 300_000, 9, True),
        ("spending_only", 500_000, 1, False),
    ],
)
def test_extreme_poor_rule(rule, spending, desil, extreme_poor):
    expenditure = None if spending is None else spending * 4
    v = verdict(
        household(monthly_expenditure=expenditure, desil=desil),
        rules=rules_with(extreme_poor_rule=rule),
    )
    assert v.extreme_poor is extreme_poor


def test_desil_cutoff_is_inclusive():
    v = verdict(household(desil=2), rules=rules_with(desil_cutoff=2))
    assert v.extreme_poor
    assert v.desil_within_cutoff


@pytest.mark.parametrize(
    ("hh", "ms", "tier2", "tier3", "tier"),
    [
        ({"water_source": "river"}, None, False, False, 1),
        ({}, None, True, False, 2),
        ({}, members(TRAINED_IN_GROUP), True, True, 3),
        ({"lighting": "none"}, members(TRAINED_IN_GROUP), True, True, 3),
        ({}, members({"completed_training": True}), True, False, 2),  # not in a group
        ({}, members({"completed_training": True}, {"in_active_group": True}), True, False, 2),
        ({}, members({"work_status": "unable"}, {"work_status": "unable"}), False, False, 1),
        ({}, members({"age": 70}, {"age": 65}), False, False, 1),
        ({}, members({"age": 70}, {"age": 64}), True, False, 2),
        ({"toilet": "none"}, members({"completed_training": True}), False, False, 1),
    ],
)
def test_tier_eligibility(hh, ms, tier2, tier3, tier):
    v = verdict(household(**hh), ms)
    assert (v.eligible_tier2, v.eligible_tier3, v.recommended_tier) == (tier2, tier3, tier)


def test_tier3_needs_the_same_member_trained_and_in_an_active_group():
    trained = members({"completed_training": True})
    assert verdict(household(), trained).recommended_tier == 2
    assert not verdict(household(), trained).line("tier3.active_group").passed
    in_group = verdict(household(in_active_group=True), members(TRAINED_IN_GROUP))
    assert in_group.recommended_tier == 3
    assert in_group.line("tier3.active_group").passed
    assert in_group.line("tier3.active_group").value == 1


def test_a_rule_set_may_drop_the_group_requirement():
    rules = rules_with(tiers__tier3={"requires_active_group": False})
    assert verdict(household(), members({"completed_training": True}), rules).recommended_tier == 3


@pytest.mark.parametrize(
    ("facts", "passed"),
    [
        ({}, False),
        ({"business_months_ago": 2}, True),
        ({"business_months_ago": 3}, True),
        ({"business_months_ago": 4}, False),
        ({"business_months_ago": 9, "loan_in_good_standing": True}, True),
        ({"loan_in_good_standing": False}, False),
    ],
)
def test_graduation_from_tier3_needs_a_running_business_or_a_sound_loan(facts, passed):
    line = verdict(household(**facts), members(TRAINED_IN_GROUP)).line("graduation.business")
    assert line.passed is passed


@pytest.mark.parametrize(
    ("spending_above", "spending", "hh", "meets"),
    [
        ("extreme", 391_000, {}, True),
        ("extreme", 390_999, {}, False),
        ("extreme", None, {}, False),
        ("extreme", 500_000, {"water_source": "river"}, False),
        ("extreme", 500_000, {"lighting": "none"}, True),  # information is not critical
        ("provincial", 600_000, {}, False),
        ("provincial", 684_232, {}, True),
    ],
)
def test_meets_graduation(spending_above, spending, hh, meets):
    expenditure = None if spending is None else spending * 4
    rules = rules_with(graduation__spending_above=spending_above)
    v = verdict(household(monthly_expenditure=expenditure, **hh), rules=rules)
    assert v.meets_graduation is meets


# --- words ------------------------------------------------------------------------------------

POOR = {"monthly_expenditure": 1_240_000, "water_source": "unprotected_well", "toilet": "none"}


def test_summary_names_the_numbers_and_the_needs():
    v = verdict(household(**POOR))
    assert v.summary() == (
        "Tier 1 because spending is Rp 310.000 per person per month, below the extreme-poverty "
        "line of Rp 391.000, and the household has no safe drinking water and no decent "
        "sanitation."
    )


def test_a_need_label_words_the_summary():
    rules = default_rules()
    rules["deprivations"]["sanitation"]["label"] = "no toilet"
    v = verdict(household(**POOR), rules=validate_rules(rules))
    assert v.summary() == (
        "Tier 1 because spending is Rp 310.000 per person per month, below the extreme-poverty "
        "line of Rp 391.000, and the household has no safe drinking water and no toilet."
    )


@pytest.mark.parametrize(
    ("hh", "ms", "summary"),
    [
        ({}, None, "Tier 2 because every critical need is met and 2 members aged 15–64 can train."),
        (
            {},
            members(TRAINED_IN_GROUP),
            "Tier 3 because every critical need is met, 1 member has completed training and a "
            "member who completed training is active in an active group.",
        ),
        (
            {"monthly_expenditure": 4_000_000, "desil": 1, "roof_material": "thatch"},
            None,
            "Tier 1 because the household is in desil 1, within the cut-off of desil 1, and the "
            "household has no decent housing.",
        ),
        (
            {},
            members({"age": 70}, {"age": 80}),
            "Tier 1 because 0 members aged 15–64 can train while tier 2 needs at least 1.",
        ),
    ],
)
def test_summary_for_each_tier(hh, ms, summary):
    assert verdict(household(**hh), ms).summary() == summary


def test_criterion_lines_in_words():
    ms = members({}, {"health_insurance": "none"}, {"age": 10, "school_enrolment": "dropped_out"})
    v = verdict(household(**POOR, floor_area_m2=20), ms)
    texts = {line.code: line.text for line in v.lines}
    assert texts[SPENDING] == (
        "Spending is Rp 310.000 per person per month, below the extreme-poverty line of Rp 391.000."
    )
    assert texts["spending_provincial"] == (
        "Spending is Rp 310.000 per person per month, below the provincial poverty line of "
        "Rp 684.232."
    )
    assert (
        texts["need.water"] == "No safe drinking water (drinking water source: unprotected well)."
    )
    assert texts["need.sanitation"] == "No decent sanitation (toilet: no toilet)."
    assert texts["need.health"] == (
        "No health cover for every member (1 member whose health insurance is none)."
    )
    assert texts["need.education"] == (
        "A school-age child out of school (1 member aged 7–18 whose school enrolment is never "
        "enrolled or dropped out)."
    )
    assert texts["need.housing"] == ("No decent housing (floor area per person (m²): 5).")
    assert texts["need.food"] == "Food: met (meals per day: 3)."
    assert texts["need.information"] == (
        "Information and social services: met (lighting: PLN metered 900 VA)."
    )
    assert texts["extreme_poor"] == "Extreme poor: spending below the extreme-poverty line."
    assert texts["desil"] == "The household is in desil 3, above the cut-off of desil 1."
    assert texts["tier2.critical_needs"] == (
        "5 critical needs are unmet (clean drinking water, sanitation, health, education and "
        "decent housing); tier 2 allows at most 0."
    )
    assert texts["tier2.working_age_members"] == (
        "2 members aged 15–64 can train; tier 2 needs at least 1."
    )
    assert texts["graduation.spending"] == (
        "Spending is Rp 310.000 per person per month, below the extreme-poverty line of "
        "Rp 391.000; graduation needs at least that line."
    )
    line = v.line("need.water")
    assert (line.need, line.passed, line.threshold) == ("water", False, None)
    assert line.value == [{"field": "water_source", "value": "unprotected_well"}]


def test_sanitation_without_septic_tank_names_both_facts():
    v = verdict(household(toilet="shared", has_septic_tank=False))
    assert v.line("need.sanitation").text == (
        "No decent sanitation (toilet: shared toilet; septic tank: no)."
    )


def test_a_decimal_fact_is_written_as_the_language_writes_it():
    area = {"field": "floor_area_per_person", "op": "<", "value": 7.5}
    assert describe_condition(area) == "floor area per person (m²) is below 7.5"
    with translation.override("id"):
        assert describe_condition(area).endswith("kurang dari 7,5")


def test_a_yes_no_criterion_reads_as_with_or_without():
    leaf = {"field": "has_septic_tank", "op": "==", "value": False}
    assert describe_condition(leaf) == "without septic tank"
    assert describe_condition({**leaf, "op": "!=", "value": False}) == "with septic tank"
    toilet = {"field": "toilet", "op": "in", "value": ["own", "shared"]}
    both = {"op": "all", "value": [toilet, leaf]}
    assert describe_condition(both).endswith("and without septic tank")
    with translation.override("id"):
        assert describe_condition(leaf) == "tanpa tangki septik"


def test_unknown_values_are_said_to_be_unknown():
    v = verdict(household(monthly_expenditure=None, desil=None, water_source=""))
    assert v.line(SPENDING).text == (
        "Spending per person is not known (expenditure or members not recorded)."
    )
    assert not v.line(SPENDING).passed
    assert v.line("desil").text == "The welfare decile (desil) is not recorded."
    assert (
        v.line("need.water").text == "No safe drinking water (drinking water source: not recorded)."
    )


def test_verdict_stores_as_json_and_reads_back_the_same():
    v = verdict(household(**POOR), members({}, {"health_insurance": "none"}))
    stored = json.loads(json.dumps(v.as_dict()))
    assert "text" not in stored["lines"][0]
    again = Verdict.from_dict(stored)
    assert again == v
    assert again.summary() == v.summary()
    assert [line.text for line in again.lines] == [line.text for line in v.lines]


def test_verdict_as_dict_with_text_for_display():
    v = verdict(household(**POOR))
    data = json.loads(json.dumps(v.as_dict(with_text=True)))
    assert data["summary"] == v.summary()
    assert data["lines"][0]["text"] == v.lines[0].text
    assert data["recommended_tier"] == 1
    assert data["unmet_critical_needs"] == ["water", "sanitation"]


def test_words_follow_the_active_language_after_evaluation():
    v = verdict(household(**POOR))
    line = v.line(SPENDING)
    assert isinstance(line, CriterionLine)
    with translation.override("id"):
        indonesian = line.text
    assert "Rp 310.000" in indonesian  # worded on access: never frozen at evaluation time


def test_compiled_and_plain_rules_give_the_same_verdict():
    facts = HouseholdFacts.from_dicts(household(**POOR), members(), TODAY)
    assert evaluate(facts, compile_rules(RULES)) == evaluate(facts, RULES)


# --- properties -------------------------------------------------------------------------------


def _choice(choices):
    return st.sampled_from(["", *choices.values])


member_facts = st.builds(
    MemberFacts,
    age=st.one_of(st.none(), st.integers(0, 90)),
    sex=_choice(c.Sex),
    school_enrolment=_choice(c.SchoolEnrolment),
    work_status=_choice(c.WorkStatus),
    disability=_choice(c.Disability),
    chronic_illness=st.one_of(st.none(), st.booleans()),
    health_insurance=_choice(c.HealthInsurance),
    completed_training=st.booleans(),
    in_active_group=st.booleans(),
)

household_facts = st.builds(
    HouseholdFacts,
    members=st.lists(member_facts, max_size=6).map(tuple),
    monthly_expenditure=st.one_of(st.none(), st.integers(0, 6_000_000)),
    desil=st.one_of(st.none(), st.integers(1, 10)),
    water_source=_choice(c.WaterSource),
    toilet=_choice(c.Toilet),
    has_septic_tank=st.one_of(st.none(), st.booleans()),
    floor_material=_choice(c.FloorMaterial),
    wall_material=_choice(c.WallMaterial),
    roof_material=_choice(c.RoofMaterial),
    floor_area_m2=st.one_of(st.none(), st.integers(0, 200)),
    lighting=_choice(c.Lighting),
    meals_per_day=st.one_of(st.none(), st.integers(0, 4)),
    in_active_group=st.one_of(st.none(), st.booleans()),
    business_months_ago=st.one_of(st.none(), st.integers(0, 8)),
    loan_in_good_standing=st.one_of(st.none(), st.booleans()),
)

rule_sets = st.builds(
    lambda rule, cutoff, group, trained, spending_above, business, within: rules_with(
        extreme_poor_rule=rule,
        desil_cutoff=cutoff,
        tiers__tier3={
            "requires_active_group": group,
            "min_trained_members": trained if group else max(1, trained),
        },
        graduation__spending_above=spending_above,
        graduation__tier3_requires_business=business,
        graduation__business_within_months=within,
    ),
    st.sampled_from(["spending_or_desil", "spending_and_desil", "spending_only"]),
    st.integers(1, 4),
    st.booleans(),
    st.integers(0, 3),
    st.sampled_from(["extreme", "provincial"]),
    st.booleans(),
    st.integers(0, 6),
)


@FAST
@given(facts=household_facts, rules=rule_sets)
def test_evaluate_is_deterministic(facts, rules):
    first = evaluate(facts, rules)
    again = evaluate(replace(facts), json.loads(json.dumps(rules)))
    assert first == again
    assert first.as_dict(with_text=True) == again.as_dict(with_text=True)
    assert Verdict.from_dict(json.loads(json.dumps(first.as_dict()))) == first


@FAST
@given(facts=household_facts, rules=rule_sets)
def test_verdict_is_internally_consistent(facts, rules):
    v = evaluate(facts, rules)
    assert set(v.unmet_critical_needs) <= set(v.unmet_needs)
    assert v.eligible_tier3 <= v.eligible_tier2
    assert v.recommended_tier == (3 if v.eligible_tier3 else 2 if v.eligible_tier2 else 1)
    assert not (v.meets_graduation and v.below_extreme_line)
    assert v.summary().startswith(f"Tier {v.recommended_tier}")
    assert all(line.text for line in v.lines)


@FAST
@given(
    facts=household_facts,
    rules=rule_sets,
    lines=st.lists(st.integers(1, 684_232), min_size=2, max_size=2, unique=True).map(sorted),
)
def test_raising_the_extreme_line_never_makes_a_household_less_poor(facts, rules, lines):
    low, high = lines
    before = evaluate(facts, {**rules, "extreme_poverty_line": low})
    after = evaluate(facts, {**rules, "extreme_poverty_line": high})
    assert before.extreme_poor <= after.extreme_poor
    assert before.below_extreme_line <= after.below_extreme_line
    assert after.recommended_tier == before.recommended_tier  # tiers depend on needs, not lines
    if rules["graduation"]["spending_above"] == "extreme":
        assert after.meets_graduation <= before.meets_graduation
