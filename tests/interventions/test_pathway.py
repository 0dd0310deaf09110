"""The tier pathway: transition tables, guards, reasons, manual overrides and random walks."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from interventions.evaluation import HouseholdFacts, compile_rules, evaluate
from interventions.pathway import (
    ACTIVE_STATES,
    ALLOWED,
    ALLOWED_MANUAL,
    EXITED,
    GRADUATED,
    REGISTERED,
    TIER1,
    TIER2,
    TIER3,
    VERIFIED,
    AssessmentPoint,
    Decision,
    ExitReason,
    Kind,
    State,
    add_months,
    check_manual,
    decide,
    graduation_chain,
    is_regular,
)
from interventions.rules import default_rules, validate_rules

RULES = validate_rules(default_rules())
COMPILED = compile_rules(RULES)
ON = date(2025, 6, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def facts(
    spending=500_000,
    water="piped",
    desil=3,
    trained=False,
    working=True,
    in_group=None,
    member_in_group=False,
    loan=None,
):
    """Four members; every need met unless ``water`` is unsafe."""
    work = "working" if working else "unable"
    return HouseholdFacts.from_dicts(
        {
            "monthly_expenditure": None if spending is None else spending * 4,
            "desil": desil,
            "water_source": water,
            "toilet": "own",
            "has_septic_tank": True,
            "floor_material": "ceramic",
            "wall_material": "masonry",
            "roof_material": "zinc",
            "floor_area_m2": 60,
            "lighting": "pln_900",
            "meals_per_day": 3,
            "in_active_group": in_group,
            "loan_in_good_standing": loan,
        },
        [
            {"age": 40, "work_status": work, "health_insurance": "pbi_jkn"},
            {
                "age": 38,
                "work_status": work,
                "health_insurance": "pbi_jkn",
                "completed_training": trained,
                "in_active_group": member_in_group,
            },
            {"age": 10, "school_enrolment": "enrolled", "health_insurance": "pbi_jkn"},
            {"age": 70, "work_status": "unable", "health_insurance": "pbi_jkn"},
        ],
        ON,
    )


def verdict(rules=RULES, **kwargs):
    return evaluate(facts(**kwargs), rules)


def point(days_before, spending=450_000, meets=True):
    return AssessmentPoint(ON - timedelta(days=days_before), spending, meets)


# --- tables -----------------------------------------------------------------------------------


def test_states_and_exit_reasons():
    assert State.values == [
        "registered",
        "verified",
        "tier1",
        "tier2",
        "tier3",
        "graduated",
        "exited",
    ]
    assert ExitReason.values == ["moved", "died", "duplicate", "refused", "not_eligible"]
    assert set(ALLOWED) == set(State.values) == set(ALLOWED_MANUAL)


def test_regular_transitions_are_a_subset_of_manual_ones():
    for state, targets in ALLOWED.items():
        assert targets <= ALLOWED_MANUAL[state]
        assert state not in targets
    assert ALLOWED[EXITED] == frozenset()
    assert ALLOWED_MANUAL[EXITED] == {REGISTERED}
    for state in ACTIVE_STATES:
        assert ALLOWED_MANUAL[state] == (set(State.values) - {state})


@pytest.mark.parametrize(
    ("current", "to", "regular"),
    [
        (REGISTERED, VERIFIED, True),
        (VERIFIED, TIER3, True),
        (TIER1, TIER3, False),
        (TIER3, TIER2, False),
        (GRADUATED, TIER1, True),
        (EXITED, REGISTERED, False),
    ],
)
def test_is_regular(current, to, regular):
    assert is_regular(current, to) is regular


@pytest.mark.parametrize(
    ("day", "months", "result"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 11, 15), 3, date(2026, 2, 15)),
        (date(2025, 3, 1), 12, date(2026, 3, 1)),
    ],
)
def test_add_months(day, months, result):
    assert add_months(day, months) == result


# --- automatic decisions ----------------------------------------------------------------------

TIER1_VERDICT = {"water": "river"}
TIER2_VERDICT = {}
# tier 3: a member trained AND in an active group; graduating from it: a loan in good standing
TIER3_VERDICT = {"trained": True, "member_in_group": True, "loan": True}
TRAINED_ALONE = {"trained": True}


@pytest.mark.parametrize(
    ("current", "kwargs", "history", "expected"),
    [
        (REGISTERED, TIER3_VERDICT, [], None),
        (EXITED, TIER3_VERDICT, [], None),
        (VERIFIED, TIER1_VERDICT, [], (TIER1, "automatic")),
        (VERIFIED, TIER2_VERDICT, [], (TIER2, "automatic")),
        (VERIFIED, TIER3_VERDICT, [], (TIER3, "automatic")),
        (TIER1, TIER1_VERDICT, [], None),
        (TIER1, TIER2_VERDICT, [], (TIER2, "automatic")),
        (TIER1, TIER3_VERDICT, [], (TIER2, "automatic")),  # one step at a time
        (TIER1, {"working": False}, [], None),
        (TIER2, {"spending": 300_000}, [], None),
        (TIER2, {"spending": 300_000, **TIER3_VERDICT}, [], (TIER3, "automatic")),
        (TIER2, {"spending": 300_000, **TRAINED_ALONE}, [], None),  # not in a group
        (TIER2, {"spending": 300_000, "member_in_group": True}, [], None),  # not trained
        (TIER2, {"spending": 300_000, "water": "river"}, [], (TIER1, "relapse")),
        (TIER2, {"spending": 500_000, "water": "river"}, [], None),  # not extreme poor
        (TIER2, {"spending": 500_000, "water": "river", "desil": 1}, [], (TIER1, "relapse")),
        (TIER3, {"spending": 300_000, "water": "river"}, [], (TIER1, "relapse")),
        (TIER3, {"spending": 300_000}, [], None),  # below the line alone: still empowering
        (TIER3, TIER3_VERDICT, [], None),  # graduation needs history
        (TIER3, TIER3_VERDICT, [point(92)], (GRADUATED, "automatic")),
        (TIER3, {**TIER3_VERDICT, "loan": False}, [point(92)], None),  # no business, no loan
        (TIER2, {**TIER3_VERDICT, "loan": False}, [point(92)], (GRADUATED, "automatic")),
        (TIER3, TIER3_VERDICT, [point(60)], None),  # too recent
        (TIER3, TIER3_VERDICT, [point(92, 300_000, False)], None),
        (TIER3, TIER3_VERDICT, [point(120), point(30, 300_000, False)], None),  # run broken
        (TIER3, TIER3_VERDICT, [point(120), point(30)], (GRADUATED, "automatic")),
        (TIER2, {"spending": 450_000}, [point(100)], (GRADUATED, "automatic")),
        (TIER3, {"spending": 450_000, "water": "river"}, [point(100)], None),
        (GRADUATED, TIER3_VERDICT, [], None),
        (GRADUATED, {"spending": 390_000}, [], (TIER1, "relapse")),
        (GRADUATED, {"water": "river", "desil": 1}, [], (TIER1, "relapse")),
        (GRADUATED, {"water": "river"}, [], None),  # a need alone is not extreme poverty
    ],
)
def test_decide(current, kwargs, history, expected):
    decision = decide(current, verdict(**kwargs), history, RULES, on=ON)
    if expected is None:
        assert decision is None
    else:
        assert (decision.to_state, decision.kind) == expected
        assert decision.to_state in ALLOWED[current]
        assert decision.reason


def test_points_after_this_assessment_are_ignored():
    future = AssessmentPoint(ON + timedelta(days=10), 100, False)
    decision = decide(TIER3, verdict(**TIER3_VERDICT), [point(100), future], RULES, on=ON)
    assert decision.to_state == GRADUATED


def test_graduation_chain_follows_the_rule_set():
    rules = default_rules()
    rules["graduation"].update(consecutive_assessments=3, min_months_between=2)
    rules = validate_rules(rules)
    v = verdict(trained=True)
    assert graduation_chain(v, [point(65)], rules, on=ON) is None
    history = [point(130, 420_000), point(100), point(65, 430_000)]
    chain = graduation_chain(v, history, rules, on=ON)
    assert [p.assessed_on for p in chain] == [ON - timedelta(days=130), ON - timedelta(65), ON]
    one = validate_rules({"graduation": {"consecutive_assessments": 1}})
    assert graduation_chain(v, [], one, on=ON) == [AssessmentPoint(ON, 500_000, True)]


def test_unknown_state_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown pathway state"):
        decide("tier4", verdict(), [], RULES, on=ON)


# --- reasons ----------------------------------------------------------------------------------


def test_reasons_name_the_numbers():
    placed = decide(VERIFIED, verdict(spending=310_000, water="river"), [], RULES, on=ON)
    assert placed.reason == (
        "Placed in tier 1 after verification because spending is Rp 310.000 per person per "
        "month, below the extreme-poverty line of Rp 391.000, and the household has no safe "
        "drinking water."
    )
    up = decide(TIER1, verdict(trained=True), [], RULES, on=ON)
    assert up.reason == (
        "Moved to tier 2 because every critical need is met and 2 members aged 15–64 can train."
    )
    up3 = decide(TIER2, verdict(spending=300_000, **TIER3_VERDICT), [], RULES, on=ON)
    assert up3.reason == (
        "Moved to tier 3 because every critical need is met, 1 member has completed training "
        "and a member who completed training is active in an active group."
    )
    relapse = decide(GRADUATED, verdict(spending=350_000), [], RULES, on=ON)
    assert relapse.reason == (
        "Back to tier 1 (relapse) because spending is Rp 350.000 per person per month, below "
        "the extreme-poverty line of Rp 391.000."
    )
    history = [AssessmentPoint(date(2025, 2, 20), 420_000, True)]
    graduated = decide(TIER3, verdict(spending=450_000, **TIER3_VERDICT), history, RULES, on=ON)
    assert graduated.reason.startswith(
        "Graduated: spending per person was at or above the extreme-poverty line of Rp 391.000 "
        "at 2 assessments at least 3 months apart ("
    )
    assert "Rp 420.000" in graduated.reason
    assert "Rp 450.000" in graduated.reason
    assert graduated.reason.endswith("), and every critical need is met.")


def test_decision_stores_as_json_and_words_again():
    decision = decide(VERIFIED, verdict(water="river"), [], RULES, on=ON)
    again = Decision.from_dict(decision.as_dict())
    assert again == decision
    assert again.reason == decision.reason


# --- manual transitions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "to", "reason", "exit_reason", "field", "message"),
    [
        (TIER1, TIER3, "", None, "reason", "A manual change needs a reason."),
        (TIER1, TIER3, "   ", None, "reason", "A manual change needs a reason."),
        (TIER1, "tier4", "typo", None, "to_state", "Unknown state 'tier4'"),
        (TIER1, TIER1, "again", None, "to_state", "already at this stage"),
        (
            EXITED,
            TIER1,
            "came back",
            None,
            "to_state",
            "A household cannot go from Exited to Tier 1: basic-needs aid; allowed: Registered.",
        ),
        (TIER2, EXITED, "moved to Jakarta", None, "exit_reason", "An exit needs an exit reason"),
        (TIER2, EXITED, "moved", "emigrated", "exit_reason", "An exit needs an exit reason"),
        (TIER2, TIER1, "field visit", "moved", "exit_reason", "Only an exit takes an exit reason."),
    ],
)
def test_check_manual_refuses(current, to, reason, exit_reason, field, message):
    with pytest.raises(ValidationError) as caught:
        check_manual(current, to, reason, exit_reason=exit_reason)
    errors = caught.value.message_dict
    assert any(message in text for text in errors[field]), errors


@pytest.mark.parametrize(
    ("current", "to", "exit_reason"),
    [
        (TIER1, TIER3, None),  # an override between active states
        (GRADUATED, TIER2, None),
        (TIER3, TIER2, None),
        (REGISTERED, VERIFIED, None),
        (VERIFIED, EXITED, ExitReason.DUPLICATE),
        (TIER2, EXITED, "died"),
        (EXITED, REGISTERED, None),
    ],
)
def test_check_manual_allows(current, to, exit_reason):
    check_manual(current, to, "Decided at the village meeting", exit_reason=exit_reason)


# --- random walks -----------------------------------------------------------------------------

ONE_STEP = {(TIER1, TIER2), (TIER2, TIER3), (TIER2, GRADUATED), (TIER3, GRADUATED)}
RELAPSE_FROM = {TIER2, TIER3, GRADUATED}

step = st.tuples(
    st.builds(
        facts,
        spending=st.sampled_from([None, 200_000, 390_000, 391_000, 450_000, 700_000]),
        water=st.sampled_from(["piped", "river", ""]),
        desil=st.sampled_from([None, 1, 2, 5]),
        trained=st.booleans(),
        working=st.booleans(),
    ),
    st.integers(0, 200),  # days since the previous assessment
)

WALK = settings(max_examples=120, deadline=None, database=None)


@WALK
@given(start=st.sampled_from([REGISTERED, VERIFIED]), steps=st.lists(step, min_size=1, max_size=30))
def test_random_walks_only_take_allowed_transitions(start, steps):
    state, on, history = start, date(2024, 1, 1), []
    months = RULES["graduation"]["min_months_between"]
    for household, gap in steps:
        on += timedelta(days=gap)
        v = evaluate(household, COMPILED)
        decision = decide(state, v, history, COMPILED, on=on)
        if start == REGISTERED:
            assert decision is None  # verification is a human step
        if decision is not None:
            to = decision.to_state
            assert to in ALLOWED[state], (state, to)
            assert to != EXITED
            assert decision.reason
            if decision.kind == Kind.RELAPSE:
                assert (state, to) in {(s, TIER1) for s in RELAPSE_FROM}
            elif state == VERIFIED:
                assert to == f"tier{v.recommended_tier}"
            else:
                assert (state, to) in ONE_STEP
            if to == GRADUATED:
                # this assessment and an earlier one >= 3 months before it qualify, with no
                # failing assessment in between
                assert v.meets_graduation
                earlier = [
                    i
                    for i, p in enumerate(history)
                    if p.meets_graduation and add_months(p.assessed_on, months) <= on
                ]
                assert earlier
                assert all(p.meets_graduation for p in history[earlier[-1] :])
            state = to
        history.append(AssessmentPoint(on, v.spending_per_person, v.meets_graduation))
