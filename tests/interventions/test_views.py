"""HTML pages of the pathway: who sees what, the staff forms, the rule-set editor and the jobs."""

import html
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from interventions import services
from interventions.forms import RuleSetForm
from interventions.models import (
    Case,
    JobStatus,
    RecalculationJob,
    RuleSet,
    RuleSetStatus,
    Transition,
    TransitionKind,
)
from interventions.rules import default_rules
from regions.models import Region
from tests.conftest import LEBAK, PANDEGLANG

from .conftest import make_household

pytestmark = pytest.mark.django_db

READERS = ["province_admin", "district_lebak", "field_worker_lebak", "auditor"]
NON_READERS = ["opd_officer", "csr_partner", "no_role_user"]
JOB_READERS = ["province_admin", "district_lebak", "auditor"]
NOT_JOB_READERS = ["field_worker_lebak", "opd_officer", "csr_partner", "no_role_user"]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client():
    """Pages in English (the default language is Indonesian; one test checks it)."""
    return Client(headers={"accept-language": "en"})


def login(client, request, fixture):
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    return user


def text(response) -> str:
    return html.unescape(response.content.decode())


def assessed(desa, **kwargs):
    """A household in extreme poverty without a toilet (tier 1), assessed, still registered."""
    household = make_household(desa, **{"per_person": 310_000, "toilet": "none", **kwargs})
    services.household_recalculate(household_id=household.pk)
    return household


def placed(desa, actor):
    household = assessed(desa)
    services.case_verify(actor=actor, household=household)
    services.household_recalculate(household_id=household.pk)
    return household


def written():
    cases = Case.objects.order_by("pk").values_list("pk", "state", "is_overridden")
    return Transition.objects.count(), list(cases)


def page_url(household):
    return reverse("interventions:household", args=[household.pk])


# --- household pathway ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", READERS)
def test_pathway_page_shows_the_stage_and_the_why(fixture, client, request, desa_lebak):
    household = assessed(desa_lebak)
    login(client, request, fixture)
    response = client.get(page_url(household))
    body = text(response)
    assert response.status_code == 200
    assert "Registered" in body
    assert "Tier 1 because spending is Rp 310.000 per person per month" in body
    assert "Rp 391.000" in body
    assert "bg-danger-subtle" in body  # the unmet need (no toilet) is highlighted
    assert "Assessment history" in body
    assert "v1" in body


def test_pathway_page_speaks_indonesian_by_default(field_worker_lebak, desa_lebak):
    household = assessed(desa_lebak)
    indonesian = Client()
    indonesian.force_login(field_worker_lebak)
    body = text(indonesian.get(page_url(household)))
    assert '<html lang="id">' in body
    assert "Rp 391.000" in body
    assert "Tier 1 because" not in body


@pytest.mark.parametrize(
    ("fixture", "verify", "change"),
    [
        ("province_admin", True, True),
        ("district_lebak", True, True),
        ("field_worker_lebak", True, False),
        ("auditor", False, False),
    ],
)
def test_pathway_actions_follow_the_role(fixture, verify, change, client, request, desa_lebak):
    household = assessed(desa_lebak)
    login(client, request, fixture)
    body = text(client.get(page_url(household)))
    assert (reverse("interventions:verify", args=[household.pk]) in body) == verify
    assert (reverse("interventions:change", args=[household.pk]) in body) == change


def test_verify_button_only_while_registered(client, district_lebak, desa_lebak):
    household = placed(desa_lebak, district_lebak)
    client.force_login(district_lebak)
    body = text(client.get(page_url(household)))
    assert reverse("interventions:verify", args=[household.pk]) not in body
    assert reverse("interventions:change", args=[household.pk]) in body


@pytest.mark.parametrize("fixture", ["district_pandeglang", "opd_officer"])
def test_pathway_outside_scope_is_404(fixture, client, request, desa_lebak):
    household = assessed(desa_lebak)
    login(client, request, fixture)
    for name in ("household", "household_panel"):
        assert client.get(reverse(f"interventions:{name}", args=[household.pk])).status_code == 404


@pytest.mark.parametrize("fixture", ["csr_partner", "no_role_user"])
def test_pathway_is_forbidden_without_personal_data(fixture, client, request, desa_lebak):
    household = assessed(desa_lebak)
    login(client, request, fixture)
    assert client.get(page_url(household)).status_code == 403


def test_pathway_needs_login(client, desa_lebak):
    household = assessed(desa_lebak)
    response = client.get(page_url(household))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_panel_is_a_partial_linking_to_the_page(client, field_worker_lebak, desa_lebak):
    household = assessed(desa_lebak)
    client.force_login(field_worker_lebak)
    response = client.get(reverse("interventions:household_panel", args=[household.pk]), **HX)
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert page_url(household) in body
    assert "Tier 1 because" in body


def test_household_page_loads_the_panel_lazily(client, field_worker_lebak, desa_lebak):
    household = assessed(desa_lebak)
    client.force_login(field_worker_lebak)
    body = text(client.get(reverse("households:detail", args=[household.pk])))
    assert reverse("interventions:household_panel", args=[household.pk]) in body
    assert 'hx-trigger="load"' in body


def test_never_assessed_household_reads_as_registered(client, province_admin, desa_lebak):
    household = make_household(desa_lebak, per_person=300_000)
    client.force_login(province_admin)
    body = text(client.get(page_url(household)))
    assert "Not assessed yet" in body
    assert "Registered" in body


def test_timeline_shows_moves_with_reason_and_actor(client, field_worker_lebak, desa_lebak):
    household = placed(desa_lebak, field_worker_lebak)
    client.force_login(field_worker_lebak)
    body = text(client.get(page_url(household)))
    assert "Verified in the field." in body
    assert "System" in body  # the automatic placement
    assert "Placed in tier 1 after verification because" in body
    placement = Transition.objects.get(household=household, to_state="tier1")
    assert f'href="#assessment-{placement.assessment_id}"' in body
    assert f'id="assessment-{placement.assessment_id}"' in body


def test_field_worker_verifies(
    client, field_worker_lebak, desa_lebak, django_capture_on_commit_callbacks
):
    household = assessed(desa_lebak)
    client.force_login(field_worker_lebak)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("interventions:verify", args=[household.pk]), {"note": "Checked at home."}
        )
    assert response.status_code == 302
    assert response["Location"] == page_url(household)
    verified = Transition.objects.get(household=household, to_state="verified")
    assert verified.actor == field_worker_lebak
    assert verified.reason == "Checked at home."
    assert Case.objects.get(pk=household.pk).state == "tier1"  # placed after commit


def test_verifying_twice_is_refused_with_a_message(client, district_lebak, desa_lebak):
    household = placed(desa_lebak, district_lebak)
    client.force_login(district_lebak)
    before = written()
    response = client.post(reverse("interventions:verify", args=[household.pk]))
    assert response.status_code == 409
    assert "Only a registered household can be verified." in text(response)
    assert written() == before


@pytest.mark.parametrize(("fixture", "status"), [("auditor", 403), ("district_pandeglang", 404)])
def test_verify_refused_outside_the_role_or_scope(fixture, status, client, request, desa_lebak):
    household = assessed(desa_lebak)
    login(client, request, fixture)
    before = written()
    response = client.post(reverse("interventions:verify", args=[household.pk]))
    assert response.status_code == status
    assert written() == before


def test_change_without_reason_is_a_field_error(client, district_lebak, desa_lebak):
    household = placed(desa_lebak, district_lebak)
    client.force_login(district_lebak)
    before = written()
    response = client.post(
        reverse("interventions:change", args=[household.pk]), {"to_state": "tier2", "reason": " "}
    )
    body = text(response)
    assert response.status_code == 200
    assert 'id="id_reason_error"' in body
    assert "A manual change needs a reason." in body
    assert written() == before


def test_exit_needs_an_exit_reason(client, district_lebak, desa_lebak):
    household = placed(desa_lebak, district_lebak)
    client.force_login(district_lebak)
    before = written()
    url = reverse("interventions:change", args=[household.pk])
    response = client.post(url, {"to_state": "exited", "reason": "Moved to Jakarta."})
    body = text(response)
    assert 'id="id_exit_reason_error"' in body
    assert "An exit needs an exit reason" in body
    assert written() == before
    response = client.post(
        url, {"to_state": "exited", "reason": "Moved to Jakarta.", "exit_reason": "moved"}
    )
    assert response.status_code == 302
    exit_move = Transition.objects.get(household=household, to_state="exited")
    assert exit_move.exit_reason == "moved"
    assert exit_move.kind == TransitionKind.MANUAL


def test_override_is_recorded_and_flagged(client, province_admin, desa_lebak):
    household = assessed(desa_lebak)  # registered: tier 2 is outside the regular path
    client.force_login(province_admin)
    response = client.post(
        reverse("interventions:change", args=[household.pk]),
        {"to_state": "tier2", "reason": "Ready for training, per the field report."},
    )
    assert response.status_code == 302
    move = Transition.objects.get(household=household)
    assert move.kind == TransitionKind.OVERRIDE
    assert move.actor == province_admin
    assert Case.objects.get(pk=household.pk).is_overridden
    body = text(client.get(response["Location"]))
    assert "(manual override)." in body  # the flash message
    assert "manual override</span>" in body  # the stage's flag
    assert "Ready for training, per the field report." in body


def test_field_worker_cannot_change_the_stage(client, field_worker_lebak, desa_lebak):
    household = assessed(desa_lebak)
    client.force_login(field_worker_lebak)
    before = written()
    response = client.post(
        reverse("interventions:change", args=[household.pk]),
        {"to_state": "verified", "reason": "Seen."},
    )
    assert response.status_code == 403
    assert written() == before


def test_change_to_a_state_not_offered_is_refused(client, district_lebak, desa_lebak):
    household = placed(desa_lebak, district_lebak)
    client.force_login(district_lebak)
    before = written()
    response = client.post(
        reverse("interventions:change", args=[household.pk]),
        {"to_state": "tier1", "reason": "Already there."},
    )
    assert response.status_code == 200
    assert 'id="id_to_state_error"' in text(response)
    assert written() == before


def test_exit_reason_select_appears_only_for_an_exit(client, district_lebak, desa_lebak):
    household = placed(desa_lebak, district_lebak)
    client.force_login(district_lebak)
    url = reverse("interventions:exit_reason", args=[household.pk])
    assert 'name="exit_reason"' in text(client.get(url, {"to_state": "exited"}, **HX))
    assert 'name="exit_reason"' not in text(client.get(url, {"to_state": "tier2"}, **HX))


def test_exit_reason_partial_needs_the_right_to_change(client, auditor, desa_lebak):
    household = assessed(desa_lebak)
    client.force_login(auditor)
    url = reverse("interventions:exit_reason", args=[household.pk])
    assert client.get(url, {"to_state": "exited"}, **HX).status_code == 403


# --- tier overview ----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", READERS)
def test_overview_opens_for_readers(fixture, client, request):
    login(client, request, fixture)
    response = client.get(reverse("interventions:overview"))
    assert response.status_code == 200
    assert "Households by stage" in text(response)


@pytest.mark.parametrize("fixture", NON_READERS)
def test_overview_is_forbidden_without_the_register(fixture, client, request):
    login(client, request, fixture)
    assert client.get(reverse("interventions:overview")).status_code == 403


def row_cells(body: str, name: str) -> list[int]:
    """The numbers of the overview row whose region is `name`."""
    start = body.index(f">{name}<")
    row = body[start : body.index("</tr>", start)]
    cells = row.split('class="text-end')[1:]
    return [int(cell.split(">", 1)[1].split("<", 1)[0]) for cell in cells]


def test_overview_counts_households_per_stage(
    client, province_admin, district_lebak, desa_lebak, desa_pandeglang
):
    placed(desa_lebak, district_lebak)  # tier 1
    assessed(desa_lebak)  # registered
    make_household(desa_lebak, per_person=300_000)  # no case: not assessed
    make_household(desa_pandeglang, per_person=300_000)
    client.force_login(province_admin)
    body = text(client.get(reverse("interventions:overview")))
    lebak = Region.objects.get(code=LEBAK).name
    pandeglang = Region.objects.get(code=PANDEGLANG).name
    # registered, verified, tier1, tier2, tier3, graduated, exited, not assessed, total
    assert row_cells(body, lebak) == [1, 0, 1, 0, 0, 0, 0, 1, 3]
    assert row_cells(body, pandeglang) == [0, 0, 0, 0, 0, 0, 0, 1, 1]


def test_overview_shows_only_reachable_regions(
    client, district_lebak, field_worker_lebak, desa_lebak, desa_pandeglang
):
    assessed(desa_lebak)
    assessed(desa_pandeglang)
    lebak = Region.objects.get(code=LEBAK).name
    pandeglang = Region.objects.get(code=PANDEGLANG).name
    client.force_login(district_lebak)
    body = text(client.get(reverse("interventions:overview")))
    assert lebak in body
    assert pandeglang not in body
    assert client.get(reverse("interventions:overview", args=[PANDEGLANG])).status_code == 404
    client.force_login(field_worker_lebak)
    body = text(client.get(reverse("interventions:overview", args=[LEBAK])))
    kecamatan = Region.objects.filter(parent__code=LEBAK).order_by("code")
    assert kecamatan[0].name in body  # Malingping, their kecamatan
    assert kecamatan[1].name not in body
    assert row_cells(body, kecamatan[0].name)[0] == 1


def test_overview_drills_down_to_villages(client, province_admin, desa_lebak):
    assessed(desa_lebak)
    client.force_login(province_admin)
    kecamatan = desa_lebak.parent
    response = client.get(reverse("interventions:overview", args=[kecamatan.code]))
    body = text(response)
    assert desa_lebak.name in body
    assert row_cells(body, desa_lebak.name)[0] == 1
    assert client.get(f"/pathway/regions/{desa_lebak.code}/").status_code == 404
    assert client.get(reverse("interventions:overview", args=["36"])).status_code == 302


def test_overview_htmx_returns_the_partial(client, province_admin):
    client.force_login(province_admin)
    response = client.get(reverse("interventions:overview", args=[LEBAK]), **HX)
    assert response.status_code == 200
    assert "<html" not in text(response)
    assert "breadcrumb" in text(response)


def test_overview_queries_do_not_grow_with_households(client, province_admin, desa_lebak):
    client.force_login(province_admin)
    url = reverse("interventions:overview")

    def queries_with(n: int) -> int:
        for _ in range(n):
            make_household(desa_lebak, per_person=300_000)
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert queries_with(3) == queries_with(12)  # 3 then 15 households


# --- rule sets --------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", READERS)
def test_rule_sets_read_by_every_reader(fixture, client, request):
    login(client, request, fixture)
    listing = text(client.get(reverse("interventions:rules")))
    assert "v1" in listing
    assert "In force" in listing
    assert (reverse("interventions:rule_new") in listing) == (fixture == "province_admin")
    detail = client.get(reverse("interventions:rule_detail", args=[1]))
    body = text(detail)
    assert detail.status_code == 200
    assert "Rp 391.000 per person per month" in body
    assert "Rp 684.232" in body
    assert "drinking water source is" in body  # a criterion in words
    assert "critical" in body


@pytest.mark.parametrize("fixture", NON_READERS)
def test_rule_sets_forbidden_without_the_register(fixture, client, request):
    login(client, request, fixture)
    assert client.get(reverse("interventions:rules")).status_code == 403
    assert client.get(reverse("interventions:rule_detail", args=[1])).status_code == 403


@pytest.fixture
def draft(province_admin):
    return services.rule_set_create(actor=province_admin, name="Draft 2026")


@pytest.mark.parametrize("fixture", ["district_lebak", "field_worker_lebak", "auditor"])
def test_only_provincial_admins_edit_rules(fixture, client, request, draft):
    login(client, request, fixture)
    count = RuleSet.objects.count()
    assert client.post(reverse("interventions:rule_new")).status_code == 403
    assert client.get(reverse("interventions:rule_edit", args=[draft.version])).status_code == 403
    publish = reverse("interventions:rule_publish", args=[draft.version])
    assert client.get(publish).status_code == 403
    assert client.post(publish).status_code == 403
    assert RuleSet.objects.count() == count
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSetStatus.DRAFT


def test_new_draft_copies_the_set_in_force(client, province_admin):
    client.force_login(province_admin)
    response = client.post(reverse("interventions:rule_new"))
    new = RuleSet.objects.order_by("-version").first()
    assert response.status_code == 302
    assert response["Location"] == reverse("interventions:rule_edit", args=[new.version])
    assert new.status == RuleSetStatus.DRAFT
    assert new.rules == RuleSet.objects.in_force().get().rules


def form_data(rule_set, **changes) -> dict:
    """The editor's fields as the browser posts them, with `changes` applied."""
    initial = RuleSetForm.initial_from(rule_set)
    data = {}
    for name, value in initial.items():
        if name == "deprivations":
            data[name] = json.dumps(value)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def test_editor_saves_a_draft(client, province_admin, draft):
    client.force_login(province_admin)
    url = reverse("interventions:rule_edit", args=[draft.version])
    page = text(client.get(url))
    assert 'name="extreme_poverty_line"' in page
    assert 'name="deprivations"' in page
    response = client.post(
        url,
        form_data(
            draft,
            name="Lines 2026",
            extreme_poverty_line=420_000,
            critical_information="on",
            tier3_group="on",
            tier2_excluded=["unable", "child"],
        ),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Lines 2026"
    assert draft.rules["extreme_poverty_line"] == 420_000
    assert draft.rules["deprivations"]["information"]["critical"] is True
    assert draft.rules["tiers"]["tier3"]["requires_active_group"] is True
    assert draft.rules["tiers"]["tier2"]["excluded_work_statuses"] == ["unable", "child"]
    assert (
        draft.rules["deprivations"]["water"]
        == RuleSet.objects.get(version=1).rules["deprivations"]["water"]
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"extreme_poverty_line": -5},
            "extreme_poverty_line",
            "Must be a whole number of rupiah above zero and at most Rp 100.000.000.",
        ),
        (
            {"tier2_max_unmet": 0, "tier3_max_unmet": 2},
            "tier3_max_unmet",
            "Tier 3 entry cannot be looser than tier 2",
        ),
        (
            {"extreme_poverty_line": 800_000},
            "extreme_poverty_line",
            "cannot be above the provincial poverty line",
        ),
        ({"name": " "}, "name", "Give the rule set a name."),
        (
            {"deprivations": '{"food": {"criteria": [{"field": "meals", "op": "<", "value": 2}]}}'},
            "deprivations",
            "Missing needs",
        ),
        (
            {"deprivations": '{\n  "food": {}\n  "water": {}\n}'},
            "deprivations",
            "This is not valid JSON: look at line 3, column 3",
        ),
        ({"year": "twenty"}, "year", "Enter a whole number."),
    ],
)
def test_editor_refuses_invalid_rules(client, province_admin, draft, changes, field, message):
    client.force_login(province_admin)
    before = RuleSet.objects.get(pk=draft.pk)
    response = client.post(
        reverse("interventions:rule_edit", args=[draft.version]), form_data(draft, **changes)
    )
    body = text(response)
    assert response.status_code == 200
    error = body[body.index(f'id="id_{field}_error"') :]
    assert message in error[: error.index("</div>")]
    after = RuleSet.objects.get(pk=draft.pk)
    assert (after.name, after.rules) == (before.name, before.rules)


def test_editor_shows_every_error_in_one_round_even_with_broken_json(client, province_admin, draft):
    client.force_login(province_admin)
    changes = {
        "deprivations": "{not json",
        "extreme_poverty_line": 900_000,  # above the provincial line
        "tier2_age_min": 70,  # working age 70 to 64
        "tier2_max_unmet": 0,
        "tier3_max_unmet": "abc",  # its own error only, not also "looser than tier 2"
    }
    response = client.post(
        reverse("interventions:rule_edit", args=[draft.version]), form_data(draft, **changes)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["deprivations"][0].startswith("This is not valid JSON: look at line 1, column 2")
    assert "cannot be above the provincial poverty line" in errors["extreme_poverty_line"][0]
    assert "tier2_age_min" in errors or "tier2_age_max" in errors
    assert errors["tier3_max_unmet"] == ["Enter a whole number."]
    body = text(response)
    summary = body[body.index("data-error-summary") :]
    summary = summary[: summary.index("</div>")]
    for field in ("deprivations", "extreme_poverty_line", "tier3_max_unmet"):
        assert f'href="#id_{field}"' in summary
    assert RuleSet.objects.get(pk=draft.pk).rules == draft.rules


def test_editor_names_the_path_of_a_criterion_error(client, province_admin, draft):
    deprivations = RuleSetForm.initial_from(draft)["deprivations"]
    deprivations["water"]["criteria"][0]["field"] = "watr_source"
    client.force_login(province_admin)
    response = client.post(
        reverse("interventions:rule_edit", args=[draft.version]),
        form_data(draft, deprivations=json.dumps(deprivations)),
    )
    body = text(response)
    assert "water.criteria[0].field: Unknown field 'watr_source'" in body
    assert RuleSet.objects.get(pk=draft.pk).rules == draft.rules


def test_published_set_is_not_edited(client, province_admin):
    client.force_login(province_admin)
    response = client.get(reverse("interventions:rule_edit", args=[1]))
    assert response.status_code == 302
    assert response["Location"] == reverse("interventions:rule_detail", args=[1])


def test_publish_asks_then_recalculates_the_province(client, province_admin, draft, desa_lebak):
    make_household(desa_lebak, per_person=300_000)
    client.force_login(province_admin)
    url = reverse("interventions:rule_publish", args=[draft.version])
    confirm = text(client.get(url))
    assert "Every household in the province will be recalculated" in confirm
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSetStatus.DRAFT
    response = client.post(url)
    job = RecalculationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("interventions:job", args=[job.pk])
    assert job.trigger == RecalculationJob.Trigger.RULES
    assert job.region is None
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSetStatus.PUBLISHED
    assert RuleSet.objects.get(version=1).status == RuleSetStatus.RETIRED


def test_publishing_invalid_rules_publishes_nothing(client, province_admin):
    rules = default_rules()
    rules["extreme_poverty_line"] = -1
    bad = RuleSet.objects.create(version=99, name="Broken", rules=rules)
    client.force_login(province_admin)
    response = client.post(reverse("interventions:rule_publish", args=[bad.version]))
    assert response.status_code == 200
    assert "extreme_poverty_line: Must be a whole number of rupiah above zero" in text(response)
    assert RuleSet.objects.get(pk=bad.pk).status == RuleSetStatus.DRAFT
    assert RuleSet.objects.get(version=1).status == RuleSetStatus.PUBLISHED
    assert not RecalculationJob.objects.exists()


# --- recalculation jobs -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", JOB_READERS)
def test_job_list_for_job_readers(fixture, client, request):
    login(client, request, fixture)
    response = client.get(reverse("interventions:jobs"))
    assert response.status_code == 200
    assert ('name="region"' in text(response)) == (fixture != "auditor")


@pytest.mark.parametrize("fixture", NOT_JOB_READERS)
def test_job_pages_forbidden_to_others(fixture, client, request):
    job = RecalculationJob.objects.create(trigger="manual")
    login(client, request, fixture)
    assert client.get(reverse("interventions:jobs")).status_code == 403
    assert client.get(reverse("interventions:job", args=[job.pk])).status_code == 403
    assert client.post(reverse("interventions:jobs")).status_code == 403


def test_auditor_cannot_start_a_job(client, auditor):
    client.force_login(auditor)
    assert client.post(reverse("interventions:jobs"), {"region": ""}).status_code == 403
    assert not RecalculationJob.objects.exists()


def test_admin_recalculates_the_province(
    client, province_admin, desa_lebak, django_capture_on_commit_callbacks
):
    make_household(desa_lebak, per_person=300_000)
    client.force_login(province_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("interventions:jobs"), {"region": ""})
    job = RecalculationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("interventions:job", args=[job.pk])
    assert job.region is None
    assert job.created_by == province_admin
    assert job.status == JobStatus.DONE
    body = text(client.get(response["Location"]))
    assert "100%" in body
    assert 'hx-trigger="every 2s"' not in body


def test_district_staff_recalculate_their_district_only(client, district_lebak):
    client.force_login(district_lebak)
    page = text(client.get(reverse("interventions:jobs")))
    assert "The whole province" not in page
    assert f'value="{LEBAK}"' in page
    assert f'value="{PANDEGLANG}"' not in page
    response = client.post(reverse("interventions:jobs"), {"region": PANDEGLANG})
    assert response.status_code == 200
    assert 'id="id_region_error"' in text(response)
    assert not RecalculationJob.objects.exists()
    response = client.post(reverse("interventions:jobs"), {"region": LEBAK})
    assert response.status_code == 302
    assert RecalculationJob.objects.get().region.code == LEBAK


def test_jobs_outside_the_district_are_404(client, district_pandeglang):
    lebak_job = RecalculationJob.objects.create(
        trigger="manual", region=Region.objects.get(code=LEBAK)
    )
    client.force_login(district_pandeglang)
    assert client.get(reverse("interventions:job", args=[lebak_job.pk])).status_code == 404
    assert f"#{lebak_job.pk}" not in text(client.get(reverse("interventions:jobs")))


def test_progress_partial_polls_until_done(client, auditor):
    job = RecalculationJob.objects.create(
        trigger="manual", status=JobStatus.RUNNING, total=200, processed=50
    )
    client.force_login(auditor)
    url = reverse("interventions:job", args=[job.pk])
    response = client.get(url, **HX)
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'hx-trigger="every 2s"' in body
    assert f'hx-get="{url}"' in body
    assert "25%" in body
    full = text(client.get(url))
    assert "<html" in full
    assert 'hx-trigger="every 2s"' in full
    RecalculationJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, processed=200)
    body = text(client.get(url, **HX))
    assert 'hx-trigger="every 2s"' not in body
    assert "100%" in body
    RecalculationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error="Boom")
    body = text(client.get(url, **HX))
    assert 'hx-trigger="every 2s"' not in body
    assert "Boom" in body


def test_job_list_queries_do_not_grow_with_jobs(client, province_admin, district_lebak):
    client.force_login(province_admin)
    url = reverse("interventions:jobs")
    lebak = Region.objects.get(code=LEBAK)

    def queries_with(n: int) -> int:
        for i in range(n):
            RecalculationJob.objects.create(
                trigger="manual", region=lebak if i % 2 else None, created_by=district_lebak
            )
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert queries_with(3) == queries_with(12)  # 3 then 15 jobs


# --- navigation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "jobs_link"),
    [
        ("province_admin", True),
        ("district_lebak", True),
        ("auditor", True),
        ("field_worker_lebak", False),
    ],
)
def test_navbar_links_follow_the_role(fixture, jobs_link, client, request):
    login(client, request, fixture)
    body = text(client.get(reverse("interventions:rules")))
    assert reverse("interventions:overview") in body
    assert (f'href="{reverse("interventions:jobs")}"' in body) == jobs_link
