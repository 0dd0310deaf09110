"""End to end: two unmet needs, two agencies, deliveries, and the move from tier 1 to tier 2."""

import pytest
from django.utils import timezone

from households import choices as c
from interventions import referrals as services
from interventions.models import Case, Delivery, Programme, Transition
from interventions.programmes import programmes_load
from interventions.services import household_recalculate
from opd.models import Role
from tests.conftest import make_user
from tests.factories import HouseholdFactory

from .conftest import NEEDS_MET

pytestmark = pytest.mark.django_db


def tier1_household(desa):
    """No toilet (sanitation) and a head without health insurance (health): tier 1."""
    household = HouseholdFactory(
        desa=desa,
        monthly_expenditure=300_000,
        head__work_status=c.WorkStatus.WORKING,
        head__health_insurance=c.HealthInsurance.NONE,
        **{**NEEDS_MET, "toilet": c.Toilet.NONE, "has_septic_tank": False},
    )
    Case.objects.create(household=household, state="tier1", since=household.created_at)
    return household


def test_two_agencies_deliver_and_the_household_moves_to_tier2(
    desa_lebak, field_worker_lebak, django_capture_on_commit_callbacks
):
    programmes_load()
    stbm = Programme.objects.get(code="STBM")  # sanitation, Dinkes
    pkh = Programme.objects.get(code="PKH")  # health and education, Dinsos
    assert stbm.owner_id != pkh.owner_id
    dinkes = make_user("dinkes", Role.OPD_OFFICER, stbm.owner.short_name, None)
    dinsos = make_user("dinsos", Role.OPD_OFFICER, pkh.owner.short_name, None)
    household = tier1_household(desa_lebak)
    household_recalculate(household_id=household.pk)
    case = Case.objects.get(pk=household.pk)
    assert case.state == "tier1"
    assert sorted(case.latest_assessment.unmet_needs) == ["health", "sanitation"]

    sanitation = services.referral_create(
        actor=field_worker_lebak, household=household, programme=stbm, need="sanitation"
    )
    health = services.referral_create(
        actor=field_worker_lebak, household=household, programme=pkh, need="health"
    )
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_accept(actor=dinkes, referral=sanitation)
        services.referral_accept(actor=dinsos, referral=health)
        deliveries = [
            services.delivery_log(
                actor=dinkes, referral=sanitation, delivered_on=today, quantity=1, value=1_500_000
            ),
            services.delivery_log(
                actor=dinkes, referral=sanitation, delivered_on=today, quantity=1, value=500_000
            ),
            services.delivery_log(
                actor=dinsos, referral=health, delivered_on=today, quantity=1, value=900_000
            ),
        ]
        services.referral_complete(actor=dinkes, referral=sanitation)
    # one need met, one critical need still unmet: still tier 1
    assert Case.objects.get(pk=household.pk).state == "tier1"
    assert not Transition.objects.filter(household=household).exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.referral_complete(actor=dinsos, referral=health)

    case = Case.objects.get(pk=household.pk)
    assert case.state == "tier2"
    move = Transition.objects.get(household=household)
    assert (move.from_state, move.to_state, move.kind, move.actor) == (
        "tier1",
        "tier2",
        "automatic",
        None,
    )
    assert move.evidence["referrals"] == [sanitation.pk, health.pk]
    assert move.evidence["deliveries"] == sorted(d.pk for d in deliveries)
    assert set(move.evidence["deliveries"]) == set(
        Delivery.objects.filter(referral__household=household).values_list("pk", flat=True)
    )
    assessment = move.assessment
    assert assessment.unmet_needs == []
    assert assessment.inputs["met_needs"] == ["health", "sanitation"]
    lines = {line.code: line for line in assessment.result.lines}
    assert lines["need.sanitation"].passed
    assert lines["need.sanitation"].detail["met_by"] == "programme"
