"""The eligibility engine's REST API: rule sets, assessments, transitions, cases and jobs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from households.models import Household
from interventions import services
from interventions.api import household_pathway
from interventions.models import (
    Assessment,
    Case,
    JobStatus,
    RecalculationJob,
    RuleSet,
    RuleSetStatus,
    Transition,
)
from regions.models import Region
from tests.conftest import LEBAK, PANDEGLANG

from .conftest import make_household

pytestmark = pytest.mark.django_db

RULESETS = "/api/v1/rulesets/"
ASSESSMENTS = "/api/v1/assessments/"
TRANSITIONS = "/api/v1/transitions/"
CASES = "/api/v1/cases/"
JOBS = "/api/v1/jobs/"

CRITERION_KEYS = {"code", "need", "text", "passed", "value", "threshold"}


def as_user(api, user):
    api.force_login(user)
    return api


def assessed(desa, **kwargs):
    """A tier-1 household (spending below the line, no toilet), assessed once."""
    household = make_household(desa, **{"per_person": 310_000, "toilet": "none", **kwargs})
    services.household_recalculate(household_id=household.pk)
    return household


def placed(desa, actor):
    """An assessed household verified by `actor` and placed in its tier by the system."""
    household = assessed(desa)
    services.case_verify(actor=actor, household=household)
    services.household_recalculate(household_id=household.pk)
    return household


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def households_of(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["household"] for row in response.json()["results"]}


def list_queries(api, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(ctx), response.json()["count"]


def skeleton(value):
    """The structure of a JSON value with every text blanked: what must not vary by language."""
    if isinstance(value, dict):
        return {k: ("<text>" if k in TEXT_KEYS else skeleton(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    return value


TEXT_KEYS = {
    "summary",
    "text",
    "reason_text",
    "state_label",
    "status_label",
    "trigger_label",
    "from_state_label",
    "to_state_label",
    "explanation",
}


@pytest.fixture
def lebak_hh(desa_lebak, province_admin):
    return placed(desa_lebak, province_admin)


@pytest.fixture
def pandeglang_hh(desa_pandeglang, province_admin):
    return placed(desa_pandeglang, province_admin)


# --- rule sets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["province_admin", "district_lebak", "field_worker_lebak", "auditor"]
)
def test_register_readers_read_rule_sets(request, api, who):
    as_user(api, request.getfixturevalue(who))
    response = api.get(RULESETS)
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["version"] == 1
    assert row["status"] == RuleSetStatus.PUBLISHED
    assert row["rules"]["extreme_poverty_line"] == 391_000
    assert set(row) >= {"name", "notes", "created_at", "created_by", "published_at"}
    detail = api.get(f"{RULESETS}1/")
    assert detail.status_code == 200
    assert detail.json()["version"] == 1


@pytest.mark.parametrize("who", ["opd_officer", "csr_partner", "no_role_user"])
def test_others_do_not_read_rule_sets(request, api, who):
    as_user(api, request.getfixturevalue(who))
    assert api.get(RULESETS).status_code == 403
    assert api.get(f"{RULESETS}1/").status_code == 403


def test_anonymous_is_refused(api):
    for url in (RULESETS, ASSESSMENTS, TRANSITIONS, CASES, JOBS):
        assert api.get(url).status_code in (401, 403)


def test_admin_creates_a_draft_copied_from_the_set_in_force(api, province_admin):
    as_user(api, province_admin)
    response = api.post(RULESETS, {"name": "2026 lines", "notes": "draft"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 2
    assert body["status"] == RuleSetStatus.DRAFT
    assert body["created_by"] == province_admin.username
    assert body["published_by"] is None
    assert body["rules"] == RuleSet.objects.get(version=1).rules


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "rules": {"extreme_poverty_line": -5}}, "rules.extreme_poverty_line"),
        ({"name": "x", "rules": {"povety_line": 700_000}}, "rules.povety_line"),
        ({"name": "x", "rules": "not a dict"}, "rules"),
        ({"name": "  "}, "name"),
        ({}, "name"),
    ],
)
def test_invalid_rule_set_is_refused_with_its_field(api, province_admin, body, field):
    as_user(api, province_admin)
    response = api.post(RULESETS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert RuleSet.objects.count() == 1


def test_admin_edits_a_draft_but_not_a_published_set(api, province_admin):
    draft = services.rule_set_create(actor=province_admin, name="Draft")
    as_user(api, province_admin)
    rules = {**draft.rules, "extreme_poverty_line": 400_000}
    response = api.patch(f"{RULESETS}{draft.version}/", {"rules": rules}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rules"]["extreme_poverty_line"] == 400_000
    assert response.json()["name"] == "Draft"

    bad = api.patch(f"{RULESETS}{draft.version}/", {"rules": {"desil_cutoff": 99}}, format="json")
    assert bad.status_code == 400
    assert "rules.desil_cutoff" in bad.json()
    draft.refresh_from_db()
    assert draft.rules["desil_cutoff"] != 99

    published = api.patch(f"{RULESETS}1/", {"name": "Renamed"}, format="json")
    assert published.status_code == 409
    assert RuleSet.objects.get(version=1).name != "Renamed"
    assert api.put(f"{RULESETS}{draft.version}/", {"name": "x"}, format="json").status_code == 405


def test_publish_answers_202_with_the_job(
    api, province_admin, desa_lebak, django_capture_on_commit_callbacks
):
    household = assessed(desa_lebak, per_person=395_000, toilet="own")
    draft = services.rule_set_create(actor=province_admin, name="Higher line")
    services.rule_set_update(
        actor=province_admin,
        rule_set=draft,
        rules={**draft.rules, "extreme_poverty_line": 400_000, "poverty_line": 700_000},
    )
    as_user(api, province_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{RULESETS}{draft.version}/publish/")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["trigger"] == RecalculationJob.Trigger.RULES
    assert job["region"] is None
    assert set(job) >= {"total", "processed", "percent", "status", "assessed", "moved"}
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.PUBLISHED
    assert RuleSet.objects.get(version=1).status == RuleSetStatus.RETIRED
    assert RecalculationJob.objects.get(pk=job["id"]).status == JobStatus.DONE
    latest = Case.objects.get(pk=household.pk).latest_assessment
    assert latest.rule_set_id == draft.pk
    assert latest.extreme_poor

    again = api.post(f"{RULESETS}{draft.version}/publish/")
    assert again.status_code == 409


@pytest.mark.parametrize(
    "who", ["district_lebak", "field_worker_lebak", "auditor", "opd_officer", "csr_partner"]
)
def test_only_provincial_admins_write_rule_sets(request, api, province_admin, who):
    draft = services.rule_set_create(actor=province_admin, name="Draft")
    as_user(api, request.getfixturevalue(who))
    assert api.post(RULESETS, {"name": "Mine"}, format="json").status_code == 403
    patch = api.patch(f"{RULESETS}{draft.version}/", {"name": "Mine"}, format="json")
    assert patch.status_code == 403
    assert api.post(f"{RULESETS}{draft.version}/publish/").status_code == 403
    draft.refresh_from_db()
    assert (draft.name, draft.status) == ("Draft", RuleSetStatus.DRAFT)
    assert RuleSet.objects.count() == 2
    assert not RecalculationJob.objects.exists()


def test_rule_set_list_queries_do_not_grow(api, province_admin):
    as_user(api, province_admin)
    for n in range(2):
        services.rule_set_create(actor=province_admin, name=f"Draft {n}")
    few = list_queries(api, RULESETS)
    for n in range(12):
        services.rule_set_create(actor=province_admin, name=f"More {n}")
    many = list_queries(api, RULESETS)
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]


# --- assessments ------------------------------------------------------------------------------


def test_assessment_fields_and_words(api, province_admin, lebak_hh):
    as_user(api, province_admin)
    response = api.get(ASSESSMENTS, {"household": lebak_hh.pk})
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["household"] == lebak_hh.pk
    assert row["rule_set_version"] == 1
    assert row["extreme_poor"] is True
    assert row["spending_per_person"] == 310_000
    assert row["recommended_tier"] == 1
    assert row["meets_graduation"] is False
    assert "sanitation" in row["unmet_needs"]
    assert "310.000" in row["summary"]
    assert "391.000" in row["summary"]
    assert row["criteria"]
    assert all(set(line) == CRITERION_KEYS for line in row["criteria"])
    assert all(line["text"] for line in row["criteria"])
    sanitation = next(line for line in row["criteria"] if line["need"] == "sanitation")
    assert sanitation["passed"] is False
    detail = api.get(f"{ASSESSMENTS}{row['id']}/")
    assert detail.status_code == 200
    assert detail.json() == row


def test_assessments_are_scoped_to_visible_households(
    api, field_worker_lebak, district_pandeglang, auditor, lebak_hh, pandeglang_hh
):
    pandeglang_assessment = Assessment.objects.filter(household=pandeglang_hh).first()
    as_user(api, field_worker_lebak)
    assert households_of(api.get(ASSESSMENTS)) == {lebak_hh.pk}
    assert api.get(f"{ASSESSMENTS}{pandeglang_assessment.pk}/").status_code == 404
    assert households_of(api.get(ASSESSMENTS, {"household": pandeglang_hh.pk})) == set()

    as_user(api, district_pandeglang)
    assert households_of(api.get(ASSESSMENTS)) == {pandeglang_hh.pk}

    as_user(api, auditor)
    assert households_of(api.get(ASSESSMENTS)) == {lebak_hh.pk, pandeglang_hh.pk}


def test_opd_officers_see_no_case_data_and_csr_partners_none_at_all(
    api, opd_officer, csr_partner, no_role_user, lebak_hh
):
    case_id = lebak_hh.pk
    assessment_id = Assessment.objects.filter(household=lebak_hh).first().pk
    transition_id = Transition.objects.filter(household=lebak_hh).first().pk
    as_user(api, opd_officer)
    for url in (ASSESSMENTS, TRANSITIONS, CASES):
        assert api.get(url).json()["count"] == 0
    assert api.get(f"{ASSESSMENTS}{assessment_id}/").status_code == 404
    assert api.get(f"{TRANSITIONS}{transition_id}/").status_code == 404
    assert api.get(f"{CASES}{case_id}/").status_code == 404
    for user in (csr_partner, no_role_user):
        as_user(api, user)
        for url in (
            ASSESSMENTS,
            TRANSITIONS,
            CASES,
            f"{ASSESSMENTS}{assessment_id}/",
            f"{TRANSITIONS}{transition_id}/",
            f"{CASES}{case_id}/",
        ):
            assert api.get(url).status_code == 403


def test_assessment_filters(api, province_admin, desa_lebak, desa_pandeglang):
    poor = assessed(desa_lebak)
    comfortable = assessed(desa_pandeglang, per_person=900_000, toilet="own")
    as_user(api, province_admin)
    assert households_of(api.get(ASSESSMENTS, {"extreme_poor": "true"})) == {poor.pk}
    assert households_of(api.get(ASSESSMENTS, {"extreme_poor": "false"})) == {comfortable.pk}
    assert households_of(api.get(ASSESSMENTS, {"recommended_tier": 1})) == {poor.pk}
    assert households_of(api.get(ASSESSMENTS, {"rule_set": 1})) == {poor.pk, comfortable.pk}
    assert households_of(api.get(ASSESSMENTS, {"rule_set": 2})) == set()
    assert households_of(api.get(ASSESSMENTS, {"assessed_at_after": "2000-01-01"})) == {
        poor.pk,
        comfortable.pk,
    }
    assert households_of(api.get(ASSESSMENTS, {"assessed_at_before": "2000-01-01"})) == set()


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (ASSESSMENTS, {"recommended_tier": 7}, "recommended_tier"),
        (ASSESSMENTS, {"assessed_at_after": "yesterday"}, "assessed_at"),
        (ASSESSMENTS, {"household": "abc"}, "household"),
        (TRANSITIONS, {"to_state": "tier9"}, "to_state"),
        (TRANSITIONS, {"at_before": "31/02/2025"}, "at"),
        (CASES, {"state": "nowhere"}, "state"),
        (JOBS, {"status": "sleeping"}, "status"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(api, province_admin, url, params, field):
    as_user(api, province_admin)
    response = api.get(url, params)
    assert response.status_code == 400
    assert field in response.json()


def test_assessment_list_queries_do_not_grow(api, field_worker_lebak, desa_lebak):
    as_user(api, field_worker_lebak)
    for _ in range(3):
        assessed(desa_lebak)
    few = list_queries(api, ASSESSMENTS)
    for _ in range(12):
        assessed(desa_lebak)
    many = list_queries(api, ASSESSMENTS)
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]


# --- transitions ------------------------------------------------------------------------------


def test_transitions_name_the_actor_or_the_system(api, province_admin, lebak_hh):
    as_user(api, province_admin)
    rows = api.get(TRANSITIONS, {"household": lebak_hh.pk}).json()["results"]
    by_state = {row["to_state"]: row for row in rows}
    assert set(by_state) == {"verified", "tier1"}
    verified, tier1 = by_state["verified"], by_state["tier1"]
    assert verified["actor"] == province_admin.username
    assert verified["kind"] == "manual"
    assert verified["from_state"] == "registered"
    assert verified["reason_text"]
    assert tier1["actor"] is None
    assert tier1["kind"] == "automatic"
    assert tier1["is_override"] is False
    assert "391.000" in tier1["reason_text"]
    assert tier1["assessment"] == Case.objects.get(pk=lebak_hh.pk).latest_assessment_id
    assert tier1["exit_reason"] == ""
    assert isinstance(tier1["evidence"], dict)
    detail = api.get(f"{TRANSITIONS}{tier1['id']}/")
    assert detail.json() == tier1


def test_transition_filters(api, province_admin, district_lebak, lebak_hh, pandeglang_hh):
    override = services.case_change(
        actor=district_lebak, household=lebak_hh, to_state="tier3", reason="Group formed early"
    )
    as_user(api, province_admin)
    assert ids(api.get(TRANSITIONS, {"is_override": "true"})) == {override.pk}
    assert override.pk not in ids(api.get(TRANSITIONS, {"is_override": "false"}))
    assert ids(api.get(TRANSITIONS, {"kind": "override"})) == {override.pk}
    assert ids(api.get(TRANSITIONS, {"to_state": "tier3"})) == {override.pk}
    from_tier1 = api.get(TRANSITIONS, {"from_state": "tier1"})
    assert ids(from_tier1) == {override.pk}
    assert from_tier1.json()["results"][0]["is_override"] is True
    assert from_tier1.json()["results"][0]["reason_text"] == "Group formed early"
    verified = api.get(TRANSITIONS, {"to_state": "verified"})
    assert households_of(verified) == {lebak_hh.pk, pandeglang_hh.pk}
    assert api.get(TRANSITIONS, {"at_after": "2000-01-01"}).json()["count"] == 5
    assert api.get(TRANSITIONS, {"at_before": "2000-01-01"}).json()["count"] == 0


def test_transitions_are_scoped(api, field_worker_lebak, lebak_hh, pandeglang_hh):
    outside = Transition.objects.filter(household=pandeglang_hh).first()
    as_user(api, field_worker_lebak)
    assert households_of(api.get(TRANSITIONS)) == {lebak_hh.pk}
    assert api.get(f"{TRANSITIONS}{outside.pk}/").status_code == 404
    assert api.get(TRANSITIONS, {"household": pandeglang_hh.pk}).json()["count"] == 0


def test_transition_list_queries_do_not_grow(api, field_worker_lebak, desa_lebak):
    as_user(api, field_worker_lebak)
    for _ in range(3):
        services.case_verify(actor=field_worker_lebak, household=assessed(desa_lebak))
    few = list_queries(api, TRANSITIONS)
    for _ in range(6):  # a staff move and a system move each
        placed(desa_lebak, field_worker_lebak)
    many = list_queries(api, TRANSITIONS)
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]


# --- cases ------------------------------------------------------------------------------------


def test_case_list_detail_and_filter(api, district_lebak, lebak_hh, desa_lebak):
    waiting = assessed(desa_lebak)
    as_user(api, district_lebak)
    response = api.get(CASES)
    assert households_of(response) == {lebak_hh.pk, waiting.pk}
    assert households_of(api.get(CASES, {"state": "tier1"})) == {lebak_hh.pk}
    assert households_of(api.get(CASES, {"state": "registered"})) == {waiting.pk}
    detail = api.get(f"{CASES}{lebak_hh.pk}/").json()
    assert detail["state"] == "tier1"
    assert detail["state_label"]
    assert detail["is_overridden"] is False
    assert detail["since"]
    assert detail["latest_assessment"] == Case.objects.get(pk=lebak_hh.pk).latest_assessment_id
    assert "391.000" in detail["summary"]


def test_cases_are_scoped(api, field_worker_lebak, lebak_hh, pandeglang_hh):
    as_user(api, field_worker_lebak)
    assert households_of(api.get(CASES)) == {lebak_hh.pk}
    assert api.get(f"{CASES}{pandeglang_hh.pk}/").status_code == 404
    verify = api.post(f"{CASES}{pandeglang_hh.pk}/verify/")
    assert verify.status_code == 404
    change = api.post(
        f"{CASES}{pandeglang_hh.pk}/change/", {"to_state": "exited", "reason": "x"}, format="json"
    )
    assert change.status_code == 404
    assert Transition.objects.filter(household=pandeglang_hh).count() == 2


def test_field_worker_verifies_a_household(api, field_worker_lebak, desa_lebak):
    household = assessed(desa_lebak)
    as_user(api, field_worker_lebak)
    response = api.post(
        f"{CASES}{household.pk}/verify/", {"note": "Visited on Monday"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["from_state"], body["to_state"]) == ("registered", "verified")
    assert body["actor"] == field_worker_lebak.username
    assert body["reason_text"] == "Visited on Monday"
    assert Case.objects.get(pk=household.pk).state == "verified"
    again = api.post(f"{CASES}{household.pk}/verify/")
    assert again.status_code == 409


def test_a_never_assessed_household_can_be_verified(api, field_worker_lebak, desa_lebak):
    household = make_household(desa_lebak, per_person=310_000)
    as_user(api, field_worker_lebak)
    assert api.get(f"{CASES}{household.pk}/").status_code == 404
    assert api.post(f"{CASES}{household.pk}/verify/").status_code == 201
    assert api.get(f"{CASES}{household.pk}/").json()["state"] == "verified"


def test_auditor_and_opd_officer_may_not_verify(api, auditor, opd_officer, desa_lebak):
    household = assessed(desa_lebak)
    as_user(api, auditor)
    assert api.post(f"{CASES}{household.pk}/verify/").status_code == 403
    as_user(api, opd_officer)
    assert api.post(f"{CASES}{household.pk}/verify/").status_code == 404
    assert not Transition.objects.filter(household=household).exists()


def test_staff_change_with_a_reason_is_flagged_when_irregular(api, district_lebak, lebak_hh):
    as_user(api, district_lebak)
    response = api.post(
        f"{CASES}{lebak_hh.pk}/change/",
        {"to_state": "graduated", "reason": "Found steady work"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_override"] is True
    assert body["kind"] == "override"
    assert body["actor"] == district_lebak.username
    case = api.get(f"{CASES}{lebak_hh.pk}/").json()
    assert (case["state"], case["is_overridden"]) == ("graduated", True)


def test_exit_needs_an_exit_reason(api, district_lebak, lebak_hh):
    as_user(api, district_lebak)
    response = api.post(
        f"{CASES}{lebak_hh.pk}/change/",
        {"to_state": "exited", "reason": "Family left", "exit_reason": "moved"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["exit_reason"] == "moved"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_state": "exited", "exit_reason": "moved"}, "reason"),
        ({"to_state": "tier2", "reason": "   "}, "reason"),
        ({"to_state": "exited", "reason": "Gone"}, "exit_reason"),
        ({"to_state": "tier2", "reason": "x", "exit_reason": "moved"}, "exit_reason"),
        ({"to_state": "tier1", "reason": "x"}, "to_state"),
        ({"to_state": "tier9", "reason": "x"}, "to_state"),
        ({"reason": "x"}, "to_state"),
        ({"to_state": "exited", "reason": "x", "exit_reason": "bored"}, "exit_reason"),
    ],
)
def test_bad_change_is_refused_and_nothing_written(api, district_lebak, lebak_hh, body, field):
    before = Transition.objects.count()
    as_user(api, district_lebak)
    response = api.post(f"{CASES}{lebak_hh.pk}/change/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Transition.objects.count() == before
    case = Case.objects.get(pk=lebak_hh.pk)
    assert (case.state, case.is_overridden) == ("tier1", False)


@pytest.mark.parametrize("who", ["field_worker_lebak", "auditor"])
def test_only_provincial_and_district_staff_change_a_case(request, api, lebak_hh, who):
    as_user(api, request.getfixturevalue(who))
    response = api.post(
        f"{CASES}{lebak_hh.pk}/change/", {"to_state": "tier2", "reason": "x"}, format="json"
    )
    assert response.status_code == 403
    assert Case.objects.get(pk=lebak_hh.pk).state == "tier1"


def test_district_staff_change_only_their_district(api, district_lebak, pandeglang_hh):
    as_user(api, district_lebak)
    response = api.post(
        f"{CASES}{pandeglang_hh.pk}/change/", {"to_state": "tier2", "reason": "x"}, format="json"
    )
    assert response.status_code == 404


def test_case_list_queries_do_not_grow(api, province_admin, desa_lebak, desa_pandeglang):
    as_user(api, province_admin)
    for desa in (desa_lebak, desa_lebak, desa_pandeglang):
        placed(desa, province_admin)
    few = list_queries(api, CASES)
    for n in range(12):
        if n % 3:
            assessed(desa_lebak)
        else:
            placed(desa_pandeglang, province_admin)
    many = list_queries(api, CASES)
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]


# --- jobs -------------------------------------------------------------------------------------


def region(code):
    return Region.objects.get(code=code)


def job(**fields):
    return RecalculationJob.objects.create(trigger="manual", **fields)


def test_a_job_not_counted_yet_is_at_zero_percent(api, province_admin):
    """A client polling a new job must not take it for finished (it was 100%)."""
    queued = job(status=JobStatus.QUEUED)
    empty = job(status=JobStatus.DONE)
    as_user(api, province_admin)
    assert api.get(f"{JOBS}{queued.pk}/").json()["percent"] == 0
    assert api.get(f"{JOBS}{empty.pk}/").json()["percent"] == 100


def test_jobs_show_progress(api, province_admin):
    running = job(status=JobStatus.RUNNING, total=200, processed=50, assessed=40, moved=3)
    as_user(api, province_admin)
    body = api.get(f"{JOBS}{running.pk}/").json()
    assert body["percent"] == 25
    assert (body["total"], body["processed"], body["assessed"], body["moved"]) == (
        200,
        50,
        40,
        3,
    )
    assert body["status"] == "running"
    assert body["region"] is None


def test_jobs_by_role(
    api, province_admin, district_lebak, district_pandeglang, auditor, field_worker_lebak
):
    lebak = job(region=region(LEBAK), created_by=district_lebak)
    pandeglang = job(region=region(PANDEGLANG), created_by=district_pandeglang)
    malingping = job(region=region("36.02.01"), created_by=province_admin)
    province = job(created_by=province_admin)
    nightly = RecalculationJob.objects.create(trigger="nightly")
    everything = {lebak.pk, pandeglang.pk, malingping.pk, province.pk, nightly.pk}
    for user in (province_admin, auditor):
        as_user(api, user)
        assert ids(api.get(JOBS)) == everything
    as_user(api, district_lebak)
    assert ids(api.get(JOBS)) == {lebak.pk, malingping.pk}
    assert api.get(f"{JOBS}{pandeglang.pk}/").status_code == 404
    assert api.get(f"{JOBS}{province.pk}/").status_code == 404
    as_user(api, field_worker_lebak)
    assert api.get(JOBS).status_code == 403


@pytest.mark.parametrize("who", ["field_worker_lebak", "csr_partner", "opd_officer", "auditor"])
def test_others_may_not_start_a_job(request, api, who):
    as_user(api, request.getfixturevalue(who))
    assert api.post(JOBS, {}, format="json").status_code == 403
    assert not RecalculationJob.objects.exists()
    if who != "auditor":
        assert api.get(JOBS).status_code == 403


def test_admin_starts_a_province_job_that_runs(
    api, province_admin, desa_lebak, django_capture_on_commit_callbacks
):
    for _ in range(3):
        make_household(desa_lebak, per_person=310_000)
    as_user(api, province_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(JOBS, {}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["region"] is None
    assert body["created_by"] == province_admin.username
    done = api.get(f"{JOBS}{body['id']}/").json()
    assert done["status"] == "done"
    assert done["total"] == Household.objects.count()
    assert done["processed"] == done["total"]
    assert done["percent"] == 100


def test_district_staff_start_a_job_in_their_district(api, district_lebak):
    as_user(api, district_lebak)
    default = api.post(JOBS, {}, format="json")
    assert default.status_code == 202
    assert default.json()["region"] == LEBAK
    inside = api.post(JOBS, {"region": "36.02.01"}, format="json")
    assert inside.status_code == 202
    assert inside.json()["region"] == "36.02.01"
    assert RecalculationJob.objects.count() == 2


@pytest.mark.parametrize("code", [PANDEGLANG, "99.99", "36"])
def test_a_region_outside_the_area_or_unknown_is_refused(api, district_lebak, code):
    as_user(api, district_lebak)
    response = api.post(JOBS, {"region": code}, format="json")
    assert response.status_code == 400
    assert "region" in response.json()
    assert not RecalculationJob.objects.exists()


def test_job_list_queries_do_not_grow(api, province_admin, district_lebak):
    as_user(api, province_admin)
    for _ in range(3):
        job(region=region(LEBAK), created_by=district_lebak)
    few = list_queries(api, JOBS)
    for n in range(12):
        job(region=region(PANDEGLANG) if n % 2 else None, created_by=province_admin)
    many = list_queries(api, JOBS)
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]


# --- language ---------------------------------------------------------------------------------


def test_language_changes_words_only(api, province_admin, district_lebak, lebak_hh):
    services.case_change(actor=district_lebak, household=lebak_hh, to_state="tier2", reason="x")
    job(region=region(LEBAK), created_by=district_lebak)
    as_user(api, province_admin)
    for url in (
        RULESETS,
        ASSESSMENTS,
        TRANSITIONS,
        CASES,
        JOBS,
        f"{CASES}{lebak_hh.pk}/",
        f"{RULESETS}1/",
    ):
        english = api.get(url, HTTP_ACCEPT_LANGUAGE="en")
        indonesian = api.get(url, HTTP_ACCEPT_LANGUAGE="id")
        assert english.status_code == indonesian.status_code == 200
        assert english["Content-Language"] == "en"
        assert indonesian["Content-Language"] == "id"
        assert skeleton(english.json()) == skeleton(indonesian.json()), url


# --- household_pathway ------------------------------------------------------------------------


def test_pathway_of_a_placed_household(rf, province_admin, lebak_hh):
    household = Household.objects.select_related("case__latest_assessment").get(pk=lebak_hh.pk)
    request = rf.get("/")
    request.user = province_admin
    data = household_pathway(household, request)
    assert set(data) == {
        "state",
        "state_label",
        "since",
        "is_overridden",
        "explanation",
        "criteria",
    }
    case = Case.objects.get(pk=lebak_hh.pk)
    assert data["state"] == "tier1"
    assert data["state_label"]
    assert data["since"]
    assert data["is_overridden"] is False
    assert data["explanation"] == case.latest_assessment.summary
    assert "391.000" in data["explanation"]
    assert data["criteria"]
    assert all(set(line) == CRITERION_KEYS for line in data["criteria"])


def test_pathway_reads_without_queries_when_selected(rf, django_assert_num_queries, lebak_hh):
    household = Household.objects.select_related("case__latest_assessment").get(pk=lebak_hh.pk)
    with django_assert_num_queries(0):
        household_pathway(household, rf.get("/"))


def test_pathway_of_a_household_never_assessed(rf, desa_lebak):
    household = make_household(desa_lebak, per_person=310_000)
    data = household_pathway(Household.objects.get(pk=household.pk), rf.get("/"))
    assert data["state"] == "registered"
    assert data["since"] is None
    assert data["is_overridden"] is False
    assert data["explanation"] is None
    assert data["criteria"] == []


def test_pathway_of_an_override_is_flagged(rf, district_lebak, lebak_hh):
    services.case_change(
        actor=district_lebak, household=lebak_hh, to_state="graduated", reason="Found work"
    )
    data = household_pathway(Household.objects.get(pk=lebak_hh.pk), rf.get("/"))
    assert (data["state"], data["is_overridden"]) == ("graduated", True)


def test_pathway_language_changes_words_only(rf, lebak_hh):
    household = Household.objects.select_related("case__latest_assessment").get(pk=lebak_hh.pk)
    with translation.override("en"):
        english = household_pathway(household, rf.get("/"))
    with translation.override("id"):
        indonesian = household_pathway(household, rf.get("/"))
    assert skeleton(dict(english)) == skeleton(dict(indonesian))


@pytest.mark.django_db
def test_household_detail_includes_tier_and_explanation(api, field_worker_lebak, desa_lebak):
    from interventions import services as pathway

    hh = make_household(desa_lebak, per_person=310_000, toilet="none")
    pathway.household_recalculate(household_id=hh.pk)
    pathway.case_verify(actor=field_worker_lebak, household=hh)
    pathway.household_recalculate(household_id=hh.pk)
    api.force_authenticate(field_worker_lebak)
    data = api.get(f"/api/v1/households/{hh.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert data["pathway"]["state"] == "tier1"
    assert "391.000" in data["pathway"]["explanation"]
    assert any(not line["passed"] for line in data["pathway"]["criteria"])
