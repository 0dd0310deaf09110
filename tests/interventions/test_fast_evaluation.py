"""The batch evaluator agrees with the reference `evaluate` on any household and rule set."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from interventions import fast_evaluation
from interventions.evaluation import compile_rules, evaluate
from interventions.fast_evaluation import Evaluator
from interventions.rules import NEEDS
from tests.interventions.test_evaluation import FAST, household_facts, rule_sets, rules_with

met_needs = st.lists(st.sampled_from(NEEDS), unique=True, max_size=3).map(tuple)


@FAST
@given(rules=rule_sets, households=st.lists(household_facts, min_size=1, max_size=8), met=met_needs)
def test_agrees_with_evaluate(rules, households, met):
    compiled = compile_rules(rules)
    fast = Evaluator(compiled)
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
