"""The batch evaluator agrees with the reference `evaluate` on any household and rule set."""

import itertools
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from households import choices as c
from interventions import fast_evaluation
from interventions.evaluation import (
    GRADUATION_BUSINESS,
    TIER2_WORKING,
    TIER3_GROUP,
    TIER3_TRAINED,
    HouseholdFacts,
    MemberFacts,
    compile_rules,
    evaluate,
)
from interventions.fast_evaluation import MAX_MEMBERS, Evaluator
from interventions.rules import NEEDS, validate_rules
from tests.interventions.test_evaluation import (
    FAST,
    household_facts,
    member_facts,
    rule_sets,
    rules_with,
)

met_needs = st.lists(st.sampled_from(NEEDS), unique=True, max_size=3).map(tuple)


def _leaf(field, op, value):
    return {"field": field, "op": op, "value": value}


def _some(choices):
    return st.lists(st.sampled_from(choices.values), min_size=1, max_size=3, unique=True)


def _choice(choices):
    return st.sampled_from(choices.values)


BOOLS = st.booleans()


member_leaves = st.one_of(
    st.builds(_leaf, st.just("health_insurance"), st.just("=="), _choice(c.HealthInsurance)),
    st.builds(_leaf, st.just("school_enrolment"), st.just("in"), _some(c.SchoolEnrolment)),
    st.builds(_leaf, st.just("work_status"), st.just("not_in"), _some(c.WorkStatus)),
    st.builds(_leaf, st.just("disability"), st.just("!="), _choice(c.Disability)),
    st.builds(_leaf, st.just("age"), st.sampled_from(["<", "<=", ">", ">="]), st.integers(0, 90)),
    st.builds(_leaf, st.just("chronic_illness"), st.sampled_from(["==", "is_empty"]), BOOLS),
    st.builds(_leaf, st.just("completed_training"), st.just("=="), BOOLS),
)

household_leaves = st.one_of(
    st.builds(_leaf, st.just("member_count"), st.sampled_from([">=", "<"]), st.integers(0, 6)),
    st.builds(_leaf, st.just("meals_per_day"), st.just("<"), st.integers(0, 4)),
    st.builds(_leaf, st.just("toilet"), st.just("in"), _some(c.Toilet)),
    st.builds(_leaf, st.just("floor_area_per_person"), st.just("<"), st.integers(0, 20)),
    st.builds(_leaf, st.just("spending_per_person"), st.just("<"), st.integers(0, 1_500_000)),
    st.builds(_leaf, st.just("has_septic_tank"), st.just("is_empty"), st.booleans()),
    st.builds(_leaf, st.just("lighting"), st.just("!="), _choice(c.Lighting)),
)


member_wheres = (
    st.none()
    | member_leaves
    | st.lists(member_leaves, min_size=1, max_size=3).map(lambda p: {"op": "all", "value": p})
)


@st.composite
def member_conditions(draw, wheres=member_wheres):
    """any_member or count_members (min, max or both), on ages and a nested (all) condition."""
    op = draw(st.sampled_from(["any_member", "count_members"]))
    age_min = draw(st.none() | st.integers(0, 20))
    age_max = draw(st.none() | st.integers(age_min or 0, 90))
    where = draw(wheres)
    condition = {
        "field": "members",
        "op": op,
        "value": where,
        "age_min": age_min,
        "age_max": age_max,
    }
    if op == "count_members":
        low = draw(st.none() | st.integers(0, 3))
        high = draw(st.integers(low or 0, 5)) if low is None or draw(st.booleans()) else None
        condition.update(min=low, max=high)
    return condition


@st.composite
def custom_rule_sets(draw):
    """`rule_sets` with some needs' criteria replaced: household and member conditions, alone
    or mixed in "all", drawn from a small pool so that the same member condition comes back
    (within a need and across needs), and the same nested condition with other bounds."""
    rules = draw(rule_sets)
    wheres = st.sampled_from(draw(st.lists(member_wheres, min_size=1, max_size=2)))
    pool = draw(st.lists(member_conditions(wheres), min_size=1, max_size=4))
    member = st.sampled_from(pool)
    part = household_leaves | member
    criterion = (
        household_leaves
        | member
        | st.lists(part, min_size=1, max_size=3).map(lambda p: {"op": "all", "value": p})
    )
    deprivations = dict(rules["deprivations"])
    for need in draw(st.lists(st.sampled_from(NEEDS), unique=True, max_size=len(NEEDS))):
        deprivations[need] = {
            "critical": draw(st.booleans()),
            "label": "",
            "criteria": draw(st.lists(criterion, max_size=3)),
        }
    return validate_rules({**rules, "deprivations": deprivations})


@st.composite
def households_sharing_members(draw, max_size=8):
    """Households whose members are, mostly, the SAME MemberFacts objects (as a batch chunk
    shares them): in several households and several times in one. Some have no members, some
    fresh ones, and some as many as the packed lanes hold or more (`MAX_MEMBERS`)."""
    pool = draw(st.lists(member_facts, min_size=1, max_size=4))
    picked = st.lists(st.integers(0, len(pool) - 1), max_size=8).map(
        lambda picks: tuple(pool[i] for i in picks)
    )
    many = st.sampled_from([MAX_MEMBERS - 1, MAX_MEMBERS, MAX_MEMBERS + 40]).map(
        lambda n: tuple(pool[i % len(pool)] for i in range(n))
    )
    members = st.one_of(
        picked, picked, picked, st.lists(member_facts, max_size=4).map(tuple), st.just(()), many
    )
    household = st.builds(replace, household_facts, members=members)
    return draw(st.lists(household, min_size=1, max_size=max_size))


@FAST
@given(
    rules=rule_sets | custom_rule_sets(),
    households=households_sharing_members(),
    met=met_needs,
)
def test_agrees_with_evaluate(rules, households, met):
    compiled = compile_rules(rules)
    fast = Evaluator(compiled)
    assert fast.supported  # the generated rule sets take the fast path, not `evaluate`
    # twice over: the second pass reads the remembered need lines
    for facts in [*households, *households, replace(households[0], met_needs=met)]:
        verdict = fast(facts)
        assert verdict == evaluate(facts, compiled)
        assert verdict.as_dict(with_text=True) == evaluate(facts, compiled).as_dict(with_text=True)


@FAST
@given(households=st.lists(household_facts, min_size=1, max_size=4))
def test_a_rule_set_it_does_not_know_is_evaluated_by_the_reference(households):
    rules = {**rules_with(), "new_criterion": {"op": "something"}}
    fast = Evaluator(compile_rules(rules))
    assert not fast.supported
    for facts in households:
        assert fast(facts) == evaluate(facts, compile_rules(rules))


def test_rules_with_unknown_tier_or_graduation_keys_are_not_supported():
    rules = rules_with()
    assert not Evaluator.supports({**rules, "graduation": {**rules["graduation"], "new": 1}})
    tiers = {**rules["tiers"], "tier3": {**rules["tiers"]["tier3"], "requires_loan": True}}
    assert not Evaluator.supports({**rules, "tiers": tiers})


def test_the_default_rules_are_supported():
    assert Evaluator(compile_rules(rules_with())).supported


@pytest.mark.django_db
def test_the_rule_set_in_force_takes_the_fast_path():
    from interventions.recalculation import RulesInForce

    assert RulesInForce.load().evaluator.supported


WORKING = {"age": 30, "work_status": "employed"}
TRAINED = MemberFacts(**WORKING, completed_training=True)
IN_GROUP = MemberFacts(**WORKING, in_active_group=True)
BOTH = MemberFacts(**WORKING, completed_training=True, in_active_group=True)


@pytest.mark.parametrize(
    ("members", "business", "loan"),
    [
        ((TRAINED, IN_GROUP), None, None),  # trained and in a group, but not the same member
        ((BOTH,), 2, None),
        ((BOTH, TRAINED), 5, False),
        ((BOTH, BOTH), None, True),
        ((IN_GROUP,), 0, True),
    ],
)
@pytest.mark.parametrize("min_trained", [0, 1, 2])
def test_tier3_group_and_business_lines_agree(members, business, loan, min_trained):
    rules = rules_with(
        tiers__tier3={"requires_active_group": True, "min_trained_members": min_trained}
    )
    compiled = compile_rules(rules)
    facts = HouseholdFacts(
        members=members,
        monthly_expenditure=3_000_000,
        desil=1,
        in_active_group=True,
        business_months_ago=business,
        loan_in_good_standing=loan,
    )
    fast = Evaluator(compiled)
    assert fast.supported
    verdict = fast(facts)
    assert verdict == evaluate(facts, compiled)
    assert verdict.as_dict(with_text=True) == evaluate(facts, compiled).as_dict(with_text=True)
    assert verdict.line(TIER3_GROUP) is not None
    assert verdict.line(GRADUATION_BUSINESS) is not None


@FAST
@given(
    rules=rule_sets | custom_rule_sets(),
    households=households_sharing_members(max_size=12).filter(lambda hs: len(hs) >= 3),
)
def test_remembered_lines_are_bounded(rules, households):
    compiled = compile_rules(rules)
    fast = Evaluator(compiled)
    limit, fast_evaluation.MEMO_LIMIT = fast_evaluation.MEMO_LIMIT, 2
    try:
        for facts in [*households, *households]:
            assert fast(facts) == evaluate(facts, compiled)
        memos = [memo for *_, memo in fast.needs]
        memos += [fast.packs, fast.heads, fast.tier_memo, fast.business_memo]
        assert all(len(memo) <= 2 for memo in memos)
    finally:
        fast_evaluation.MEMO_LIMIT = limit


# --- members: packed counts -------------------------------------------------------------------

UNINSURED_CHILD = MemberFacts(age=10, health_insurance="none", school_enrolment="dropped_out")
INSURED_ADULT = MemberFacts(**WORKING, health_insurance="pbi_jkn", completed_training=True)


def _count(where=None, low=None, high=None, age_min=None, age_max=None):
    return {
        "field": "members",
        "op": "count_members",
        "value": where,
        "age_min": age_min,
        "age_max": age_max,
        "min": low,
        "max": high,
    }


def _custom_rules():
    """Member conditions of every kind: count_members with min, max or both, nested all with
    household and member parts, the same selector twice in a need and in two needs."""
    uninsured = _leaf("health_insurance", "==", "none")
    out_of_school = _leaf("school_enrolment", "in", ["not_enrolled", "dropped_out"])
    return rules_with(
        deprivations__health={
            "critical": True,
            "criteria": [_count(uninsured, low=2), _count(uninsured, low=2)],
        },
        deprivations__education={
            "critical": True,
            "criteria": [
                _count(uninsured, low=1, age_max=12),  # as in health, but only children
                {
                    "op": "all",
                    "value": [
                        _leaf("member_count", ">=", 3),
                        _count({"op": "all", "value": [out_of_school, uninsured]}, 1, 3, 7, 18),
                    ],
                },
                _count(high=0),  # no members at all
            ],
        },
        deprivations__information={
            "critical": False,
            "criteria": [_count(uninsured, low=2), _leaf("lighting", "==", "none")],
        },
    )


@pytest.mark.parametrize(
    "members",
    [
        (),
        (UNINSURED_CHILD,),
        (UNINSURED_CHILD, UNINSURED_CHILD),  # the same object twice in one household
        (UNINSURED_CHILD, INSURED_ADULT, UNINSURED_CHILD),
        (INSURED_ADULT, UNINSURED_CHILD, UNINSURED_CHILD, UNINSURED_CHILD, UNINSURED_CHILD),
    ],
)
def test_custom_member_conditions_on_shared_members_agree(members):
    compiled = compile_rules(_custom_rules())
    fast = Evaluator(compiled)
    # the same objects in other households first, then this one twice (remembered the 2nd time)
    others = [HouseholdFacts(members=(m,), lighting="none") for m in members]
    for facts in [*others, HouseholdFacts(members=members), HouseholdFacts(members=members)]:
        verdict = fast(facts)
        assert verdict == evaluate(facts, compiled)
        assert verdict.as_dict(with_text=True) == evaluate(facts, compiled).as_dict(with_text=True)


def test_equal_member_conditions_share_a_lane():
    fast = Evaluator(compile_rules(_custom_rules()))
    # uninsured (health twice, information once), uninsured aged 12 or under, out of school
    # and uninsured aged 7-18, any member
    assert len(fast.selectors) == 4


UNABLE = MemberFacts(age=40, work_status="unable", health_insurance="none", chronic_illness=True)
ELDER = MemberFacts(age=70, health_insurance="none", completed_training=True, in_active_group=True)
SOME_MEMBERS = (TRAINED, IN_GROUP, BOTH, UNINSURED_CHILD, INSURED_ADULT, UNABLE, ELDER)


@pytest.mark.parametrize(
    "rules",
    [
        rules_with(),
        rules_with(tiers__tier3={"requires_active_group": False, "min_trained_members": 2}),
        rules_with(tiers__tier3={"requires_active_group": True, "min_trained_members": 0}),
        _custom_rules(),
    ],
)
def test_one_evaluator_on_every_mix_of_shared_members(rules):
    """Remembered lanes and lines never leak between households: every mix of up to three
    members (shared objects, repeated), in both orders of evaluation, with one evaluator."""
    compiled = compile_rules(rules)
    fast = Evaluator(compiled)
    mixes = [
        members
        for size in range(4)
        for members in itertools.combinations_with_replacement(SOME_MEMBERS, size)
    ]
    households = [
        HouseholdFacts(members=members, monthly_expenditure=1_500_000, desil=2, lighting=light)
        for members in mixes
        for light in ("none", "pln_900")
    ]
    for facts in [*households, *reversed(households)]:
        assert fast(facts) == evaluate(facts, compiled)


@pytest.mark.parametrize("size", [MAX_MEMBERS - 1, MAX_MEMBERS, MAX_MEMBERS + 1, 600])
def test_households_beyond_the_lanes_go_to_evaluate(size, monkeypatch):
    compiled = compile_rules(
        rules_with(
            deprivations__health={"critical": True, "criteria": [_count(low=MAX_MEMBERS - 1)]},
        )
    )
    fast = Evaluator(compiled)
    members = (MemberFacts(**WORKING, completed_training=True, in_active_group=True),) * size
    facts = HouseholdFacts(members=members, monthly_expenditure=100_000_000, desil=1)
    referred = []
    monkeypatch.setattr(
        fast_evaluation, "evaluate", lambda *args: referred.append(args) or evaluate(*args)
    )
    verdict = fast(facts)
    assert verdict == evaluate(facts, compiled)
    assert verdict.line(TIER2_WORKING).value == size
    assert verdict.line(TIER3_TRAINED).value == size
    assert verdict.line(TIER3_GROUP).value == size
    assert verdict.line("need.health").value == [
        {"members": size, "age_min": None, "age_max": None, "where": None}
    ]
    assert len(referred) == (size >= MAX_MEMBERS)


def test_a_reused_id_is_not_taken_for_another_member():
    compiled = compile_rules(_custom_rules())
    fast = Evaluator(compiled)
    member = UNINSURED_CHILD
    # as if another member, since gone, had had this id: its lanes must not be read
    fast.packs[id(member)] = (INSURED_ADULT, fast._pack(INSURED_ADULT)[1])
    facts = HouseholdFacts(members=(member, member))
    assert fast(facts) == evaluate(facts, compiled)
    assert fast.packs[id(member)][0] is member
