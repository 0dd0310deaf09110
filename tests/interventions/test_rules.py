"""Rule sets as data: the defaults, normalisation and every refusal with its field path."""

import copy

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from interventions.rules import (
    DEFAULT_RULES,
    HOUSEHOLD_FACTS,
    MEMBER_FACTS,
    NEEDS,
    default_rules,
    validate_rules,
)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def errors_of(rules) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        validate_rules(rules)
    return caught.value.message_dict


def changed(path: str, value):
    """Default rules with the value at a dotted path (list items as [i]) replaced."""
    rules = default_rules()
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node = rules
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return rules


def test_defaults_are_valid_and_already_normalised():
    assert validate_rules(DEFAULT_RULES) == DEFAULT_RULES
    assert set(DEFAULT_RULES["deprivations"]) == set(NEEDS)
    critical = {n for n, spec in DEFAULT_RULES["deprivations"].items() if spec["critical"]}
    assert critical == set(NEEDS) - {"information"}
    assert DEFAULT_RULES["extreme_poverty_line"] == 391_000
    assert DEFAULT_RULES["poverty_line"] == 684_232


def test_validation_does_not_touch_its_input_and_returns_a_copy():
    rules = default_rules()
    before = copy.deepcopy(rules)
    result = validate_rules(rules)
    result["deprivations"]["water"]["criteria"].clear()
    assert rules == before
    assert default_rules() is not DEFAULT_RULES


def test_missing_settings_are_filled_from_the_defaults():
    rules = validate_rules({"year": 2026, "extreme_poverty_line": 400_000, "tiers": {"tier2": {}}})
    assert rules["year"] == 2026
    assert rules["extreme_poverty_line"] == 400_000
    assert rules["poverty_line"] == 684_232
    assert rules["deprivations"] == DEFAULT_RULES["deprivations"]
    assert rules["tiers"] == DEFAULT_RULES["tiers"]


def test_values_are_normalised():
    rules = default_rules()
    rules["extreme_poverty_line"] = 391_000.0  # JSON editors may write floats
    rules["deprivations"]["water"]["criteria"] = [
        {"field": "water_source", "op": "in", "value": ["river", "river", "unprotected_well"]},
        {"field": "water_source", "op": "is_empty"},
    ]
    rules["deprivations"]["health"]["criteria"] = [
        {"op": "any_member", "value": {"field": "health_insurance", "op": "==", "value": "none"}}
    ]
    rules["deprivations"]["food"]["label"] = "  no regular meals "
    result = validate_rules(rules)
    assert result["extreme_poverty_line"] == 391_000
    assert isinstance(result["extreme_poverty_line"], int)
    water = result["deprivations"]["water"]["criteria"]
    assert water[0]["value"] == ["river", "unprotected_well"]
    assert water[1] == {"field": "water_source", "op": "is_empty", "value": True}
    assert result["deprivations"]["health"]["criteria"][0] == {
        "field": "members",
        "op": "any_member",
        "value": {"field": "health_insurance", "op": "==", "value": "none"},
        "age_min": None,
        "age_max": None,
    }
    assert result["deprivations"]["food"]["label"] == "no regular meals"


def test_count_members_and_group_requirement_are_accepted():
    rules = default_rules()
    rules["deprivations"]["information"]["criteria"].append(
        {"field": "members", "op": "count_members", "age_min": 15, "age_max": 64, "max": 0}
    )
    rules["tiers"]["tier3"].update(min_trained_members=0, requires_active_group=True)
    result = validate_rules(rules)
    assert result["deprivations"]["information"]["criteria"][-1]["min"] is None
    assert result["tiers"]["tier3"]["min_trained_members"] == 0


def test_known_facts_name_their_types_and_values():
    assert HOUSEHOLD_FACTS["water_source"].values[:2] == ("bottled", "piped")
    assert HOUSEHOLD_FACTS["spending_per_person"].money
    assert MEMBER_FACTS["completed_training"].kind == "bool"
    assert "age" not in HOUSEHOLD_FACTS


def test_several_errors_are_reported_together():
    rules = default_rules()
    rules["extreme_poverty_line"] = -5
    rules["deprivations"]["water"]["criteria"][0]["field"] = "watr_source"
    rules["tiers"]["tier3"]["max_unmet_critical_needs"] = 2
    errors = errors_of(rules)
    assert set(errors) == {
        "extreme_poverty_line",
        "deprivations.water.criteria[0].field",
        "tiers.tier3.max_unmet_critical_needs",
    }


WATER0 = "deprivations.water.criteria[0]"
HEALTH0 = "deprivations.health.criteria[0]"


@pytest.mark.parametrize(
    ("rules", "path", "message"),
    [
        pytest.param(
            changed("extreme_poverty_line", -1),
            "extreme_poverty_line",
            "Must be a whole number of rupiah above zero and at most Rp 100.000.000.",
            id="negative-line",
        ),
        pytest.param(
            changed("extreme_poverty_line", 0),
            "extreme_poverty_line",
            "Must be a whole number of rupiah above zero and at most Rp 100.000.000.",
            id="zero-line",
        ),
        pytest.param(
            changed("extreme_poverty_line", "391000"),
            "extreme_poverty_line",
            "Must be a whole number of rupiah above zero and at most Rp 100.000.000.",
            id="line-as-text",
        ),
        pytest.param(
            changed("poverty_line", 684_232.5),
            "poverty_line",
            "Must be a whole number of rupiah above zero and at most Rp 100.000.000.",
            id="fractional-line",
        ),
        pytest.param(
            changed("extreme_poverty_line", 700_000),
            "extreme_poverty_line",
            "The extreme-poverty line (Rp 700.000) cannot be above the provincial poverty line "
            "(Rp 684.232).",
            id="extreme-above-provincial",
        ),
        pytest.param(changed("year", 1999), "year", "from 2000 to 2100", id="year"),
        pytest.param(changed("desil_cutoff", 0), "desil_cutoff", "from 1 to 10", id="desil-0"),
        pytest.param(changed("desil_cutoff", 11), "desil_cutoff", "from 1 to 10", id="desil-11"),
        pytest.param(
            changed("extreme_poor_rule", "either"),
            "extreme_poor_rule",
            "Must be one of spending_or_desil, spending_and_desil, spending_only",
            id="extreme-poor-rule",
        ),
        pytest.param(
            {**default_rules(), "extreme_povery_line": 1},
            "extreme_povery_line",
            "Unknown setting 'extreme_povery_line'",
            id="unknown-setting",
        ),
        pytest.param(
            changed(f"{WATER0}.field", "watr_source"),
            f"{WATER0}.field",
            "Unknown field 'watr_source'; known fields: member_count, monthly_expenditure,",
            id="unknown-field",
        ),
        pytest.param(
            changed(f"{WATER0}.op", "=~"),
            f"{WATER0}.op",
            "Unknown operator '=~'; known operators: <, <=, >, >=, ==, !=, in, not_in",
            id="unknown-op",
        ),
        pytest.param(
            changed(f"{WATER0}.value", ["sungai"]),
            f"{WATER0}.value[0]",
            "Unknown value 'sungai' for water_source; allowed values: bottled, piped,",
            id="unknown-value",
        ),
        pytest.param(
            changed(f"{WATER0}.value", []),
            f"{WATER0}.value",
            "'in' needs a non-empty list of values.",
            id="empty-in",
        ),
        pytest.param(
            changed(WATER0, {"field": "water_source", "op": "<", "value": 3}),
            f"{WATER0}.op",
            "'<' compares numbers; water_source is not a number",
            id="compare-a-choice",
        ),
        pytest.param(
            changed(WATER0, {"field": "water_source", "op": "==", "value": None}),
            f"{WATER0}.value",
            "use is_empty",
            id="equals-none",
        ),
        pytest.param(
            changed(WATER0, {"field": "water_source", "op": "in", "value": ["river"], "x": 1}),
            f"{WATER0}.x",
            "Unknown key 'x'",
            id="unknown-condition-key",
        ),
        pytest.param(
            changed("deprivations.food.criteria[0].value", "two"),
            "deprivations.food.criteria[0].value",
            "'<' needs a number.",
            id="compare-with-text",
        ),
        pytest.param(
            changed("deprivations.food.criteria[0]", {"field": "desil", "op": "==", "value": 11}),
            "deprivations.food.criteria[0].value",
            "outside the range of desil",
            id="value-out-of-range",
        ),
        pytest.param(
            changed(WATER0, {"field": "age", "op": "<", "value": 7}),
            f"{WATER0}.field",
            "'age' is a member fact",
            id="member-fact-on-household",
        ),
        pytest.param(
            changed(f"{HEALTH0}.value.field", "insurance"),
            f"{HEALTH0}.value.field",
            "Unknown field 'insurance'; known fields: age, sex,",
            id="unknown-member-field",
        ),
        pytest.param(
            changed(f"{HEALTH0}.value", {"op": "any_member", "value": None}),
            f"{HEALTH0}.value.op",
            "Unknown operator 'any_member'",
            id="nested-member-op",
        ),
        pytest.param(
            changed(f"{HEALTH0}", {"op": "any_member", "value": None, "age_min": 9, "age_max": 3}),
            f"{HEALTH0}.age_max",
            "Cannot be below age_min.",
            id="age-range-reversed",
        ),
        pytest.param(
            changed(f"{HEALTH0}", {"op": "count_members", "value": None}),
            HEALTH0,
            "'count_members' needs 'min', 'max' or both.",
            id="count-without-bounds",
        ),
        pytest.param(
            changed(f"{HEALTH0}", {"field": "health_insurance", "op": "any_member", "value": None}),
            f"{HEALTH0}.field",
            "its field is 'members'",
            id="member-op-on-a-field",
        ),
        pytest.param(
            changed("deprivations.sanitation.criteria[1].value", []),
            "deprivations.sanitation.criteria[1].value",
            "'all' needs a non-empty list of conditions.",
            id="empty-all",
        ),
        pytest.param(
            changed("deprivations.sanitation.criteria[1].value[1].field", "septic"),
            "deprivations.sanitation.criteria[1].value[1].field",
            "Unknown field 'septic'",
            id="unknown-field-inside-all",
        ),
        pytest.param(
            changed("deprivations.shelter", {"critical": True}),
            "deprivations.shelter",
            "Unknown setting 'shelter'; known settings: food, water, sanitation",
            id="unknown-need",
        ),
        pytest.param(
            changed("deprivations.food.critical", "yes"),
            "deprivations.food.critical",
            "Must be true or false.",
            id="critical-not-bool",
        ),
        pytest.param(
            changed("deprivations.food.criteria", {"field": "meals_per_day"}),
            "deprivations.food.criteria",
            "Must be a list of conditions",
            id="criteria-not-a-list",
        ),
        pytest.param(
            changed("deprivations.food.criteria[0]", "meals < 2"),
            "deprivations.food.criteria[0]",
            "A condition must be an object",
            id="condition-not-an-object",
        ),
        pytest.param(
            changed("tiers.tier3.max_unmet_critical_needs", 1),
            "tiers.tier3.max_unmet_critical_needs",
            "Tier 3 entry cannot be looser than tier 2: it allows 1 unmet critical needs, "
            "tier 2 allows 0.",
            id="tier3-looser-than-tier2",
        ),
        pytest.param(
            {"tiers": {"tier3": {"min_trained_members": 0, "requires_active_group": False}}},
            "tiers.tier3.min_trained_members",
            "Tier 3 entry cannot be looser than tier 2",
            id="tier3-asks-nothing-more",
        ),
        pytest.param(
            changed("tiers.tier2.min_working_age_members", -1),
            "tiers.tier2.min_working_age_members",
            "Must be a whole number from 0 to 50.",
            id="negative-count",
        ),
        pytest.param(
            changed("tiers.tier2.working_age_max", 10),
            "tiers.tier2.working_age_max",
            "The working age cannot end (10) before it starts (15).",
            id="working-age-reversed",
        ),
        pytest.param(
            changed("tiers.tier2.excluded_work_statuses", ["retired"]),
            "tiers.tier2.excluded_work_statuses",
            "Must be a list of work statuses from working, looking,",
            id="unknown-work-status",
        ),
        pytest.param(
            changed("tiers.tier4", {}),
            "tiers.tier4",
            "Unknown setting 'tier4'",
            id="unknown-tier",
        ),
        pytest.param(
            changed("tiers.tier3.requires_active_group", "no"),
            "tiers.tier3.requires_active_group",
            "Must be true or false.",
            id="group-not-bool",
        ),
        pytest.param(
            changed("graduation.min_months_between", 0),
            "graduation.min_months_between",
            "Must be a whole number from 1 to 60.",
            id="months-zero",
        ),
        pytest.param(
            changed("graduation.consecutive_assessments", 0),
            "graduation.consecutive_assessments",
            "from 1 to 12",
            id="assessments-zero",
        ),
        pytest.param(
            changed("graduation.monitoring_months", -3),
            "graduation.monitoring_months",
            "from 1 to 120",
            id="monitoring-negative",
        ),
        pytest.param(
            changed("graduation.spending_above", "national"),
            "graduation.spending_above",
            "Must be one of extreme, provincial",
            id="graduation-line",
        ),
        pytest.param(
            changed("graduation.max_unmet_critical_needs", 1),
            "graduation.max_unmet_critical_needs",
            "Graduation cannot be looser than tier 3 entry",
            id="graduation-looser-than-tier3",
        ),
        pytest.param(["not", "a", "dict"], "__all__", "Must be an object", id="not-an-object"),
    ],
)
def test_invalid_rules_are_refused_with_the_field_path(rules, path, message):
    errors = errors_of(rules)
    assert path in errors, errors
    assert any(message in text for text in errors[path]), errors[path]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**7) | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


PATHS = [p for p in _paths(DEFAULT_RULES) if p]


@settings(max_examples=150, deadline=None, database=None)
@given(path=st.sampled_from(PATHS), value=json_values)
def test_any_edit_is_either_valid_or_refused_with_field_errors(path, value):
    rules = default_rules()
    node = rules
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    result, messages = None, None
    try:
        result = validate_rules(rules)
    except ValidationError as error:
        messages = error.message_dict
    if result is None:
        assert messages
        assert all(isinstance(m, str) for texts in messages.values() for m in texts)
    else:
        assert validate_rules(result) == result  # normalised output is a fixed point


@pytest.mark.django_db
def test_the_default_rule_set_is_named_in_indonesian_unless_renamed():
    from importlib import import_module

    from django.apps import apps

    from interventions.models import RuleSet

    migration = import_module("interventions.migrations.0010_default_rule_set_in_indonesian")
    default = RuleSet.objects.get(version=1)
    assert (default.name, default.notes) == migration.INDONESIAN  # as migrated
    migration.to_english(apps, None)
    assert RuleSet.objects.get(version=1).name == "Default 2025 (BPS lines)"
    RuleSet.objects.filter(version=1).update(name="Garis 2025 Banten")  # an admin's own name
    migration.to_indonesian(apps, None)
    assert RuleSet.objects.get(version=1).name == "Garis 2025 Banten"
