"""Regression tests for problems found in review: each once answered with a 500 or a bad state."""

from contextlib import contextmanager
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from households import services as register
from households.models import Household
from interventions import services as pathway
from interventions import tasks
from interventions.models import JobStatus, RecalculationJob, RuleSet
from interventions.rules import validate_rules
from tests.factories import HouseholdFactory


@pytest.mark.django_db
def test_history_of_a_household_without_history_rows(client, province_admin, desa_lebak):
    household = HouseholdFactory(desa=desa_lebak)
    household.history.all().delete()  # as after a bulk import
    household.members.get().history.all().delete()
    client.force_login(province_admin)
    response = client.get(reverse("households:history", args=[household.pk]))
    assert response.status_code == 200


@contextmanager
def lock_taken():
    yield False


@pytest.mark.django_db
def test_a_job_waits_while_another_batch_holds_the_lock(monkeypatch, desa_lebak):
    HouseholdFactory(desa=desa_lebak)
    job = RecalculationJob.objects.create(trigger="manual")
    monkeypatch.setattr(pathway, "batch_lock", lock_taken)
    with pytest.raises(pathway.BatchBusy):
        pathway.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    retried = []

    def fake_retry(*args, **kwargs):
        retried.append(kwargs.get("countdown"))
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.run_recalculation_job, "retry", fake_retry)
    with pytest.raises(RuntimeError):
        tasks.run_recalculation_job.run(job.pk)
    assert retried == [30]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_numbers_are_not_rules(bad):
    rules = RuleSet(rules={}).rules or {}
    with pytest.raises(ValidationError):
        validate_rules(
            {
                **rules,
                "deprivations": {
                    "food": {
                        "critical": True,
                        "criteria": [{"field": "meals_per_day", "op": "<", "value": bad}],
                    }
                },
            }
        )


def test_absurd_poverty_line_is_refused():
    with pytest.raises(ValidationError) as exc:
        validate_rules({"extreme_poverty_line": 10**40, "poverty_line": 10**41})
    assert "extreme_poverty_line" in exc.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/households/", "/api/v1/rulesets/"])
def test_deeply_nested_json_is_a_400(api, province_admin, url):
    api.force_authenticate(province_admin)
    body = "[" * 100_000 + "]" * 100_000
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/assessments/", "/api/v1/transitions/"])
def test_huge_household_filter_is_a_400(api, province_admin, url):
    api.force_authenticate(province_admin)
    response = api.get(url, {"household": "9" * 25})
    assert response.status_code == 400
    assert "household" in response.json()


@pytest.mark.django_db
def test_the_last_member_cannot_leave(field_worker_lebak, desa_lebak):
    household = HouseholdFactory(desa=desa_lebak)
    head = household.members.get()
    with pytest.raises(ValidationError) as exc:
        register.member_leave(
            actor=field_worker_lebak, member=head, status="died", left_on=date.today()
        )
    assert "status" in exc.value.message_dict
    assert Household.objects.get(pk=household.pk).members.active().count() == 1


@pytest.mark.django_db
def test_stale_member_edit_is_a_conflict_in_page_and_api(
    client, api, field_worker_lebak, desa_lebak
):
    household = HouseholdFactory(desa=desa_lebak)
    head = household.members.get()
    seen = household.version
    register.household_update(actor=field_worker_lebak, household=household, rt="007")
    client.force_login(field_worker_lebak)
    page = client.get(reverse("households:member_edit", args=[head.pk]))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["household_version"] = seen
    data["occupation"] = "Petani"
    response = client.post(reverse("households:member_edit", args=[head.pk]), data)
    assert response.status_code == 409
    api.force_authenticate(field_worker_lebak)
    answer = api.patch(
        f"/api/v1/members/{head.pk}/",
        {"occupation": "Nelayan", "household_version": seen},
        format="json",
    )
    assert answer.status_code == 409
    head.refresh_from_db()
    assert head.occupation == ""
    fresh = api.patch(
        f"/api/v1/members/{head.pk}/",
        {"occupation": "Nelayan", "household_version": seen + 1},
        format="json",
    )
    assert fresh.status_code == 200
