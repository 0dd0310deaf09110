"""Celery tasks: thin wrappers over the services."""

from celery import shared_task
from celery.signals import worker_ready
from django.db import IntegrityError, OperationalError

from . import services


@shared_task(autoretry_for=(IntegrityError, OperationalError), retry_backoff=True, max_retries=5)
def recalculate_household(household_id: int) -> dict:
    result = services.household_recalculate(household_id=household_id)
    return {"assessed": result.assessed, "moved": result.moved}


@shared_task(bind=True, acks_late=True, max_retries=None)
def run_recalculation_job(self, job_id: int) -> str:
    try:
        return services.job_run(job_id=job_id).status
    except services.BatchBusy as exc:  # one batch at a time: wait for the running one
        raise self.retry(countdown=30, exc=exc) from exc


@shared_task
def recalculate_nightly() -> int:
    return services.job_start(actor=None, trigger="nightly").pk


@worker_ready.connect
def resume_interrupted_jobs(**kwargs) -> None:
    services.jobs_resume()


@shared_task
def tier3_daily_checks() -> dict:
    """Daily: loans behind their schedule (arrears follow-ups), monitoring periods that ended."""
    from .graduation import graduation_monitoring_close
    from .kur import kur_arrears_check

    return {
        "follow_ups": kur_arrears_check(),
        "monitoring_completed": graduation_monitoring_close(),
    }
