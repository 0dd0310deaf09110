"""The batch evaluator agrees with the reference `evaluate` on any household and rule set."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interventions import fast_evaluation
from interventions.evaluation import (
    GRADUATION_BUSINESS,
    TIER3_GROUP,
    HouseholdFacts,
    MemberFacts,
    compile_rules,
    evaluate,
)
from interventions.fast_evaluation import Evaluator
from interventions.rules import NEEDS
from tests.interventions.test_evaluation import FAST, household_facts, rule_sets, rules_with

met_needs = st.lists(st.sampled_from(NEEDS), unique=True, max_size=3).map(tuple)


@FAST
@given(rules=rule_sets, households=st.lists(household_facts, min_size=1, max_size=8), met=met_needs)
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
@given(households=st.lists(household_facts, min_size=3, max_size=8))
def test_remembered_lines_are_bounded(households):
    compiled = compile_rules(rules_with())
    fast = Evaluator(compiled)
    limit, fast_evaluation.MEMO_LIMIT = fast_evaluation.MEMO_LIMIT, 2
    try:
        for facts in households:
            assert fast(facts) == evaluate(facts, compiled)
        assert all(len(memo) <= 2 for _, _, memo in fast.needs)
    finally:
        fast_evaluation.MEMO_LIMIT = limit
