"""Every write of CSR funding: pledges, their disbursements, and the deliveries a pledge pays for.

A company (an organisation of kind CSR) pledges an amount of rupiah for a period, optionally for
one programme, one region (any level) and/or one tier. Lifecycle: ``draft`` (a provincial
administrator, or the company's own CSR partner, writes it) -> ``active`` (a provincial
administrator accepts it) -> ``closed`` (no more disbursements or funded deliveries); a draft,
or an active pledge with nothing disbursed, may be ``cancelled`` with a reason. Every change is
kept by simple-history (who, when, what).

Money: disbursements are recorded by provincial administrators (the province confirms the money
arrived); their total never exceeds the pledge. A delivery may name the active pledge that paid
for it when the pledge's targets match (programme, the household's region, the programme's
tier), the delivery date lies in the pledge's period, and the pledge has enough money disbursed
and not yet spent on other deliveries. Both checks run under a row lock on the pledge, so two
people disbursing (or funding) at the same moment never exceed it.

Errors: ``ValidationError`` keyed by field (company, title, amount, starts_on, ends_on,
programme, region, tier, note, reason, disbursed_on, pledge), ``DomainError`` (409) for a
lifecycle step the status does not allow, ``NotAllowed`` (403) for the wrong role,
``OutOfScope`` (404) for another company's pledge. Nothing is written on any error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from opd.access import Access, access_for
from opd.models import Organisation, OrganisationKind, Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from povertycase.limits import RUPIAH_MAX
from regions.models import Region

from .models import (
    Delivery,
    DeliveryFunding,
    Disbursement,
    Pledge,
    PledgeStatus,
    Programme,
    ProgrammeTier,
    Referral,
)
from .money import format_rupiah
from .programmes import UNSET, _date, _Errors, _text, _whole, day_text

EDITABLE = (PledgeStatus.DRAFT, PledgeStatus.ACTIVE)
EARLIEST_PLEDGE = date(2000, 1, 1)  # a date before this is a typing slip, not a pledge
LONGEST_PLEDGE_DAYS = 3653  # ten years


# --- who may do what --------------------------------------------------------------------------


def manages_pledges(access: Access) -> bool:
    """Provincial administrators: every pledge, activation, closing, disbursements."""
    return access.has_role(Role.PROVINCIAL_ADMIN)


def csr_companies(access: Access) -> frozenset[int]:
    """The companies a CSR partner speaks for (empty for other roles)."""
    return access.organisation_ids if Role.CSR_PARTNER in access.roles else frozenset()


def creates_pledges(access: Access) -> bool:
    return manages_pledges(access) or bool(csr_companies(access))


def edits_pledge(access: Access, pledge: Pledge) -> bool:
    """Administrators edit drafts and active pledges; a CSR partner its own company's drafts."""
    if pledge.status not in EDITABLE:
        return False
    if manages_pledges(access):
        return True
    return pledge.status == PledgeStatus.DRAFT and pledge.company_id in csr_companies(access)


def cancels_pledge(access: Access, pledge: Pledge) -> bool:
    return edits_pledge(access, pledge)


def _visible(actor, pledge: Pledge) -> Access:
    from .pledge_selectors import pledges_visible_to

    if not pledges_visible_to(actor).filter(pk=pledge.pk).exists():
        raise OutOfScope()
    return access_for(actor)


def _locked(pledge: Pledge) -> Pledge:
    return Pledge.objects.select_for_update(of=("self",)).get(pk=pledge.pk)


def _refresh(pledge: Pledge, fresh: Pledge) -> Pledge:
    for field in fresh._meta.concrete_fields:
        setattr(pledge, field.attname, getattr(fresh, field.attname))
    return pledge


def _status_label(status: str) -> str:
    return str(PledgeStatus(status).label).lower()


# --- money of a pledge ------------------------------------------------------------------------


def disbursed_total(pledge_id: int) -> int:
    total = Disbursement.objects.filter(pledge_id=pledge_id).aggregate(t=Sum("amount"))["t"]
    return total or 0


def spent_total(pledge_id: int) -> int:
    total = DeliveryFunding.objects.filter(pledge_id=pledge_id).aggregate(t=Sum("amount"))["t"]
    return total or 0


# --- input checks -----------------------------------------------------------------------------

PLEDGE_FIELDS = (
    "company",
    "title",
    "amount",
    "starts_on",
    "ends_on",
    "programme",
    "region",
    "tier",
    "note",
)


def _company(value: Any, access: Access, errors: _Errors) -> Organisation | None:
    if value is None or value == "":
        errors.add("company", _("Choose the company (CSR) that pledges."))
        return None
    if not isinstance(value, Organisation) or value.kind != OrganisationKind.CSR:
        errors.add("company", _("Choose a company (CSR); agencies and banks do not pledge."))
        return None
    if not value.is_active:
        errors.add("company", _("%(name)s is no longer active.") % {"name": value.short_name})
        return None
    if not manages_pledges(access) and value.pk not in csr_companies(access):
        errors.add("company", _("You may pledge only for your own company."))
        return None
    return value


def _tier(value: Any, errors: _Errors) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or value not in ProgrammeTier.values:
        errors.add("tier", _("Choose tier 1, 2 or 3, or leave it empty for any tier."))
        return None
    return int(value)


def _clean(data: dict, access: Access, errors: _Errors) -> dict:
    values = {
        "company": _company(data.get("company"), access, errors),
        "title": _text(data.get("title"), "title", errors, required=True, max_length=200),
        "amount": _whole(
            data.get("amount"), "amount", errors, required=True, minimum=1, maximum=RUPIAH_MAX
        ),
        "starts_on": _date(data.get("starts_on"), "starts_on", errors, required=True),
        "ends_on": _date(data.get("ends_on"), "ends_on", errors, required=True),
        "programme": data.get("programme") or None,
        "region": data.get("region") or None,
        "tier": _tier(data.get("tier"), errors),
        "note": _text(data.get("note"), "note", errors, max_length=2000),
    }
    if values["programme"] is not None and not isinstance(values["programme"], Programme):
        errors.add("programme", _("Unknown programme."))
    if values["region"] is not None and not isinstance(values["region"], Region):
        errors.add("region", _("Unknown region."))
    starts, ends = values["starts_on"], values["ends_on"]
    if starts and starts < EARLIEST_PLEDGE:
        errors.add(
            "starts_on",
            _("A pledge cannot start before %(day)s.") % {"day": day_text(EARLIEST_PLEDGE)},
        )
    if starts and ends and ends < starts:
        errors.add("ends_on", _("The end date cannot be before the start date."))
    elif starts and ends and (ends - starts).days > LONGEST_PLEDGE_DAYS:
        errors.add("ends_on", _("A pledge can run for at most ten years."))
    programme, tier = values["programme"], values["tier"]
    if isinstance(programme, Programme) and tier is not None and programme.tier != tier:
        errors.add(
            "tier",
            _("The programme %(code)s is a tier %(tier)s programme.")
            % {"code": programme.code, "tier": programme.tier},
        )
    return values


def _save(pledge: Pledge, values: dict, actor) -> Pledge:
    for name, value in values.items():
        setattr(pledge, name, value)
    pledge._history_user = actor
    pledge.save()
    return pledge


# --- pledge -----------------------------------------------------------------------------------


def pledge_create(
    *,
    actor,
    company: Organisation,
    title: str,
    amount: int,
    starts_on: date,
    ends_on: date,
    programme: Programme | None = None,
    region: Region | None = None,
    tier: int | None = None,
    note: str = "",
) -> Pledge:
    """A new pledge, as a draft. Provincial administrators for any company; a CSR partner for
    its own company."""
    access = access_for(actor)
    if not creates_pledges(access):
        raise NotAllowed(_("Your role may not record pledges."))
    errors = _Errors()
    values = _clean(
        {
            "company": company,
            "title": title,
            "amount": amount,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "programme": programme,
            "region": region,
            "tier": tier,
            "note": note,
        },
        access,
        errors,
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _save(Pledge(created_by=actor), values, actor)


def pledge_update(
    *,
    actor,
    pledge: Pledge,
    company: Organisation = UNSET,
    title: str = UNSET,
    amount: int = UNSET,
    starts_on: date = UNSET,
    ends_on: date = UNSET,
    programme: Programme | None = UNSET,
    region: Region | None = UNSET,
    tier: int | None = UNSET,
    note: str = UNSET,
) -> Pledge:
    """Change some fields (UNSET: keep). The amount never falls below what was disbursed; once
    the pledge paid for deliveries its company, period and targets stay as they are."""
    access = _visible(actor, pledge)
    given = {k: v for k, v in locals().items() if k in PLEDGE_FIELDS and v is not UNSET}
    with transaction.atomic():
        locked = _locked(pledge)
        if not edits_pledge(access, locked):
            if locked.status not in EDITABLE:
                raise DomainError(
                    _("A %(status)s pledge cannot be changed.")
                    % {"status": _status_label(locked.status)}
                )
            raise NotAllowed(_("You may change only your own company's draft pledges."))
        current = {name: getattr(locked, name) for name in PLEDGE_FIELDS}
        errors = _Errors()
        values = _clean({**current, **given}, access, errors)
        disbursed = disbursed_total(locked.pk)
        if values["amount"] is not None and values["amount"] < disbursed:
            errors.add(
                "amount",
                _("The amount cannot be less than what was already disbursed (%(disbursed)s).")
                % {"disbursed": format_rupiah(disbursed)},
            )
        if locked.fundings.exists():
            for name in ("company", "starts_on", "ends_on", "programme", "region", "tier"):
                if name in given and values[name] != current[name] and name not in errors:
                    errors.add(
                        name,
                        _("This cannot change any more: the pledge already paid for deliveries."),
                    )
        if errors:
            raise ValidationError(errors)
        return _refresh(pledge, _save(locked, values, actor))


def _transition(actor, pledge: Pledge, allowed_from, to: str, message: str, **extra) -> Pledge:
    access = _visible(actor, pledge)
    if not manages_pledges(access):
        raise NotAllowed(_("Only a provincial administrator may do this."))
    with transaction.atomic():
        locked = _locked(pledge)
        if locked.status not in allowed_from:
            raise DomainError(message % {"status": _status_label(locked.status)})
        locked.status = to
        for name, value in extra.items():
            setattr(locked, name, value)
        locked._history_user = actor
        locked.save(update_fields=["status", *extra])
    return _refresh(pledge, locked)


def pledge_activate(*, actor, pledge: Pledge) -> Pledge:
    """The province accepts a draft: from now on money can be disbursed and spent."""
    return _transition(
        actor,
        pledge,
        (PledgeStatus.DRAFT,),
        PledgeStatus.ACTIVE,
        _("Only a draft pledge can be activated; this one is %(status)s."),
        activated_at=timezone.now(),
    )


def pledge_close(*, actor, pledge: Pledge) -> Pledge:
    """No more disbursements or funded deliveries; what happened stays."""
    return _transition(
        actor,
        pledge,
        (PledgeStatus.ACTIVE,),
        PledgeStatus.CLOSED,
        _("Only an active pledge can be closed; this one is %(status)s."),
        closed_at=timezone.now(),
    )


def pledge_cancel(*, actor, pledge: Pledge, reason: str) -> Pledge:
    """Withdraw a pledge nothing was disbursed against (a CSR partner: its own drafts)."""
    access = _visible(actor, pledge)
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationError({"reason": [_("Give a reason.")]})
    with transaction.atomic():
        locked = _locked(pledge)
        if locked.status not in EDITABLE:
            raise DomainError(
                _("A %(status)s pledge cannot be cancelled.")
                % {"status": _status_label(locked.status)}
            )
        if not cancels_pledge(access, locked):
            raise NotAllowed(_("You may cancel only your own company's draft pledges."))
        if locked.disbursements.exists():
            raise DomainError(
                _("Money was disbursed against this pledge: close it instead of cancelling it.")
            )
        locked.status = PledgeStatus.CANCELLED
        locked.closed_at = timezone.now()
        locked.cancel_reason = text
        locked._history_user = actor
        locked.save(update_fields=["status", "closed_at", "cancel_reason"])
    return _refresh(pledge, locked)


# --- disbursements ----------------------------------------------------------------------------


def disbursement_record(
    *, actor, pledge: Pledge, disbursed_on: date, amount: int, note: str = ""
) -> Disbursement:
    """Money paid out against an active pledge; the total never exceeds the pledge (checked
    under the pledge's row lock, so two people recording at once cannot exceed it)."""
    access = _visible(actor, pledge)
    if not manages_pledges(access):
        raise NotAllowed(_("Only a provincial administrator may record disbursements."))
    errors = _Errors()
    day = _date(disbursed_on, "disbursed_on", errors, required=True)
    if day is not None and day > timezone.localdate():
        errors.add("disbursed_on", _("The date cannot be in the future."))
    amount = _whole(amount, "amount", errors, required=True, minimum=1, maximum=RUPIAH_MAX)
    note = _text(note, "note", errors, max_length=2000)
    with transaction.atomic():
        locked = _locked(pledge)
        if locked.status != PledgeStatus.ACTIVE:
            errors.add(
                "pledge",
                _("Money can be disbursed only against an active pledge; this one is %(status)s.")
                % {"status": _status_label(locked.status)},
            )
        if amount is not None and "pledge" not in errors:
            remaining = locked.amount - disbursed_total(locked.pk)
            if amount > remaining:
                errors.add(
                    "amount",
                    _(
                        "Only %(remaining)s of the pledge is left to disburse; "
                        "%(amount)s is too much."
                    )
                    % {"remaining": format_rupiah(remaining), "amount": format_rupiah(amount)},
                )
        if errors:
            raise ValidationError(errors)
        disbursement = Disbursement(
            pledge=locked, disbursed_on=day, amount=amount, note=note, recorded_by=actor
        )
        disbursement._history_user = actor
        disbursement.save()
    return disbursement


# --- deliveries paid by a pledge --------------------------------------------------------------


def _covers(region_code: str, target: Region | None) -> bool:
    return target is None or region_code == target.code or region_code.startswith(target.code + ".")


def target_problem(pledge: Pledge, programme: Programme, desa_code: str) -> str | None:
    """Why the pledge's targets exclude a delivery of ``programme`` to a household in
    ``desa_code`` (None: they include it). Reads ``pledge.region`` (select it)."""
    if pledge.programme_id is not None and pledge.programme_id != programme.pk:
        return _("This pledge is for another programme.")
    if pledge.tier is not None and pledge.tier != programme.tier:
        return _("This pledge is for tier %(tier)s programmes.") % {"tier": pledge.tier}
    if not _covers(desa_code, pledge.region):
        return _("This pledge is for another region (%(region)s).") % {"region": pledge.region.name}
    return None


def funding_problem(
    *, pledge: Pledge, referral: Referral, delivered_on: date | None, value: int | None
) -> tuple[Pledge, str | None]:
    """Lock the pledge and say why it cannot pay for this delivery (None: it can).

    Called by ``referrals.delivery_log`` inside its transaction, after the referral's lock
    (always in that order: referral, then pledge)."""
    locked = Pledge.objects.select_for_update(of=("self",)).select_related("region")
    locked = locked.get(pk=pledge.pk)
    if locked.status != PledgeStatus.ACTIVE:
        return locked, _(
            "Only an active pledge can pay for deliveries; this one is %(status)s."
        ) % {"status": _status_label(locked.status)}
    desa_code = referral.household.desa.code
    problem = target_problem(locked, referral.programme, desa_code)
    if problem:
        return locked, problem
    if delivered_on is not None and not (locked.starts_on <= delivered_on <= locked.ends_on):
        return locked, _(
            "The delivery date is outside the pledge's period (%(start)s to %(end)s)."
        ) % {
            "start": day_text(locked.starts_on),
            "end": day_text(locked.ends_on),
        }
    if value is not None:
        available = disbursed_total(locked.pk) - spent_total(locked.pk)
        if value > available:
            return locked, _(
                "The pledge has only %(available)s disbursed and not yet spent; "
                "this delivery is worth %(value)s."
            ) % {"available": format_rupiah(max(available, 0)), "value": format_rupiah(value)}
    return locked, None


def funding_record(*, actor, delivery: Delivery, pledge: Pledge) -> DeliveryFunding:
    """Write the link (inside the caller's transaction, after ``funding_problem``)."""
    funding = DeliveryFunding(
        delivery=delivery, pledge=pledge, amount=delivery.value, recorded_by=actor
    )
    funding._history_user = actor
    funding.save()
    return funding
