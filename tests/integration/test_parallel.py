"""RECALC_PROCESSES: a batch's chunks in parallel worker processes, committed in order."""

import pytest
from django.db import connection

from households.demo import load_demo
from households.models import Household
from interventions import parallel, services
from interventions.models import (
    Assessment,
    Case,
    FollowUp,
    FollowUpKind,
    JobStatus,
    RecalculationJob,
    Transition,
)

from .conftest import wait_for
from .test_worker import snapshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def verified_households(reference_data):
    load_demo(households=240, seed=11)
    Case.objects.bulk_create(
        [
            Case(household_id=pk, state="verified", since=at)
            for pk, at in Household.objects.values_list("pk", "created_at")
        ]
    )


def _reset() -> None:
    Transition.objects.all().delete()
    Case.objects.update(latest_assessment=None)
    Assessment.objects.all().delete()
    Case.objects.update(state="verified", fingerprint="", recent=[])


def _run(settings, processes: int) -> RecalculationJob:
    settings.RECALC_PROCESSES = processes
    job = RecalculationJob.objects.create(trigger="manual")
    connection.close()  # a clean session for the advisory lock
    return services.job_run(job_id=job.pk, chunk_size=17)


def test_parallel_batch_gives_the_serial_result(verified_households, settings):
    job = _run(settings, 2)
    assert (job.status, job.processed, job.assessed) == (JobStatus.DONE, 240, 240)
    assert job.last_household_id == Household.objects.order_by("pk").last().pk
    parallel_result = snapshot()
    assert sum(parallel_result[1].values()) == 240  # every household assessed exactly once

    rerun = _run(settings, 2)
    assert (rerun.processed, rerun.assessed, rerun.moved) == (240, 0, 0)
    assert Assessment.objects.count() == 240  # a rerun writes nothing

    _reset()
    _run(settings, 1)
    assert snapshot() == parallel_result


def test_relapses_are_followed_up_by_the_workers_in_the_chunks(verified_households, settings):
    """The tier 3 follow-ups of a chunk's moves are written in that chunk's transaction, by the
    worker process that commits it."""
    Case.objects.update(state="graduated")
    job = _run(settings, 2)
    assert job.status == JobStatus.DONE
    relapses = Transition.objects.filter(from_state="graduated", to_state="tier1")
    assert relapses.exists()
    follow_ups = FollowUp.objects.filter(kind=FollowUpKind.RELAPSE)
    assert sorted(follow_ups.values_list("household_id", "detail__transition")) == sorted(
        relapses.values_list("household_id", "pk")
    )


def test_a_failing_chunk_fails_the_job_after_the_committed_chunks(
    verified_households, settings, monkeypatch
):
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    poisoned = ids[120]  # in the 8th chunk of 17
    real = parallel.recalculate_chunk

    def failing(chunk, **kwargs):
        if poisoned in chunk:
            raise RuntimeError("disk full")
        return real(chunk, **kwargs)

    monkeypatch.setattr(parallel, "recalculate_chunk", failing)  # inherited by the forks
    with pytest.raises(parallel.ChunkFailed, match="disk full"):
        _run(settings, 2)
    job = RecalculationJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert "disk full" in job.error
    # Progress covers exactly the chunks committed before the failing one, in order.
    assert job.processed == 7 * 17
    assert job.last_household_id == ids[7 * 17 - 1]
    assessed = set(Assessment.objects.values_list("household_id", flat=True))
    assert assessed == set(ids[: 7 * 17])


def test_a_prefork_celery_worker_runs_the_processes(worker_factory, province_admin):
    """Celery's default pool runs tasks in daemonic processes; they may still fork workers."""
    load_demo(households=150, seed=5)
    worker = worker_factory("prefork", RECALC_PROCESSES=2, RECALC_CHUNK_SIZE=20)
    worker.start()
    job = services.job_start(actor=province_admin)

    def finished():
        job.refresh_from_db()
        return job.status in (JobStatus.DONE, JobStatus.FAILED)

    wait_for(finished, timeout=120)
    assert (job.status, job.error) == (JobStatus.DONE, "")
    assert job.processed == job.total == 150
    assert Assessment.objects.count() == 150


def test_workers_share_a_new_verdict_layout_without_waiting_for_each_other(
    verified_households, monkeypatch
):
    """Chunk 1 is written long before chunk 0: both need the same new layout. The worker of
    chunk 1 waits for chunk 0's commit, so it must not hold an uncommitted layout that chunk 0's
    insert would wait for (a deadlock the server cannot see). lock_timeout turns one into an
    error instead of a hang."""
    from interventions.models import VerdictLayout
    from interventions.recalculation import RulesInForce

    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=15s")  # the workers' own sessions
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    job = RecalculationJob.objects.create(trigger="manual")
    connection.close()
    parallel.run_chunks(job, [ids[:-1], ids[-1:]], RulesInForce.load(), processes=2)
    job.refresh_from_db()
    assert (job.processed, job.assessed) == (240, 240)
    assert VerdictLayout.objects.exists()
    assert Assessment.objects.count() == 240
