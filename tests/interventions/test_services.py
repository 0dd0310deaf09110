"""Rule sets, recalculation and the pathway through the services (tasks run in-process)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from households import services as register
from interventions import services
from interventions.models import (
    Assessment,
    Case,
    JobStatus,
    RecalculationJob,
    RuleSet,
    RuleSetStatus,
    Transition,
    TransitionKind,
)
from interventions.recalculation import RulesInForce, recalculate_chunk
from povertycase.errors import DomainError, NotAllowed, OutOfScope

from .conftest import make_household


def rules_with(**changes) -> dict:
    rules = RuleSet.objects.in_force().get().rules
    return {**rules, **changes}


def state_of(household) -> str:
    return Case.objects.get(pk=household.pk).state


def run_province(actor=None, chunk_size=None) -> RecalculationJob:
    job = RecalculationJob.objects.create(trigger="manual")
    return services.job_run(job_id=job.pk, chunk_size=chunk_size)


@pytest.mark.django_db
def test_default_rule_set_is_in_force():
    rule_set = RuleSet.objects.in_force().get()
    assert rule_set.version == 1
    assert rule_set.rules["extreme_poverty_line"] == 391_000


@pytest.mark.django_db
def test_new_household_is_assessed_but_waits_for_verification(desa_lebak):
    hh = make_household(desa_lebak, per_person=300_000, toilet="none")
    services.household_recalculate(household_id=hh.pk)
    case = Case.objects.get(pk=hh.pk)
    assert case.state == "registered"
    assessment = case.latest_assessment
    assert assessment.extreme_poor
    assert assessment.recommended_tier == 1
    assert "sanitation" in assessment.unmet_needs
    assert not Transition.objects.filter(household=hh).exists()


@pytest.mark.django_db
def test_verification_places_the_household_with_a_reason(field_worker_lebak, desa_lebak):
    hh = make_household(desa_lebak, per_person=310_000, toilet="none")
    services.household_recalculate(household_id=hh.pk)
    services.case_verify(actor=field_worker_lebak, household=hh)
    services.household_recalculate(household_id=hh.pk)
    assert state_of(hh) == "tier1"
    placed = Transition.objects.filter(household=hh, to_state="tier1").get()
    assert placed.actor is None
    assert placed.kind == TransitionKind.AUTOMATIC
    assert placed.assessment_id == Case.objects.get(pk=hh.pk).latest_assessment_id
    text = placed.reason_text
    assert "310.000" in text
    assert "391.000" in text


@pytest.mark.django_db
def test_member_change_moves_the_tier_after_commit(
    field_worker_lebak, desa_lebak, django_capture_on_commit_callbacks
):
    hh = make_household(desa_lebak, per_person=300_000, toilet="none")
    services.household_recalculate(household_id=hh.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_verify(actor=field_worker_lebak, household=hh)
    assert state_of(hh) == "tier1"
    with django_capture_on_commit_callbacks(execute=True):
        register.household_update(actor=field_worker_lebak, household=hh, toilet="own")
    assert state_of(hh) == "tier2"
    move = Transition.objects.get(household=hh, to_state="tier2")
    assert move.from_state == "tier1"
    assert move.assessment.inputs["toilet"] == "own"


@pytest.mark.django_db
def test_unchanged_data_is_not_assessed_again(desa_lebak, django_assert_num_queries):
    hh = make_household(desa_lebak, per_person=300_000)
    services.household_recalculate(household_id=hh.pk)
    services.household_recalculate(household_id=hh.pk)
    assert Assessment.objects.filter(household=hh).count() == 1


@pytest.mark.django_db
def test_batch_is_idempotent(field_worker_lebak, desa_lebak):
    households = [make_household(desa_lebak, per_person=p) for p in (200_000, 500_000, 900_000)]
    for hh in households:
        services.household_recalculate(household_id=hh.pk)
        services.case_verify(actor=field_worker_lebak, household=hh)
    first = run_province(chunk_size=2)
    assert first.status == JobStatus.DONE
    assert first.processed == 3
    states = {hh.pk: state_of(hh) for hh in households}
    counts = (Assessment.objects.count(), Transition.objects.count())
    second = run_province(chunk_size=2)
    assert second.assessed == 0
    assert second.moved == 0
    assert {hh.pk: state_of(hh) for hh in households} == states
    assert (Assessment.objects.count(), Transition.objects.count()) == counts


@pytest.mark.django_db
def test_resumed_job_ends_like_an_uninterrupted_one(desa_lebak):
    households = [make_household(desa_lebak, per_person=100_000 * i) for i in range(1, 7)]
    ids = sorted(hh.pk for hh in households)
    job = RecalculationJob.objects.create(trigger="manual")
    # A worker died after committing the first chunk of two households.
    rules = RulesInForce.load()
    recalculate_chunk(ids[:2], rules=rules, job=job)
    RecalculationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, total=6, processed=2, last_household_id=ids[1]
    )
    done = services.job_run(job_id=job.pk, chunk_size=2)
    assert done.status == JobStatus.DONE
    assert done.processed == 6
    assert Assessment.objects.count() == 6
    assert Case.objects.filter(latest_assessment__isnull=False).count() == 6


@pytest.mark.django_db
def test_done_job_is_not_run_again(desa_lebak):
    make_household(desa_lebak, per_person=300_000)
    job = run_province()
    Case.objects.all().update(fingerprint="")
    again = services.job_run(job_id=job.pk)
    assert again.processed == 1
    assert Assessment.objects.count() == 1


@pytest.mark.django_db
def test_chunk_runs_a_constant_number_of_queries(desa_lebak, django_assert_num_queries):
    small = [make_household(desa_lebak, per_person=300_000).pk for _ in range(2)]
    large = [make_household(desa_lebak, per_person=300_000).pk for _ in range(12)]
    rules = RulesInForce.load()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    warm_up = make_household(desa_lebak, per_person=300_000).pk
    recalculate_chunk([warm_up], rules=rules)  # stores the verdict layout (once ever)
    with CaptureQueriesContext(connection) as few:
        recalculate_chunk(small, rules=rules)
    with CaptureQueriesContext(connection) as many:
        recalculate_chunk(large, rules=rules)
    assert len(few) == len(many)


@pytest.mark.django_db
def test_publishing_a_higher_line_moves_exactly_the_households_between_the_lines(
    province_admin, desa_lebak, django_capture_on_commit_callbacks
):
    households = {
        # tier 1: basic needs unmet, spending far below both lines
        "tier1": make_household(desa_lebak, per_person=250_000, toilet="none"),
        # tier 2: needs met, spending below both lines (normal while training)
        "tier2": make_household(desa_lebak, per_person=300_000),
        # graduated, spending between the old and the new line (the old line itself included)
        "between": make_household(desa_lebak, per_person=420_000),
        "at_old_line": make_household(desa_lebak, per_person=391_000),
        # graduated, spending at or above the new line
        "at_new_line": make_household(desa_lebak, per_person=450_000),
        "above_new": make_household(desa_lebak, per_person=500_000),
    }
    now = timezone.now()
    states = {"tier1": "tier1", "tier2": "tier2"}
    for key, household in households.items():
        Case.objects.create(household=household, state=states.get(key, "graduated"), since=now)
    run_province()  # settle under the line in force (Rp 391.000): nobody moves
    assert not Transition.objects.exists()
    before = set(Transition.objects.values_list("pk", flat=True))

    draft = services.rule_set_create(
        actor=province_admin, name="Line 2026", rules=rules_with(extreme_poverty_line=450_000)
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = services.rule_set_publish(actor=province_admin, rule_set=draft)
    job.refresh_from_db()
    assert job.trigger == "rules"
    assert job.status == JobStatus.DONE  # ran in-process after commit

    new = Transition.objects.exclude(pk__in=before)
    moved = {households["between"].pk, households["at_old_line"].pk}
    assert {t.household_id for t in new} == moved
    for relapse in new:
        assert relapse.kind == TransitionKind.RELAPSE
        assert relapse.to_state == "tier1"
        assert "450.000" in relapse.reason_text
        assert relapse.assessment.rule_set == draft
    assert state_of(households["at_new_line"]) == "graduated"
    assert state_of(households["above_new"]) == "graduated"
    assert state_of(households["tier1"]) == "tier1"
    assert state_of(households["tier2"]) == "tier2"
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.PUBLISHED
    assert RuleSet.objects.get(version=1).status == RuleSetStatus.RETIRED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"extreme_poverty_line": -5}, "rules.extreme_poverty_line"),
        (
            {
                "deprivations": {
                    "water": {
                        "critical": True,
                        "criteria": [{"field": "watr_source", "op": "==", "value": "river"}],
                    }
                }
            },
            "rules.deprivations.water.criteria[0].field",
        ),
        (
            {
                "tiers": {
                    "tier2": {"max_unmet_critical_needs": 0},
                    "tier3": {"max_unmet_critical_needs": 2},
                }
            },
            "rules.tiers.tier3.max_unmet_critical_needs",
        ),
    ],
)
def test_invalid_rule_sets_are_refused(province_admin, changes, field):
    before = list(RuleSet.objects.values_list("pk", "status"))
    with pytest.raises(ValidationError) as exc:
        services.rule_set_create(actor=province_admin, name="Bad", rules=rules_with(**changes))
    assert field in exc.value.message_dict
    assert list(RuleSet.objects.values_list("pk", "status")) == before


@pytest.mark.django_db
def test_invalid_draft_is_not_published(province_admin):
    draft = services.rule_set_create(actor=province_admin, name="Draft")
    RuleSet.objects.filter(pk=draft.pk).update(rules=rules_with(poverty_line="lots"))
    draft.refresh_from_db()
    with pytest.raises(ValidationError):
        services.rule_set_publish(actor=province_admin, rule_set=draft)
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.DRAFT
    assert RuleSet.objects.in_force().get().version == 1
    assert not RecalculationJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["district_lebak", "field_worker_lebak", "auditor"])
def test_only_provincial_admins_edit_rules(fixture, request):
    with pytest.raises(NotAllowed):
        services.rule_set_create(actor=request.getfixturevalue(fixture), name="Mine")
    assert RuleSet.objects.count() == 1


@pytest.mark.django_db
def test_published_rule_set_cannot_be_edited(province_admin):
    in_force = RuleSet.objects.in_force().get()
    with pytest.raises(DomainError):
        services.rule_set_update(actor=province_admin, rule_set=in_force, name="Changed")


@pytest.mark.django_db
def test_override_needs_a_reason_and_is_flagged(district_lebak, desa_lebak):
    hh = make_household(desa_lebak, per_person=300_000)
    with pytest.raises(ValidationError) as exc:
        services.case_change(actor=district_lebak, household=hh, to_state="tier3", reason=" ")
    assert "reason" in exc.value.message_dict
    move = services.case_change(
        actor=district_lebak, household=hh, to_state="tier3", reason="Joined KUBE Mekar"
    )
    assert move.kind == TransitionKind.OVERRIDE
    assert move.is_override
    assert Case.objects.get(pk=hh.pk).is_overridden


@pytest.mark.django_db
def test_exit_needs_an_exit_reason(district_lebak, desa_lebak):
    hh = make_household(desa_lebak, per_person=300_000)
    with pytest.raises(ValidationError) as exc:
        services.case_change(actor=district_lebak, household=hh, to_state="exited", reason="Gone")
    assert "exit_reason" in exc.value.message_dict
    services.case_change(
        actor=district_lebak, household=hh, to_state="exited", reason="Gone", exit_reason="moved"
    )
    assert state_of(hh) == "exited"


@pytest.mark.django_db
def test_staff_moves_are_scoped(district_pandeglang, field_worker_lebak, desa_lebak):
    hh = make_household(desa_lebak, per_person=300_000)
    with pytest.raises(OutOfScope):
        services.case_change(actor=district_pandeglang, household=hh, to_state="tier2", reason="x")
    with pytest.raises(NotAllowed):
        services.case_change(actor=field_worker_lebak, household=hh, to_state="tier2", reason="x")
    assert not Transition.objects.exists()


@pytest.mark.django_db
def test_district_job_is_limited_to_the_district(
    district_lebak, desa_lebak, desa_pandeglang, django_capture_on_commit_callbacks
):
    lebak = make_household(desa_lebak, per_person=300_000)
    pandeglang = make_household(desa_pandeglang, per_person=300_000)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_start(actor=district_lebak)
    job.refresh_from_db()
    assert job.region.code == "36.02"
    assert job.processed == 1
    assert Case.objects.filter(pk=lebak.pk).exists()
    assert not Case.objects.filter(pk=pandeglang.pk).exists()


@pytest.mark.django_db
def test_field_worker_cannot_start_a_job(field_worker_lebak):
    with pytest.raises(NotAllowed):
        services.job_start(actor=field_worker_lebak)
    assert not RecalculationJob.objects.exists()


@pytest.mark.django_db
def test_imported_households_start_verified(desa_lebak, province_admin, field_worker_lebak):
    imported = make_household(desa_lebak, per_person=300_000, registration_source="dtsen")
    field = make_household(desa_lebak, per_person=300_000, registration_source="field")
    assert services.cases_verify_imported(actor=province_admin) == 1
    assert state_of(imported) == "verified"
    assert not Case.objects.filter(pk=field.pk).exists()
    move = Transition.objects.get(household=imported)
    assert "DTSEN" in move.reason_text
    assert services.cases_verify_imported(actor=province_admin) == 0  # idempotent
    with pytest.raises(NotAllowed):
        services.cases_verify_imported(actor=field_worker_lebak)
