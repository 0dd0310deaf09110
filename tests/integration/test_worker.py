"""Through a real worker: a data change moves a tier; a killed batch resumes to the same end."""

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from households import services as register
from households.demo import load_demo
from households.models import Household
from interventions import referrals, services
from interventions.models import (
    Assessment,
    Case,
    JobStatus,
    Programme,
    RecalculationJob,
    Transition,
)
from interventions.programmes import programmes_load
from opd.models import Role
from regions.models import Region
from tests.conftest import make_user
from tests.factories import HouseholdFactory
from tests.interventions.conftest import NEEDS_MET

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_member_change_moves_the_tier_through_the_worker(worker_factory, district_lebak):
    desa = Region.objects.get(code="36.02.01.2002")
    hh = HouseholdFactory(
        desa=desa, monthly_expenditure=300_000, head__work_status="working", **NEEDS_MET
    )
    head = hh.members.get()  # no health insurance: the health need is unmet
    Case.objects.create(household=hh, state="tier1", since=hh.created_at)
    worker = worker_factory()
    worker.start()

    register.member_update(actor=district_lebak, member=head, health_insurance="pbi_jkn")

    def moved():
        return Case.objects.filter(pk=hh.pk, state="tier2").exists()

    wait_for(moved, timeout=60)
    move = Transition.objects.get(household=hh)
    assert (move.from_state, move.to_state, move.actor) == ("tier1", "tier2", None)
    assert move.assessment.inputs["members"][0]["health_insurance"] == "pbi_jkn"


def snapshot():
    cases = dict(Case.objects.values_list("pk", "state"))
    assessed = dict(
        Assessment.objects.order_by("household_id")
        .values_list("household_id")
        .annotate(n=Count("pk"))
    )
    moves = sorted(Transition.objects.values_list("household_id", "from_state", "to_state"))
    return cases, assessed, moves


@pytest.mark.parametrize("processes", [1, 2])
def test_killed_batch_resumes_to_the_same_result(worker_factory, province_admin, processes):
    load_demo(households=400, seed=7)
    Case.objects.bulk_create(
        [
            Case(household_id=pk, state="verified", since=hh_at)
            for pk, hh_at in Household.objects.values_list("pk", "created_at")
        ]
    )
    worker = worker_factory(
        RECALC_CHUNK_SIZE=20, RECALC_CHUNK_PAUSE=0.15, RECALC_PROCESSES=processes
    )
    worker.start()
    job = services.job_start(actor=province_admin)

    def part_done():
        job.refresh_from_db()
        return 0 < job.processed < job.total and job.processed >= 60

    wait_for(part_done, timeout=60, interval=0.05)
    worker.kill()
    job.refresh_from_db()
    interrupted_at = job.processed
    assert job.status == JobStatus.RUNNING
    assert interrupted_at < job.total

    restarted = worker_factory(RECALC_CHUNK_SIZE=20, RECALC_PROCESSES=processes)
    restarted.start()  # a starting worker resumes unfinished jobs

    def finished():
        job.refresh_from_db()
        return job.status == JobStatus.DONE

    wait_for(finished, timeout=120)
    assert job.processed == job.total == 400
    resumed = snapshot()
    assert sum(resumed[1].values()) == 400  # every household assessed exactly once

    # The same data run uninterrupted, in this process, gives the same end state.
    Transition.objects.all().delete()
    Case.objects.update(latest_assessment=None)
    Assessment.objects.all().delete()
    Case.objects.update(state="verified", fingerprint="", recent=[])
    fresh = RecalculationJob.objects.create(trigger="manual")
    connection.close()  # a clean session for the advisory lock
    services.job_run(job_id=fresh.pk)
    assert snapshot() == resumed


def test_referrals_delivered_by_two_agencies_move_the_tier_through_the_worker(
    worker_factory, field_worker_lebak
):
    programmes_load()
    stbm = Programme.objects.get(code="STBM")  # sanitation, Dinkes
    pkh = Programme.objects.get(code="PKH")  # health, Dinsos
    dinkes = make_user("dinkes_w", Role.OPD_OFFICER, stbm.owner.short_name, None)
    dinsos = make_user("dinsos_w", Role.OPD_OFFICER, pkh.owner.short_name, None)
    desa = Region.objects.get(code="36.02.01.2002")
    hh = HouseholdFactory(  # no toilet, head without health insurance: two critical needs unmet
        desa=desa,
        monthly_expenditure=300_000,
        head__work_status="working",
        head__health_insurance="none",
        **{**NEEDS_MET, "toilet": "none", "has_septic_tank": False},
    )
    Case.objects.create(household=hh, state="tier1", since=hh.created_at)
    worker = worker_factory()
    worker.start()

    today = timezone.localdate()
    deliveries = []
    made = []
    for programme, need, officer in ((stbm, "sanitation", dinkes), (pkh, "health", dinsos)):
        referral = referrals.referral_create(
            actor=field_worker_lebak, household=hh, programme=programme, need=need
        )
        referrals.referral_accept(actor=officer, referral=referral)
        deliveries.append(
            referrals.delivery_log(
                actor=officer, referral=referral, delivered_on=today, quantity=1, value=100_000
            )
        )
        referrals.referral_complete(actor=officer, referral=referral)
        made.append(referral)

    def moved():
        return Case.objects.filter(pk=hh.pk, state="tier2").exists()

    wait_for(moved, timeout=60)
    move = Transition.objects.get(household=hh)
    assert (move.from_state, move.to_state, move.actor) == ("tier1", "tier2", None)
    assert move.evidence["referrals"] == [r.pk for r in made]
    assert move.evidence["deliveries"] == sorted(d.pk for d in deliveries)
