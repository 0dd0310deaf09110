"""Every write of the eligibility engine and the tier pathway goes through these functions.

Rule sets (draft -> published, one in force), recalculation of one household or a batch (a job
with progress, resumable, one at a time), and the staff moves on the pathway (verification,
manual change with a reason, flagged as an override when it leaves the regular paths).
"""

import logging
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from households.choices import HouseholdStatus, RegistrationSource, VisitMet
from households.models import Household
from opd.access import access_for
from opd.models import Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from regions.models import Region

from . import parallel
from .models import (
    Case,
    JobStatus,
    RecalculationJob,
    RuleSet,
    RuleSetStatus,
    Transition,
    TransitionKind,
)
from .pathway import REGISTERED, VERIFIED, check_manual, is_regular
from .recalculation import ChunkResult, RulesInForce, recalculate_chunk
from .rules import default_rules, validate_rules

logger = logging.getLogger(__name__)
BATCH_LOCK_KEY = 0x50435243  # "PCRC": PostgreSQL advisory lock of the batch recalculation


class BatchBusy(Exception):
    """Another batch recalculation holds the lock; try this job again later."""


# --- rule sets --------------------------------------------------------------------------------


def _require_rule_editor(actor) -> None:
    if not access_for(actor).has_role(Role.PROVINCIAL_ADMIN):
        raise NotAllowed(_("Only provincial administrators may change the rules."))


def rule_set_create(*, actor, name: str, rules: dict | None = None, notes: str = "") -> RuleSet:
    """A new draft: the given rules, or a copy of the set in force (or the defaults)."""
    _require_rule_editor(actor)
    if rules is None:
        in_force = RuleSet.objects.in_force().first()
        rules = in_force.rules if in_force else default_rules()
    errors = {}
    if not (name or "").strip():
        errors["name"] = [_("Give the rule set a name.")]
    try:
        rules = validate_rules(rules)
    except ValidationError as exc:
        errors.update(_prefixed(exc, "rules"))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        version = (RuleSet.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0) + 1
        rule_set = RuleSet(version=version, name=name.strip(), rules=rules, notes=notes)
        rule_set.created_by = actor
        rule_set._history_user = actor
        rule_set.save()
    return rule_set


def rule_set_update(
    *, actor, rule_set: RuleSet, name: str | None = None, rules=None, notes=None
) -> RuleSet:
    """Edit a draft. A published or retired set is never changed: copy it into a new draft."""
    _require_rule_editor(actor)
    if rule_set.status != RuleSetStatus.DRAFT:
        raise DomainError(_("Only a draft can be edited; create a new draft from this version."))
    errors = {}
    if name is not None:
        if not name.strip():
            errors["name"] = [_("Give the rule set a name.")]
        rule_set.name = name.strip()
    if rules is not None:
        try:
            rule_set.rules = validate_rules(rules)
        except ValidationError as exc:
            errors.update(_prefixed(exc, "rules"))
    if notes is not None:
        rule_set.notes = notes
    if errors:
        raise ValidationError(errors)
    rule_set._history_user = actor
    rule_set.save()
    return rule_set


def rule_set_publish(*, actor, rule_set: RuleSet) -> RecalculationJob:
    """Put a draft in force (the previous set retires) and recalculate the whole province."""
    _require_rule_editor(actor)
    try:
        rules = validate_rules(rule_set.rules)
    except ValidationError as exc:
        raise ValidationError(_prefixed(exc, "rules")) from exc
    with transaction.atomic():
        locked = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
        if locked.status != RuleSetStatus.DRAFT:
            raise DomainError(_("Only a draft can be published."))
        for current in RuleSet.objects.select_for_update().in_force():
            current.status = RuleSetStatus.RETIRED
            current._history_user = actor
            current.save(update_fields=["status"])
        locked.rules = rules
        locked.status = RuleSetStatus.PUBLISHED
        locked.published_at = timezone.now()
        locked.published_by = actor
        locked._history_user = actor
        locked.save()
        job = _job_create(actor=actor, region=None, trigger=RecalculationJob.Trigger.RULES)
    rule_set.refresh_from_db()
    return job


def _prefixed(exc: ValidationError, prefix: str) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            f"{prefix}.{k}" if k != "__all__" else prefix: v for k, v in exc.message_dict.items()
        }
    return {prefix: exc.messages}


# --- recalculation ----------------------------------------------------------------------------


def household_recalculate(*, household_id: int) -> ChunkResult:
    """Re-evaluate one household now (after its data changed). Idempotent."""
    rules = RulesInForce.load()
    if rules is None:
        logger.warning("No rule set in force: household %s not recalculated.", household_id)
        return ChunkResult()
    return recalculate_chunk([household_id], rules=rules)


def job_start(*, actor, region: Region | None = None, trigger: str = "manual") -> RecalculationJob:
    """Queue a recalculation of the province or a region (runs in a worker after commit)."""
    if actor is not None:
        access = access_for(actor)
        if not access.has_role(Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF):
            raise NotAllowed(_("Your role may not start a recalculation."))
        if region is None and not access.whole_province:
            region = Region.objects.filter(code__in=access.register_areas or ()).first()
        if region is not None and not access.covers(region.code):
            raise ValidationError({"region": _("This region is outside your area.")})
    with transaction.atomic():
        return _job_create(actor=actor, region=region, trigger=trigger)


def _job_create(*, actor, region, trigger) -> RecalculationJob:
    from .tasks import run_recalculation_job

    job = RecalculationJob.objects.create(created_by=actor, region=region, trigger=trigger)
    job_id = job.pk
    transaction.on_commit(lambda: run_recalculation_job.delay(job_id))
    return job


def _job_households(job: RecalculationJob):
    qs = Household.objects.filter(status=HouseholdStatus.ACTIVE)
    if job.region_id:
        code = job.region.code
        qs = qs.filter(Q(desa__code=code) | Q(desa__code__startswith=code + "."))
    return qs


def job_run(*, job_id: int, chunk_size: int | None = None) -> RecalculationJob:
    """Run (or resume) a batch job, chunk by chunk, each chunk committed with its progress.

    One batch runs at a time (a PostgreSQL advisory lock); a job found running elsewhere is
    left alone. A job already done is not run again.
    """
    chunk_size = chunk_size or settings.RECALC_CHUNK_SIZE
    with batch_lock() as acquired:
        job = RecalculationJob.objects.select_related("region").get(pk=job_id)
        if not acquired:
            logger.info("Recalculation job %s waits: another batch holds the lock.", job_id)
            raise BatchBusy(job_id)
        if job.status == JobStatus.DONE:
            return job
        rules = RulesInForce.load()
        if rules is None:
            return _job_fail(job, _("No rule set is in force."))
        households = _job_households(job)
        if job.status != JobStatus.RUNNING or not job.total:
            job.total = households.count()
            job.status = JobStatus.RUNNING
            job.started_at = job.started_at or timezone.now()
            job.save(update_fields=["total", "status", "started_at"])
        try:
            _run_chunks(job, households, rules, chunk_size)
        except Exception as exc:
            _job_fail(job, str(exc))
            raise
        job.status = JobStatus.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        return job


def _run_chunks(job, households, rules, chunk_size) -> None:
    processes = settings.RECALC_PROCESSES
    if processes > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        parallel.run_chunks(
            job,
            _chunks(households, job.last_household_id, chunk_size),
            rules,
            processes=processes,
            pause=settings.RECALC_CHUNK_PAUSE,
        )
        job.refresh_from_db(fields=["last_household_id", "processed", "assessed", "moved"])
        return
    for ids in _chunks(households, job.last_household_id, chunk_size):

        def progress(result: ChunkResult, last=ids[-1]) -> None:
            job.last_household_id = last
            job.processed += result.households
            job.assessed += result.assessed
            job.moved += result.moved
            parallel.record_progress(job.pk, last, result)

        recalculate_chunk(ids, rules=rules, job=job, in_transaction=progress)
        if settings.RECALC_CHUNK_PAUSE:
            time.sleep(settings.RECALC_CHUNK_PAUSE)


def _chunks(households, after: int, chunk_size: int):
    """The ids of `households` after `after`, in id order, `chunk_size` at a time (keyset)."""
    while True:
        ids = list(
            households.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def _job_fail(job, message: str) -> RecalculationJob:
    job.status = JobStatus.FAILED
    job.error = message[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job


def jobs_resume() -> list[int]:
    """Queue again the jobs a killed worker left unfinished (a worker calls this when it starts)."""
    from .tasks import run_recalculation_job

    ids = list(
        RecalculationJob.objects.filter(
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).values_list("pk", flat=True)
    )
    for job_id in ids:
        run_recalculation_job.delay(job_id)
    return ids


@contextmanager
def batch_lock():
    """One batch at a time on PostgreSQL (released when the session ends, even if killed)."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [BATCH_LOCK_KEY])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [BATCH_LOCK_KEY])


# --- staff moves on the pathway ----------------------------------------------------------------


def _require_case_editor(actor, household: Household, roles) -> None:
    access = access_for(actor)
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise OutOfScope()
    if not access.has_role(*roles) or not access.covers(household.desa.code):
        raise NotAllowed(_("Your role may not change this household's stage."))


def case_for(household: Household) -> Case:
    case, _created = Case.objects.get_or_create(
        household=household, defaults={"state": REGISTERED, "since": timezone.now()}
    )
    return case


def case_verify(*, actor, household: Household, note: str = "") -> Transition:
    """A field check confirmed the household: registered -> verified, then it is placed."""
    _require_case_editor(
        actor, household, (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.FIELD_WORKER)
    )
    with transaction.atomic():
        case_for(household)
        case = Case.objects.select_for_update().get(pk=household.pk)
        if case.state != REGISTERED:
            raise DomainError(_("Only a registered household can be verified."))
        transition = _move(case, actor, VERIFIED, TransitionKind.MANUAL, note.strip())
        transition.reason_code = "verified"  # worded in the reader's language when no note
        transition.save(update_fields=["reason_code"])
        case.fingerprint = ""  # the next assessment places it in its tier
        case.save(update_fields=["fingerprint"])
        _queue_recalculation(household.pk)
    return transition


def case_change(
    *, actor, household: Household, to_state: str, reason: str, exit_reason: str = ""
) -> Transition:
    """A staff move with a reason; outside the regular paths it is an override, flagged."""
    _require_case_editor(actor, household, (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF))
    with transaction.atomic():
        case_for(household)
        case = Case.objects.select_for_update().get(pk=household.pk)
        check_manual(case.state, to_state, reason, exit_reason=exit_reason or None)
        regular = is_regular(case.state, to_state)
        kind = TransitionKind.MANUAL if regular else TransitionKind.OVERRIDE
        transition = _move(case, actor, to_state, kind, reason.strip(), exit_reason=exit_reason)
        case.is_overridden = not regular
        case.save(update_fields=["is_overridden"])
    return transition


OFFICIAL_REGISTERS = (RegistrationSource.DTSEN, RegistrationSource.P3KE, RegistrationSource.DTKS)


def cases_verify_imported(*, actor=None) -> int:
    """Verify, in bulk, households imported from an official register that have no stage yet.

    DTSEN, P3KE and DTKS records were checked by their own register, so they start verified;
    field registrations wait for a visit. Set-based: one read, two bulk writes.
    """
    if actor is not None and not access_for(actor).has_role(Role.PROVINCIAL_ADMIN):
        raise NotAllowed(_("Only provincial administrators may verify imported households."))
    now = timezone.now()
    rows = list(
        Household.objects.filter(
            status=HouseholdStatus.ACTIVE,
            registration_source__in=OFFICIAL_REGISTERS,
            case__isnull=True,
        ).values_list("pk", "registration_source")
    )
    with transaction.atomic():
        Case.objects.bulk_create(
            [Case(household_id=pk, state=VERIFIED, since=now) for pk, _source in rows],
            batch_size=1000,
        )
        Transition.objects.bulk_create(
            [
                Transition(
                    household_id=pk,
                    from_state=REGISTERED,
                    to_state=VERIFIED,
                    at=now,
                    actor=actor,
                    kind=TransitionKind.MANUAL,
                    reason_code="imported",
                    reason_params={"register": source},
                    evidence={"register": source},
                )
                for pk, source in rows
            ],
            batch_size=1000,
        )
    return len(rows)


def _move(case, actor, to_state, kind, reason, exit_reason="") -> Transition:
    now = timezone.now()
    transition = Transition.objects.create(
        household_id=case.household_id,
        from_state=case.state,
        to_state=to_state,
        at=now,
        actor=actor,
        kind=kind,
        reason=reason,
        exit_reason=exit_reason or "",
        assessment=case.latest_assessment,
        evidence={"assessment": case.latest_assessment_id},
    )
    case.state = to_state
    case.since = now
    case.save(update_fields=["state", "since"])
    return transition


def _queue_recalculation(household_id: int) -> None:
    from .tasks import recalculate_household

    transaction.on_commit(lambda: recalculate_household.delay(household_id))


def on_visit_recorded(sender, visit, actor, **kwargs) -> bool:
    """Receiver of households.signals.visit_recorded (inside the visit's transaction).

    The first visit where someone was met verifies a registered household: registered ->
    verified, with the visit as evidence. The visit itself queues the one recalculation that
    then places the household in its tier.
    """
    if visit.met == VisitMet.NOBODY:
        return False
    case_for(visit.household)
    case = Case.objects.select_for_update().get(pk=visit.household_id)
    if case.state != REGISTERED:
        return False
    transition = _move(case, actor, VERIFIED, TransitionKind.MANUAL, "")
    transition.reason_code = "verified"
    transition.evidence = {**transition.evidence, "visit": visit.pk}
    transition.save(update_fields=["reason_code", "evidence"])
    case.fingerprint = ""  # the next assessment places it in its tier
    case.save(update_fields=["fingerprint"])
    return True


def on_household_data_changed(sender, household_id: int, **kwargs) -> None:
    """Receiver of households.signals.household_data_changed (connected in apps.ready)."""
    from .tasks import recalculate_household

    recalculate_household.delay(household_id)
