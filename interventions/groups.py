"""Every write of business groups (KUBE, UMKM, cooperatives): the group, its members, its status
and its monthly business records.

- A group has 5 to 20 members by default (``GROUP_MIN_MEMBERS`` / ``GROUP_MAX_MEMBERS``);
  activating a group below the minimum is refused, and so is a member beyond the maximum.
- A person joins only from a household in tier 2 or 3, and is in one open group at a time (this
  service checks it; a partial unique constraint keeps it true under races).
- Status moves: forming -> active | dissolved; active -> dormant | dissolved; dormant -> active |
  dissolved. Each is a ``GroupStatusChange`` (who, when, why). Dissolving closes the memberships
  and raises a follow-up for each member's household (not a demotion).
- Membership and status changes queue the recalculation of the households concerned (after
  commit): tier 3 needs a member who completed training in an ACTIVE group.

Errors: ``ValidationError`` keyed by field, ``DomainError`` (409) for state conflicts,
``NotAllowed`` (403), ``OutOfScope`` (404). Nothing is written when any is raised.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from households.choices import MemberStatus
from households.models import Member
from opd.access import access_for
from opd.models import Membership, Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from regions.models import Level, Region

from .models import (
    BusinessGroup,
    BusinessRecord,
    Case,
    FollowUp,
    FollowUpKind,
    GroupKind,
    GroupMembership,
    GroupRole,
    GroupStatus,
    GroupStatusChange,
)
from .pathway import TIER2, TIER3
from .referrals import RUPIAH_MAX, _as_date, _whole
from .services import _queue_recalculation

EDITORS = (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.FIELD_WORKER)
FACILITATOR_ROLES = (Role.FIELD_WORKER, Role.OPD_OFFICER)
EARLIEST_FOUNDING = date(1950, 1, 1)  # a founding date before this is a typing slip
STATUS_MOVES = {
    GroupStatus.FORMING: {GroupStatus.ACTIVE, GroupStatus.DISSOLVED},
    GroupStatus.ACTIVE: {GroupStatus.DORMANT, GroupStatus.DISSOLVED},
    GroupStatus.DORMANT: {GroupStatus.ACTIVE, GroupStatus.DISSOLVED},
    GroupStatus.DISSOLVED: set(),
}
# Moves that need a reason.
REASON_MOVES = frozenset({GroupStatus.DORMANT, GroupStatus.DISSOLVED})
OFFICE_ROLES = (GroupRole.CHAIR, GroupRole.TREASURER, GroupRole.SECRETARY)
PATHWAY_STATES = (TIER2, TIER3)


def size_limits() -> tuple[int, int]:
    return settings.GROUP_MIN_MEMBERS, settings.GROUP_MAX_MEMBERS


# --- who may do what --------------------------------------------------------------------------


def edits_group(access, group: BusinessGroup | None = None, desa: Region | None = None) -> bool:
    """Register editors in the group's area, and the group's own facilitator."""
    if group is not None and group.facilitator_id and group.facilitator_id == access.user_id:
        return True
    if not access.has_role(*EDITORS):
        return False
    code = (group.desa if group is not None else desa).code if (group or desa) else None
    return code is None or access.covers(code)


def _require_editor(actor, group: BusinessGroup) -> None:
    from .group_selectors import groups_visible_to

    fresh = groups_visible_to(actor).select_related("desa").filter(pk=group.pk).first()
    if fresh is None:
        raise OutOfScope()
    if not edits_group(access_for(actor), fresh):  # the stored facilitator, not a stale copy
        raise NotAllowed(_("Your role may not change this group."))


def _text(value: Any, field: str, errors: dict, *, max_length: int, required=True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        errors[field] = [_("This field is required.")]
    elif len(text) > max_length:
        errors[field] = [_("At most %(max)s characters.") % {"max": max_length}]
    return text


def _check_facilitator(user, desa, errors: dict) -> None:
    """A field worker or OPD officer; a field worker only inside their own area (the facilitator
    sees the group and its members)."""
    if user is None:
        return
    roles = set(
        Membership.objects.filter(
            user=user, role__in=FACILITATOR_ROLES, is_active=True, organisation__is_active=True
        ).values_list("role", flat=True)
    )
    if not roles:
        errors["facilitator"] = [_("The facilitator must be a field worker or an OPD officer.")]
    elif (
        Role.OPD_OFFICER not in roles
        and isinstance(desa, Region)
        and not access_for(user).covers(desa.code)
    ):
        errors["facilitator"] = [_("This field worker works outside the group's village.")]


def _group_fields(actor, fields: dict, errors: dict, *, current_desa=None) -> dict:
    clean = {}
    if "name" in fields:
        clean["name"] = _text(fields["name"], "name", errors, max_length=150)
    if "kind" in fields:
        if fields["kind"] not in GroupKind.values:
            errors["kind"] = [_("Choose a kind: KUBE, UMKM, cooperative or other.")]
        clean["kind"] = fields["kind"]
    if "sector" in fields:
        clean["sector"] = _text(fields["sector"], "sector", errors, max_length=100)
    if "desa" in fields:
        desa = fields["desa"]
        if not isinstance(desa, Region) or desa.level != Level.VILLAGE:
            errors["desa"] = [_("Choose a desa/kelurahan.")]
        elif not access_for(actor).covers(desa.code):
            errors["desa"] = [_("This village is outside your area.")]
        clean["desa"] = desa
    if "founded_on" in fields:
        founded = _as_date(fields["founded_on"], "founded_on", errors)
        if founded is not None and founded > timezone.localdate():
            errors["founded_on"] = [_("The founding date cannot be in the future.")]
        elif founded is not None and founded < EARLIEST_FOUNDING:
            errors["founded_on"] = [
                _("The founding date cannot be before %(day)s.")
                % {"day": EARLIEST_FOUNDING.isoformat()}
            ]
        clean["founded_on"] = founded
    if "facilitator" in fields:
        _check_facilitator(fields["facilitator"], fields.get("desa", current_desa), errors)
        clean["facilitator"] = fields["facilitator"]
    return clean


# --- the group --------------------------------------------------------------------------------


def group_create(
    *,
    actor,
    name: str,
    kind: str,
    sector: str,
    desa: Region,
    founded_on: date,
    facilitator=None,
) -> BusinessGroup:
    """A new group, forming. Its founding status is the first line of its status log."""
    access = access_for(actor)
    if not access.has_role(*EDITORS):
        raise NotAllowed(_("Your role may not form groups."))
    errors: dict[str, list[str]] = {}
    fields = {
        "name": name,
        "kind": kind,
        "sector": sector,
        "desa": desa,
        "founded_on": founded_on,
        "facilitator": facilitator,
    }
    clean = _group_fields(actor, fields, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        group = BusinessGroup(created_by=actor, **clean)
        group._history_user = actor
        group.save()
        GroupStatusChange.objects.create(
            group=group,
            from_status="",
            to_status=GroupStatus.FORMING,
            at=timezone.now(),
            actor=actor,
        )
    return group


def group_update(*, actor, group: BusinessGroup, **fields: Any) -> BusinessGroup:
    """Change the name, kind, sector, village, founding date or facilitator."""
    _require_editor(actor, group)
    unknown = set(fields) - {"name", "kind", "sector", "desa", "founded_on", "facilitator"}
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
    errors: dict[str, list[str]] = {}
    if "desa" in fields and "facilitator" not in fields and group.facilitator_id:
        fields["facilitator"] = group.facilitator  # a new village must suit the facilitator
    clean = _group_fields(actor, fields, errors, current_desa=group.desa)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = BusinessGroup.objects.select_for_update().get(pk=group.pk)
        for key, value in clean.items():
            setattr(locked, key, value)
        locked._history_user = actor
        locked.save()
    return locked


def _open_count(group: BusinessGroup) -> int:
    return GroupMembership.objects.filter(group=group, is_open=True).count()


def group_member_add(
    *,
    actor,
    group: BusinessGroup,
    member: Member,
    role: str = GroupRole.MEMBER,
    joined_on: date | None = None,
) -> GroupMembership:
    """A person joins the group (from a tier 2/3 household, in no other open group)."""
    _require_editor(actor, group)
    errors: dict[str, list[str]] = {}
    if role not in GroupRole.values:
        errors["role"] = [_("Choose a role: chair, treasurer, secretary or member.")]
    joined = timezone.localdate() if joined_on is None else _as_date(joined_on, "joined_on", errors)
    if joined is not None and joined > timezone.localdate():
        errors["joined_on"] = [_("The joining date cannot be in the future.")]
    if not Member.objects.visible_to(actor).filter(pk=member.pk).exists():
        errors["member"] = [_("Choose a person from a household in your area.")]
    elif member.status != MemberStatus.ACTIVE:
        errors["member"] = [_("This person is no longer an active member of their household.")]
    with transaction.atomic():
        locked = BusinessGroup.objects.select_for_update().get(pk=group.pk)
        if locked.status == GroupStatus.DISSOLVED:
            raise DomainError(_("A dissolved group takes no new members."))
        if "member" not in errors:
            state = Case.objects.filter(pk=member.household_id).values_list("state", flat=True)
            if state.first() not in PATHWAY_STATES:
                errors["member"] = [
                    _("Only people from households in tier 2 or tier 3 may join a group.")
                ]
            other = (
                GroupMembership.objects.filter(member=member, is_open=True)
                .select_related("group")
                .first()
            )
            if other is not None:
                errors["member"] = [
                    _(
                        "%(name)s is already a member of the group '%(group)s' (%(status)s); "
                        "a person is in one group at a time."
                    )
                    % {
                        "name": member.name,
                        "group": other.group.name,
                        "status": other.group.get_status_display(),
                    }
                ]
        maximum = size_limits()[1]
        if _open_count(locked) >= maximum:
            errors.setdefault("member", []).append(
                _("The group already has %(max)s members, the most a group may have.")
                % {"max": maximum}
            )
        if (
            role in OFFICE_ROLES
            and GroupMembership.objects.filter(group=locked, is_open=True, role=role).exists()
        ):
            errors["role"] = [
                _("The group already has a %(role)s.") % {"role": GroupRole(role).label}
            ]
        if errors:
            raise ValidationError(errors)
        membership = GroupMembership(group=locked, member=member, role=role, joined_on=joined)
        membership._history_user = actor
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError as exc:  # a concurrent join of the same person
            raise ValidationError(
                {"member": [_("This person has just joined another group.")]}
            ) from exc
        _queue_recalculation(member.household_id)
    return membership


def group_member_leave(
    *, actor, membership: GroupMembership, left_on: date | None = None
) -> GroupMembership:
    """A person leaves the group (the membership closes; its history stays)."""
    _require_editor(actor, membership.group)
    errors: dict[str, list[str]] = {}
    left = timezone.localdate() if left_on is None else _as_date(left_on, "left_on", errors)
    if left is not None and left < membership.joined_on:
        errors["left_on"] = [_("A person cannot leave before joining.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = GroupMembership.objects.select_for_update().get(pk=membership.pk)
        if not locked.is_open:
            raise DomainError(_("This person already left the group."))
        locked.is_open = False
        locked.left_on = left
        locked._history_user = actor
        locked.save()
        _queue_recalculation(locked.member.household_id)
    return locked


def group_status_change(
    *, actor, group: BusinessGroup, to_status: str, reason: str = ""
) -> GroupStatusChange:
    """Move a group's status (with a reason for dormant and dissolved)."""
    _require_editor(actor, group)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    with transaction.atomic():
        locked = BusinessGroup.objects.select_for_update().get(pk=group.pk)
        errors: dict[str, list[str]] = {}
        labels = dict(GroupStatus.choices)
        if to_status not in labels:
            errors["to_status"] = [_("Unknown status.")]
        elif to_status not in STATUS_MOVES[GroupStatus(locked.status)]:
            errors["to_status"] = [
                _("A %(current)s group cannot become %(to)s.")
                % {"current": labels[locked.status].lower(), "to": labels[to_status].lower()}
            ]
        if to_status in REASON_MOVES and not reason:
            errors["reason"] = [_("Give a reason.")]
        if to_status == GroupStatus.ACTIVE and "to_status" not in errors:
            minimum = size_limits()[0]
            count = _open_count(locked)
            if count < minimum:
                errors["to_status"] = [
                    _(
                        "The group has %(count)s members; it needs at least %(min)s to become "
                        "active."
                    )
                    % {"count": count, "min": minimum}
                ]
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        change = GroupStatusChange.objects.create(
            group=locked,
            from_status=locked.status,
            to_status=to_status,
            at=now,
            actor=actor,
            reason=reason,
        )
        locked.status = to_status
        locked._history_user = actor
        locked.save(update_fields=["status"])
        open_members = list(
            GroupMembership.objects.filter(group=locked, is_open=True).select_related("member")
        )
        households = sorted({m.member.household_id for m in open_members})
        if to_status == GroupStatus.DISSOLVED:
            today = timezone.localdate(now)
            for membership in open_members:
                membership.is_open = False
                membership.left_on = today
                membership._history_user = actor
                membership.save(update_fields=["is_open", "left_on"])
            FollowUp.objects.bulk_create(
                [
                    FollowUp(
                        household_id=household_id,
                        kind=FollowUpKind.GROUP_DISSOLVED,
                        group=locked,
                        detail={"reason": reason},
                        raised_at=now,
                    )
                    for household_id in households
                ]
            )
        for household_id in households:
            _queue_recalculation(household_id)
    return change


# --- business records -------------------------------------------------------------------------


def business_record_save(
    *,
    actor,
    group: BusinessGroup,
    month: date | str,
    revenue: int,
    costs: int,
    profit_per_member: int = 0,
    note: str = "",
) -> BusinessRecord:
    """Record (or correct) a group's business for one month; one record per group per month."""
    _require_editor(actor, group)
    errors: dict[str, list[str]] = {}
    if isinstance(month, str) and len(month.strip()) == 7:
        month = month.strip() + "-01"
    day = _as_date(month, "month", errors)
    if day is not None:
        day = day.replace(day=1)
        if day > timezone.localdate():
            errors["month"] = [_("The month cannot be in the future.")]
        elif day < group.founded_on.replace(day=1):
            errors["month"] = [_("The month is before the group was founded.")]
    revenue = _whole(revenue, "revenue", errors, minimum=0, maximum=RUPIAH_MAX)
    costs = _whole(costs, "costs", errors, minimum=0, maximum=RUPIAH_MAX)
    share = _whole(profit_per_member, "profit_per_member", errors, minimum=0, maximum=RUPIAH_MAX)
    status = BusinessGroup.objects.values_list("status", flat=True).get(pk=group.pk)
    if status in (GroupStatus.FORMING, GroupStatus.DISSOLVED):
        errors.setdefault("month", []).append(
            _("Business is recorded for active or dormant groups only.")
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record = BusinessRecord.objects.select_for_update().filter(group=group, month=day).first()
        if record is None:
            record = BusinessRecord(group=group, month=day, recorded_by=actor)
        record.revenue, record.costs, record.profit_per_member = revenue, costs, share
        record.note = (note or "").strip()
        record.recorded_by = actor
        record._history_user = actor
        record.save()
        for household_id in (
            GroupMembership.objects.filter(group=group, is_open=True)
            .values_list("member__household_id", flat=True)
            .distinct()
        ):
            _queue_recalculation(household_id)
    return record
