"""Every write of the referral (rujukan) lifecycle and its deliveries.

Staff refer a household (or one member) to an agency's programme for a need; the owning agency's
OPD officer accepts (the period's quota and budget are checked under a row lock, so two officers
accepting at the same moment never over-allocate) or rejects with a reason; deliveries are logged
on an accepted referral; the referral is completed (its need counts as met from then on) or
cancelled. Completing a referral and logging a delivery queue the household's recalculation.

Errors: ``ValidationError`` keyed by field (need, member, programme, household, households,
reason, delivered_on, quantity, value, evidence, due_on, planned_value, referral, pledge),
``DomainError`` (409) for state conflicts and an exhausted quota or budget, ``NotAllowed`` (403)
for the wrong role, ``OutOfScope`` (404) outside the user's reach. Nothing is written when any
of them is raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from households.choices import HouseholdStatus, MemberStatus
from households.models import Household, Member
from opd.access import Access, access_for
from opd.models import Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from povertycase.limits import RUPIAH_MAX

from . import pledges
from .evaluation import describe_condition, join_and, unmet_conditions
from .models import (
    OPEN_STATUSES,
    Delivery,
    Programme,
    ProgrammePeriod,
    Referral,
    ReferralStatus,
)
from .programmes import day_text
from .recalculation import read_facts
from .services import _queue_recalculation

DUE_DAYS = 30
QUANTITY_MAX = 2_147_483_647  # PositiveIntegerField
REFERRERS = (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.FIELD_WORKER)
# Statuses holding a place (quota) and money (budget) of their period.
TAKING_PLACE = (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)
CLOSED_STATUSES = (ReferralStatus.COMPLETED, ReferralStatus.REJECTED, ReferralStatus.CANCELLED)


# --- who may do what --------------------------------------------------------------------------


def refers(access: Access, household: Household | None = None) -> bool:
    """May refer households (this one, when given: it is in the user's area)."""
    if not access.has_role(*REFERRERS):
        return False
    return household is None or access.covers(household.desa.code)


def decides(access: Access, programme: Programme) -> bool:
    """May accept, reject, log deliveries on and complete referrals to ``programme``."""
    if access.has_role(Role.PROVINCIAL_ADMIN):
        return True
    return Role.OPD_OFFICER in access.roles and programme.owner_id in access.organisation_ids


def _visible(actor, referral: Referral) -> None:
    from .referral_selectors import referrals_visible_to

    if not referrals_visible_to(actor).filter(pk=referral.pk).exists():
        raise OutOfScope()


def _require_decider(actor, referral: Referral) -> Access:
    _visible(actor, referral)
    access = access_for(actor)
    if not decides(access, referral.programme):
        raise NotAllowed(_("Only an officer of the programme's agency may do this."))
    return access


# --- input checks -----------------------------------------------------------------------------


def _whole(value: Any, field: str, errors: dict, *, minimum: int, maximum: int) -> int | None:
    """A whole number (int, or digits as text) within bounds; anything else is a field error."""
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = [_("Enter a whole number (no decimals, no thousands separators).")]
        return None
    if value < minimum:
        errors[field] = [_("Enter a number of at least %(min)s.") % {"min": minimum}]
        return None
    if value > maximum:
        errors[field] = [_("The number is too large.")]
        return None
    return value


def _as_date(value: Any, field: str, errors: dict) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        errors[field] = [_("Enter a valid date.")]
        return None
    return value


def _reason(reason: Any) -> str:
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationError({"reason": [_("Give a reason.")]})
    return text


def current_period(programme: Programme, on: date) -> ProgrammePeriod | None:
    periods = programme.periods.filter(starts_on__lte=on, ends_on__gte=on)
    return periods.order_by("starts_on").first()


def _programme_errors(programme: Programme, need: str, today: date, errors: dict):
    """The programme runs today with a period covering today, and meets `need`."""
    period = None
    if not Programme.objects.running(today).filter(pk=programme.pk).exists():
        errors["programme"] = [_("This programme is not running today.")]
    else:
        period = current_period(programme, today)
        if period is None:
            errors["programme"] = [_("This programme has no budget period covering today.")]
    if need not in (programme.needs or []):
        errors["need"] = [
            _("The programme %(code)s does not meet this need.") % {"code": programme.code}
        ]
    return period


def _household_problem(programme: Programme, household: Household, facts) -> str | None:
    """Why this household cannot be referred to the programme (None: it can)."""
    if household.status != HouseholdStatus.ACTIVE or facts is None:
        return _("The household is not active.")
    if not programme.covers(household.desa.code):
        return _("The household lives outside the programme's target regions.")
    if unmet := unmet_conditions(facts, programme.eligibility or []):
        return _(
            "The household does not meet the programme's eligibility criteria: it requires "
            "that %(conditions)s."
        ) % {"conditions": join_and([describe_condition(c) for c in unmet])}
    return None


def referable_programmes(household: Household, programmes: Iterable[Programme]) -> list:
    """The programmes among `programmes` the household may be referred to: in their target
    regions and meeting their eligibility (the household's facts read once)."""
    facts = read_facts([household.pk], timezone.localdate()).get(household.pk)
    return [p for p in programmes if _household_problem(p, household, facts) is None]


def _open_duplicate(household_id: int, programme: Programme, member_id: int | None) -> bool:
    return Referral.objects.filter(
        household_id=household_id,
        programme=programme,
        member_id=member_id,
        status__in=OPEN_STATUSES,
    ).exists()


# --- referral ---------------------------------------------------------------------------------


def referral_create(
    *,
    actor,
    household: Household,
    programme: Programme,
    need: str,
    member: Member | None = None,
    note: str = "",
    due_on: date | None = None,
    planned_value: int | None = None,
) -> Referral:
    """Refer a household (or one of its members) to a programme for one of its needs."""
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise OutOfScope()
    access = access_for(actor)
    if not refers(access, household):
        raise NotAllowed(_("Your role may not refer this household."))
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    period = _programme_errors(programme, need, today, errors)
    if member is not None and (
        member.household_id != household.pk or member.status != MemberStatus.ACTIVE
    ):
        errors["member"] = [_("Choose an active member of this household.")]
    if planned_value is None:
        planned_value = programme.unit_value
    else:
        planned_value = _whole(
            planned_value, "planned_value", errors, minimum=0, maximum=RUPIAH_MAX
        )
    if due_on is None:
        due_on = today + timedelta(days=DUE_DAYS)
    else:
        due_on = _as_date(due_on, "due_on", errors)
        if due_on is not None and due_on < today:
            errors["due_on"] = [_("The due date cannot be in the past.")]
    with transaction.atomic():
        # The household's row serialises referrals of the same household (no duplicate opens).
        locked = Household.objects.select_for_update().select_related("desa").get(pk=household.pk)
        facts = read_facts([locked.pk], today).get(locked.pk)
        problem = _household_problem(programme, locked, facts)
        if problem:
            errors.setdefault("household", []).append(problem)
        if "programme" not in errors and _open_duplicate(
            locked.pk, programme, member.pk if member else None
        ):
            errors["programme"] = [
                _("This household already has an open referral to this programme.")
            ]
        if errors:
            raise ValidationError(errors)
        referral = Referral(
            household=locked,
            member=member,
            programme=programme,
            period=period,
            need=need,
            planned_value=planned_value,
            note=(note or "").strip(),
            due_on=due_on,
            referred_by=actor,
            referred_at=timezone.now(),
        )
        referral._history_user = actor
        referral.save()
    return referral


def referrals_create_bulk(
    *, actor, programme: Programme, need: str, households: Iterable[Household]
) -> list[Referral]:
    """Refer many households to one programme for one need (the gap finder). All or nothing:
    the error keyed "households" names each household refused and why."""
    access = access_for(actor)
    if not refers(access):
        raise NotAllowed(_("Your role may not refer households."))
    households = list(households)
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    period = _programme_errors(programme, need, today, errors)
    if not households:
        errors["households"] = [_("Choose at least one household.")]
    if errors:
        raise ValidationError(errors)
    ids = [h.pk for h in households]
    visible = set(
        Household.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True)
    )
    now = timezone.now()
    with transaction.atomic():
        locked = {
            h.pk: h
            for h in Household.objects.select_for_update().select_related("desa").filter(pk__in=ids)
        }
        facts = read_facts(ids, today)
        open_ids = set(
            Referral.objects.filter(
                household_id__in=ids,
                programme=programme,
                member__isnull=True,
                status__in=OPEN_STATUSES,
            ).values_list("household_id", flat=True)
        )
        refused = []
        referrals = []
        for pk in dict.fromkeys(ids):
            household = locked.get(pk)
            if household is None or pk not in visible:
                problem = _("not found")
            elif not access.covers(household.desa.code):
                problem = _("outside your area")
            elif pk in open_ids:
                problem = _("already has an open referral to this programme")
            else:
                problem = _household_problem(programme, household, facts.get(pk))
            if problem:
                refused.append(_("Household %(id)s: %(problem)s") % {"id": pk, "problem": problem})
                continue
            referrals.append(
                Referral(
                    household=household,
                    programme=programme,
                    period=period,
                    need=need,
                    planned_value=programme.unit_value,
                    due_on=today + timedelta(days=DUE_DAYS),
                    referred_by=actor,
                    referred_at=now,
                )
            )
        if refused:
            raise ValidationError({"households": refused})
        for referral in referrals:
            referral._history_user = actor
            referral.save()
    return referrals


def _locked(referral: Referral) -> Referral:
    """The referral's row, locked (only its own row: the programme stays free)."""
    rows = Referral.objects.select_for_update(of=("self",)).select_related("programme")
    return rows.get(pk=referral.pk)


def _refresh(referral: Referral, fresh: Referral) -> Referral:
    """Copy the saved state onto the caller's instance (and return it)."""
    for field in fresh._meta.concrete_fields:
        setattr(referral, field.attname, getattr(fresh, field.attname))
    return referral


def referral_accept(*, actor, referral: Referral) -> Referral:
    """The agency takes the referral on: one place of the period's quota and its planned value
    of the budget are reserved. The period row is locked, so concurrent accepts queue up."""
    _require_decider(actor, referral)
    with transaction.atomic():
        period = ProgrammePeriod.objects.select_for_update().get(pk=referral.period_id)
        current = _locked(referral)
        if current.status != ReferralStatus.REFERRED:
            raise DomainError(_("Only a referral waiting for the agency can be accepted."))
        taken = Referral.objects.filter(period=period, status__in=TAKING_PLACE)
        # The reserved total only where a budget limits it (no sum to compute otherwise).
        reserved = {} if period.budget is None else {"reserved": Sum("planned_value")}
        usage = taken.aggregate(
            households=Count("household_id", distinct=True),
            this_household=Count("pk", filter=Q(household_id=current.household_id)),
            **reserved,
        )
        new_place = not usage["this_household"]
        if period.quota is not None and new_place and usage["households"] >= period.quota:
            raise DomainError(
                _("The quota of %(period)s is reached (%(quota)s households).")
                % {"period": period.name, "quota": period.quota}
            )
        if period.budget is not None:
            reserved = usage["reserved"] or 0
            if reserved + current.planned_value > period.budget:
                raise DomainError(
                    _(
                        "The budget of %(period)s is not enough: Rp %(left)s left, "
                        "this referral needs Rp %(needed)s."
                    )
                    % {
                        "period": period.name,
                        "left": f"{max(period.budget - reserved, 0):,}".replace(",", "."),
                        "needed": f"{current.planned_value:,}".replace(",", "."),
                    }
                )
        current.status = ReferralStatus.ACCEPTED
        current.decided_by = actor
        current.decided_at = timezone.now()
        current._history_user = actor
        current.save(update_fields=["status", "decided_by", "decided_at"])
    return _refresh(referral, current)


def referral_reject(*, actor, referral: Referral, reason: str) -> Referral:
    _require_decider(actor, referral)
    text = _reason(reason)
    with transaction.atomic():
        current = _locked(referral)
        if current.status != ReferralStatus.REFERRED:
            raise DomainError(_("Only a referral waiting for the agency can be rejected."))
        current.status = ReferralStatus.REJECTED
        current.decided_by = actor
        current.decided_at = timezone.now()
        current.rejection_reason = text
        current._history_user = actor
        current.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    return _refresh(referral, current)


# --- deliveries -------------------------------------------------------------------------------

# Magic bytes of the evidence types accepted (the content decides, never the name).
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
)


def evidence_kind(head: bytes) -> str | None:
    """ "jpg", "png", "webp" or "pdf" from a file's first bytes, else None."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _check_evidence(evidence, errors: dict) -> str | None:
    """The file's type ("png", ...) when it is acceptable evidence; else a field error."""
    limit = settings.EVIDENCE_MAX_BYTES
    size = getattr(evidence, "size", None)
    if size is not None and size > limit:
        errors["evidence"] = [
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        ]
        return None
    try:
        evidence.seek(0)
        head = evidence.read(16)
        evidence.seek(0)
    except (AttributeError, OSError, ValueError):
        head = b""
    kind = evidence_kind(head or b"")
    if kind is None:
        errors["evidence"] = [_("Evidence must be a photo (JPEG, PNG or WebP) or a PDF document.")]
    return kind


def delivery_log(
    *,
    actor,
    referral: Referral,
    delivered_on: date,
    quantity: int,
    value: int,
    note: str = "",
    evidence=None,
    pledge=None,
) -> Delivery:
    """Record what the agency delivered on an accepted referral (with optional evidence and
    the CSR pledge that paid for it: ``interventions.pledges.funding_problem`` says when one
    cannot). A closed referral (completed, rejected, cancelled) is a field error of
    ``referral``; one still waiting for the agency is a state conflict."""
    _require_decider(actor, referral)
    errors: dict[str, list[str]] = {}
    day = _as_date(delivered_on, "delivered_on", errors)
    today = timezone.localdate()
    referred_on = timezone.localdate(referral.referred_at)
    if day is not None and day > today:
        errors["delivered_on"] = [_("The delivery date cannot be in the future.")]
    elif day is not None and day < referred_on:
        errors["delivered_on"] = [
            _("The delivery date cannot be before the referral (%(day)s).")
            % {"day": day_text(referred_on)}
        ]
    quantity = _whole(quantity, "quantity", errors, minimum=1, maximum=QUANTITY_MAX)
    value = _whole(value, "value", errors, minimum=0, maximum=RUPIAH_MAX)
    kind = _check_evidence(evidence, errors) if evidence else None
    with transaction.atomic():
        current = _locked(referral)
        if current.status != ReferralStatus.ACCEPTED:
            message = _(
                "Deliveries can be logged only on an accepted referral; this one is %(status)s."
            ) % {"status": str(ReferralStatus(current.status).label).lower()}
            if current.status in CLOSED_STATUSES:
                raise ValidationError({"referral": [message]})
            raise DomainError(message)
        if pledge is not None:
            pledge = _funding_pledge(actor, pledge, current, day, value, errors)
        if errors:
            raise ValidationError(errors)
        delivery = Delivery(
            referral=current,
            delivered_on=day,
            quantity=quantity,
            value=value,
            note=(note or "").strip(),
            logged_by=actor,
        )
        if evidence:
            # A neutral name: no personal data in paths, the extension the content proved.
            evidence.name = f"{uuid.uuid4().hex}.{kind}"
            delivery.evidence = evidence
        delivery._history_user = actor
        delivery.save()
        if pledge is not None:
            pledges.funding_record(actor=actor, delivery=delivery, pledge=pledge)
        _queue_recalculation(current.household_id)
    return delivery


def _funding_pledge(actor, pledge, referral: Referral, day, value, errors: dict):
    """The pledge, locked, when it may pay for this delivery; otherwise a "pledge" error."""
    from .pledge_selectors import pledges_visible_to

    if not pledges_visible_to(actor).filter(pk=pledge.pk).exists():
        errors["pledge"] = [_("Unknown pledge.")]
        return None
    referral = Referral.objects.select_related("household__desa", "programme").get(pk=referral.pk)
    locked, problem = pledges.funding_problem(
        pledge=pledge,
        referral=referral,
        delivered_on=day,
        value=value if "value" not in errors else None,
    )
    if problem:
        errors["pledge"] = [problem]
    return locked


def referral_complete(*, actor, referral: Referral) -> Referral:
    """Close an accepted referral as delivered: its need counts as met from now on."""
    _require_decider(actor, referral)
    with transaction.atomic():
        current = _locked(referral)
        if current.status != ReferralStatus.ACCEPTED:
            raise DomainError(_("Only an accepted referral can be completed."))
        if not current.deliveries.exists():
            raise DomainError(_("Log at least one delivery before completing the referral."))
        current.status = ReferralStatus.COMPLETED
        current.closed_by = actor
        current.closed_at = timezone.now()
        current._history_user = actor
        current.save(update_fields=["status", "closed_by", "closed_at"])
        _queue_recalculation(current.household_id)
    return _refresh(referral, current)


def referral_cancel(*, actor, referral: Referral, reason: str) -> Referral:
    """Withdraw an open referral (its referrer's side or the agency), with a reason."""
    _visible(actor, referral)
    access = access_for(actor)
    household = Household.objects.select_related("desa").get(pk=referral.household_id)
    if not (refers(access, household) or decides(access, referral.programme)):
        raise NotAllowed(_("Your role may not cancel this referral."))
    text = _reason(reason)
    with transaction.atomic():
        current = _locked(referral)
        if current.status not in OPEN_STATUSES:
            raise DomainError(_("Only an open referral can be cancelled."))
        current.status = ReferralStatus.CANCELLED
        current.closed_by = actor
        current.closed_at = timezone.now()
        current.cancel_reason = text
        current._history_user = actor
        current.save(update_fields=["status", "closed_by", "closed_at", "cancel_reason"])
    return _refresh(referral, current)
