"""KUR credit: applications, their status pipeline, the repayment schedule, repayments, arrears.

Pipeline (each move a ``KurStatusChange`` with who and when; any other move is refused)::

    prepared -> submitted -> approved -> disbursed -> repaying -> repaid
    submitted -> rejected;  repaying -> in arrears -> repaying | defaulted | repaid

Schemes are data (``KurScheme``: ceiling, interest by loan number, most loans); an amount above
the scheme's ceiling is refused. Disbursement writes the schedule: flat interest, whole rupiah,
the last instalment absorbs the rounding. A repayment before disbursement is refused. Arrears
are computed from the schedule and the repayments (``arrears``); a loan moves into arrears by
hand only when it has some, and rejected, in arrears and defaulted need a reason; the daily check
(``kur_arrears_check``) moves a loan into arrears and raises a follow-up for the field worker
after ``KUR_ARREARS_FOLLOW_UP_DAYS`` days, and back to repaying once it has caught up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from households.models import Member
from opd.access import access_for
from opd.models import Organisation, OrganisationKind, Role
from povertycase.errors import NotAllowed, OutOfScope

from .groups import EDITORS, PATHWAY_STATES, edits_group
from .models import (
    BusinessGroup,
    Case,
    FollowUp,
    FollowUpKind,
    GroupMembership,
    GroupStatus,
    Instalment,
    KurApplication,
    KurScheme,
    KurStatus,
    KurStatusChange,
    Repayment,
)
from .money import format_rupiah
from .pathway import add_months
from .referrals import RUPIAH_MAX, _as_date, _whole
from .services import _queue_recalculation

S = KurStatus
MOVES: dict[str, frozenset[str]] = {
    S.PREPARED: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset({S.DISBURSED}),
    S.REJECTED: frozenset(),
    S.DISBURSED: frozenset({S.REPAYING, S.IN_ARREARS, S.REPAID}),
    S.REPAYING: frozenset({S.REPAID, S.IN_ARREARS}),
    S.IN_ARREARS: frozenset({S.REPAYING, S.DEFAULTED, S.REPAID}),
    S.DEFAULTED: frozenset({S.REPAID}),
    S.REPAID: frozenset(),
}
# Moves a person makes by hand (the others follow from repayments and the daily check).
BANK_MOVES = frozenset({S.APPROVED, S.REJECTED, S.DISBURSED, S.DEFAULTED})
PREPARER_MOVES = frozenset({S.SUBMITTED})
# Moves that need a reason (the note).
REASON_MOVES = frozenset({S.REJECTED, S.IN_ARREARS, S.DEFAULTED})
LOAN_STATES = (S.DISBURSED, S.REPAYING, S.IN_ARREARS, S.DEFAULTED)
COUNTED_LOANS = (S.DISBURSED, S.REPAYING, S.IN_ARREARS, S.DEFAULTED, S.REPAID)


# --- pure: schedule and arrears ---------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    number: int
    due_on: date
    principal: int
    interest: int

    @property
    def amount(self) -> int:
        return self.principal + self.interest


def schedule(*, amount: int, rate_bp: int, tenor_months: int, disbursed_on: date) -> list[Line]:
    """Monthly instalments, flat interest on the amount, whole rupiah.

    Interest for the whole loan = amount x rate x tenor / 12 (rounded down to the rupiah); each
    instalment carries amount // tenor principal and interest // tenor interest; the last one
    absorbs what rounding left, so the lines add up exactly. The first is due a month after
    disbursement.
    """
    total_interest = amount * rate_bp * tenor_months // (10_000 * 12)
    principal, interest = amount // tenor_months, total_interest // tenor_months
    lines = []
    for number in range(1, tenor_months + 1):
        last = number == tenor_months
        lines.append(
            Line(
                number,
                add_months(disbursed_on, number),
                amount - principal * (tenor_months - 1) if last else principal,
                total_interest - interest * (tenor_months - 1) if last else interest,
            )
        )
    return lines


@dataclass(frozen=True)
class Arrears:
    amount: int  # due by today and not paid
    days: int  # since the oldest instalment not fully covered fell due (0: up to date)
    since: date | None
    due: int  # total due by today
    paid: int
    outstanding: int  # everything still to pay


def arrears(lines: Sequence[Any], paid: int, today: date) -> Arrears:
    """Arrears from a schedule (objects with ``due_on`` and ``amount``) and the total paid."""
    due = sum(line.amount for line in lines if line.due_on <= today)
    total = sum(line.amount for line in lines)
    cumulative, since = 0, None
    for line in sorted(lines, key=lambda item: item.due_on):
        cumulative += line.amount
        if line.due_on > today:
            break
        if cumulative > paid:
            since = line.due_on
            break
    return Arrears(
        amount=max(0, due - paid),
        days=(today - since).days if since else 0,
        since=since,
        due=due,
        paid=paid,
        outstanding=max(0, total - paid),
    )


def application_arrears(application: KurApplication, today: date | None = None) -> Arrears:
    today = today or timezone.localdate()
    paid = application.repayments.aggregate(total=Sum("amount"))["total"] or 0
    return arrears(list(application.instalments.all()), paid, today)


# --- who may do what --------------------------------------------------------------------------


def is_bank_officer_of(access, application: KurApplication) -> bool:
    return Role.BANK_OFFICER in access.roles and application.bank_id in access.organisation_ids


def _visible(actor, application: KurApplication) -> None:
    from .group_selectors import kur_visible_to

    if not kur_visible_to(actor).filter(pk=application.pk).exists():
        raise OutOfScope()


def prepares(access, application: KurApplication) -> bool:
    if application.group_id:
        return edits_group(access, application.group)
    return access.has_role(*EDITORS) and access.covers(application.desa.code)


def decides(access, application: KurApplication) -> bool:
    return access.has_role(Role.PROVINCIAL_ADMIN) or is_bank_officer_of(access, application)


# --- applications -----------------------------------------------------------------------------


def _borrower_loans(*, group: BusinessGroup | None, member: Member | None, scheme) -> int:
    qs = KurApplication.objects.filter(scheme=scheme, status__in=COUNTED_LOANS)
    return (qs.filter(group=group) if group else qs.filter(member=member)).count()


def kur_application_create(
    *,
    actor,
    scheme: KurScheme,
    bank: Organisation,
    amount: Any,
    tenor_months: Any,
    purpose: str,
    group: BusinessGroup | None = None,
    member: Member | None = None,
) -> KurApplication:
    """Prepare an application for a group or for one member (not both)."""
    from .group_selectors import groups_visible_to

    access = access_for(actor)
    errors: dict[str, list[str]] = {}
    if (group is None) == (member is None):
        errors["group"] = [_("Choose either a group or a member, not both.")]
    desa = None
    if group is not None:
        if not groups_visible_to(actor).filter(pk=group.pk).exists():
            raise OutOfScope()
        if not edits_group(access, group):
            raise NotAllowed(_("Your role may not prepare loans for this group."))
        status = BusinessGroup.objects.values_list("status", flat=True).get(pk=group.pk)
        if status != GroupStatus.ACTIVE:
            errors["group"] = [_("Only an active group can apply for KUR.")]
        desa = group.desa
    elif member is not None:
        if not Member.objects.visible_to(actor).filter(pk=member.pk).exists():
            raise OutOfScope()
        if not access.has_role(*EDITORS):
            raise NotAllowed(_("Your role may not prepare loans."))
        state = Case.objects.filter(pk=member.household_id).values_list("state", flat=True)
        if state.first() not in PATHWAY_STATES:
            errors["member"] = [_("Only people from households in tier 2 or tier 3 may apply.")]
        desa = member.household.desa
    if bank is None or bank.kind != OrganisationKind.BANK or not bank.is_active:
        errors["bank"] = [_("Choose a bank that distributes KUR.")]
    if scheme is None or not scheme.is_active:
        errors["scheme"] = [_("Choose an active KUR scheme.")]
    amount = _whole(amount, "amount", errors, minimum=1, maximum=RUPIAH_MAX)
    tenor = _whole(tenor_months, "tenor_months", errors, minimum=1, maximum=360)
    if amount is not None and scheme is not None and "scheme" not in errors:
        if amount > scheme.max_amount:
            errors["amount"] = [
                _("%(amount)s is above the ceiling of %(scheme)s (%(max)s).")
                % {
                    "amount": format_rupiah(amount),
                    "scheme": scheme.name,
                    "max": format_rupiah(scheme.max_amount),
                }
            ]
        elif amount < scheme.min_amount:
            errors["amount"] = [
                _("%(amount)s is below the smallest amount of %(scheme)s (%(min)s).")
                % {
                    "amount": format_rupiah(amount),
                    "scheme": scheme.name,
                    "min": format_rupiah(scheme.min_amount),
                }
            ]
    if tenor is not None and scheme is not None and tenor > scheme.max_tenor_months:
        errors["tenor_months"] = [
            _("%(scheme)s lends for at most %(max)s months.")
            % {"scheme": scheme.name, "max": scheme.max_tenor_months}
        ]
    purpose = purpose.strip() if isinstance(purpose, str) else ""
    if not purpose:
        errors["purpose"] = [_("Say what the loan is for.")]
    loan_number = 1
    if not errors:
        loan_number = _borrower_loans(group=group, member=member, scheme=scheme) + 1
        if scheme.max_loans and loan_number > scheme.max_loans:
            errors["scheme"] = [
                _("%(scheme)s allows at most %(max)s loans per borrower; this would be loan %(n)s.")
                % {"scheme": scheme.name, "max": scheme.max_loans, "n": loan_number}
            ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        application = KurApplication(
            group=group,
            member=member,
            desa=desa,
            scheme=scheme,
            bank=bank,
            amount=amount,
            tenor_months=tenor,
            purpose=purpose,
            loan_number=loan_number,
            rate_bp=scheme.rate_for(loan_number),
            created_by=actor,
        )
        application._history_user = actor
        application.save()
        KurStatusChange.objects.create(
            application=application,
            from_status="",
            to_status=S.PREPARED,
            at=timezone.now(),
            actor=actor,
        )
    return application


def _move(application: KurApplication, to_status: str, actor, note: str = "") -> KurStatusChange:
    change = KurStatusChange.objects.create(
        application=application,
        from_status=application.status,
        to_status=to_status,
        at=timezone.now(),
        actor=actor,
        note=note,
    )
    application.status = to_status
    application._history_user = actor
    application.save()
    for household_id in borrower_households([application]):
        _queue_recalculation(household_id)
    return change


def borrower_households(applications: Iterable[KurApplication]) -> list[int]:
    """The households behind the loans: the member's, or the group's open members'."""
    ids = set()
    group_ids = []
    for application in applications:
        if application.member_id:
            ids.add(
                Member.objects.values_list("household_id", flat=True).get(pk=application.member_id)
            )
        else:
            group_ids.append(application.group_id)
    if group_ids:
        ids.update(
            GroupMembership.objects.filter(group_id__in=group_ids, is_open=True).values_list(
                "member__household_id", flat=True
            )
        )
    return sorted(ids)


def _illegal(current: str, to_status: str) -> str:
    labels = dict(KurStatus.choices)
    return _("An application that is %(current)s cannot become %(to)s.") % {
        "current": str(labels[current]).lower(),
        "to": str(labels[to_status]).lower(),
    }


def kur_application_move(
    *,
    actor,
    application: KurApplication,
    to_status: str,
    note: str = "",
    disbursed_on: Any = None,
) -> KurStatusChange:
    """Move an application along the pipeline; disbursing writes the repayment schedule."""
    _visible(actor, application)
    access = access_for(actor)
    labels = dict(KurStatus.choices)
    if to_status not in labels:
        raise ValidationError({"to_status": [_("Unknown status.")]})
    current = KurApplication.objects.values_list("status", flat=True).get(pk=application.pk)
    if to_status not in MOVES[KurStatus(current)]:
        raise ValidationError({"to_status": [_illegal(current, to_status)]})
    if to_status in BANK_MOVES and not decides(access, application):
        raise NotAllowed(_("Only an officer of the distributing bank may do this."))
    if to_status in PREPARER_MOVES and not (
        prepares(access, application) or decides(access, application)
    ):
        raise NotAllowed(_("Your role may not submit this application."))
    if to_status not in BANK_MOVES | PREPARER_MOVES and not decides(access, application):
        raise NotAllowed(_("Only an officer of the distributing bank may do this."))
    errors: dict[str, list[str]] = {}
    note = (note or "").strip() if isinstance(note, str) else ""
    day = None
    if to_status == S.DISBURSED:
        day = (
            timezone.localdate()
            if disbursed_on in (None, "")
            else _as_date(disbursed_on, "disbursed_on", errors)
        )
        if day is not None and day > timezone.localdate():
            errors["disbursed_on"] = [_("The disbursement date cannot be in the future.")]
    if to_status in REASON_MOVES and not note:
        errors["note"] = [_("Give a reason.")]
    with transaction.atomic():
        locked = KurApplication.objects.select_for_update().get(pk=application.pk)
        if to_status not in MOVES[KurStatus(locked.status)]:
            errors["to_status"] = [_illegal(locked.status, to_status)]
        elif to_status == S.IN_ARREARS and application_arrears(locked).amount == 0:
            errors["to_status"] = [
                _("The loan cannot be in arrears: nothing due by today is unpaid.")
            ]
        if errors:
            raise ValidationError(errors)
        if to_status == S.DISBURSED:
            locked.disbursed_on = day
            Instalment.objects.bulk_create(
                Instalment(
                    application=locked,
                    number=line.number,
                    due_on=line.due_on,
                    principal=line.principal,
                    interest=line.interest,
                )
                for line in schedule(
                    amount=locked.amount,
                    rate_bp=locked.rate_bp,
                    tenor_months=locked.tenor_months,
                    disbursed_on=day,
                )
            )
        change = _move(locked, to_status, actor, note)
    application.refresh_from_db()
    return change


def repayment_record(
    *, actor, application: KurApplication, paid_on: Any, amount: Any, note: str = ""
) -> Repayment:
    """Money paid back; the loan moves to repaying, and to repaid once all is paid."""
    _visible(actor, application)
    access = access_for(actor)
    if not (decides(access, application) or prepares(access, application)):
        raise NotAllowed(_("Your role may not record repayments of this loan."))
    errors: dict[str, list[str]] = {}
    day = _as_date(paid_on, "paid_on", errors)
    amount = _whole(amount, "amount", errors, minimum=1, maximum=RUPIAH_MAX)
    with transaction.atomic():
        locked = KurApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status not in LOAN_STATES:
            errors["application"] = [
                _("A repayment can only be recorded on a disbursed loan; this one is %(status)s.")
                % {"status": locked.get_status_display().lower()}
            ]
        else:
            if day is not None and day < locked.disbursed_on:
                errors["paid_on"] = [_("A repayment cannot be dated before the disbursement.")]
            if day is not None and day > timezone.localdate():
                errors["paid_on"] = [_("The payment date cannot be in the future.")]
            state = application_arrears(locked)
            if amount is not None and amount > state.outstanding:
                errors["amount"] = [
                    _("Only %(outstanding)s is still owed.")
                    % {"outstanding": format_rupiah(state.outstanding)}
                ]
        if errors:
            raise ValidationError(errors)
        repayment = Repayment(
            application=locked,
            paid_on=day,
            amount=amount,
            note=(note or "").strip(),
            recorded_by=actor,
        )
        repayment._history_user = actor
        repayment.save()
        state = application_arrears(locked)
        if state.outstanding == 0:
            _move(locked, S.REPAID, actor)
        elif locked.status == S.DISBURSED:
            _move(locked, S.REPAYING, actor)
        elif locked.status == S.IN_ARREARS and state.amount == 0:
            _move(locked, S.REPAYING, actor, _("Caught up with the schedule."))
    application.refresh_from_db()
    return repayment


# --- the daily check --------------------------------------------------------------------------


def kur_arrears_check(*, today: date | None = None) -> int:
    """Move loans behind their schedule into arrears (and back); raise follow-ups. Idempotent.

    Returns the number of follow-ups raised. Reads all running loans in three queries.
    """
    today = today or timezone.localdate()
    limit = settings.KUR_ARREARS_FOLLOW_UP_DAYS
    loans = list(
        KurApplication.objects.filter(status__in=(S.DISBURSED, S.REPAYING, S.IN_ARREARS))
        .prefetch_related("instalments")
        .annotate(paid_total=Sum("repayments__amount"))
    )
    raised = 0
    for loan in loans:
        state = arrears(list(loan.instalments.all()), loan.paid_total or 0, today)
        with transaction.atomic():
            if state.days > limit and loan.status != S.IN_ARREARS:
                _move(
                    loan,
                    S.IN_ARREARS,
                    None,
                    _("%(days)s days behind the schedule (%(amount)s).")
                    % {"days": state.days, "amount": format_rupiah(state.amount)},
                )
            elif state.amount == 0 and loan.status == S.IN_ARREARS:
                _move(loan, S.REPAYING, None, _("Caught up with the schedule."))
            if state.days > limit:
                raised += _raise_arrears(loan, state, today)
    return raised


def _raise_arrears(loan: KurApplication, state: Arrears, today: date) -> int:
    households = borrower_households([loan])
    already = set(
        FollowUp.objects.filter(
            application=loan, kind=FollowUpKind.ARREARS, resolved_at__isnull=True
        ).values_list("household_id", flat=True)
    )
    now = timezone.now()
    new = [
        FollowUp(
            household_id=household_id,
            kind=FollowUpKind.ARREARS,
            application=loan,
            group_id=loan.group_id,
            detail={"days": state.days, "amount": state.amount, "on": today.isoformat()},
            raised_at=now,
        )
        for household_id in households
        if household_id not in already
    ]
    FollowUp.objects.bulk_create(new)
    return len(new)
