"""Every write to the household register goes through these functions.

HTML forms, the API, admin actions and imports all call them, so the rules live only here:
identity checks, one active member per NIK, one active household per No. KK, exactly one head,
the actor's area. Each use case writes in one transaction and announces the change after commit.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from opd.access import access_for
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from regions.models import Region

from . import choices as c
from .models import Household, KkChange, Member, PersonalDataAccess
from .signals import household_data_changed
from .validation import birth_date_problem, kk_check, nik_check

# Housing and living conditions (the BPS criteria the deprivations read).
HOUSING_FIELDS = (
    "floor_area_m2",
    "floor_material",
    "wall_material",
    "roof_material",
    "water_source",
    "toilet",
    "has_septic_tank",
    "lighting",
    "cooking_fuel",
    "ownership",
    "meals_per_day",
)
HOUSEHOLD_FIELDS = (
    "rt",
    "rw",
    "address",
    "lat",
    "lng",
    *HOUSING_FIELDS,
    "monthly_expenditure",
    "monthly_income",
    "desil",
    "desil_source",
    "desil_as_of",
    "dtsen_id",
    "p3ke_id",
    "dtks_id",
    "registration_source",
    "status",
)
MEMBER_FIELDS = (
    "nik",
    "name",
    "relationship",
    "sex",
    "birth_date",
    "birth_place",
    "marital_status",
    "education",
    "school_enrolment",
    "work_status",
    "occupation",
    "disability",
    "chronic_illness",
    "health_insurance",
)
# Indonesia's bounding box, to catch swapped or mistyped coordinates.
LAT_RANGE = (-11.5, 6.5)
LNG_RANGE = (94.5, 141.5)


# --- households -----------------------------------------------------------------------------


def household_register(
    *,
    actor,
    desa: Region,
    no_kk: str,
    members: Iterable[Mapping[str, Any]],
    **fields: Any,
) -> Household:
    """Register a household with its members (one of them the head) in one transaction."""
    _require_editor(actor)
    members = [dict(m) for m in members]
    household = Household(desa=desa, no_kk=(no_kk or "").strip(), created_by=actor)
    _assign(household, fields, HOUSEHOLD_FIELDS)
    household.status = c.HouseholdStatus.ACTIVE

    errors: dict[str, list] = {}
    _check_desa(actor, desa, errors)
    _check_household(household, errors)
    member_objs = []
    for index, data in enumerate(members):
        member = Member(household=household)
        _assign(member, data, MEMBER_FIELDS)
        member_errors: dict[str, list] = {}
        _check_member(member, member_errors)
        errors.update({f"members[{index}].{k}": v for k, v in member_errors.items()})
        member_objs.append(member)
    _check_niks_unique_within(member_objs, errors)
    heads = [m for m in member_objs if m.relationship == c.Relationship.HEAD]
    if len(heads) != 1:
        errors.setdefault("members", []).append(
            _("A household needs exactly one head; %(count)s given.") % {"count": len(heads)}
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        _save(household, actor)
        KkChange.objects.create(
            household=household,
            new_no_kk=household.no_kk,
            reason=c.KkChangeReason.FIRST,
            changed_by=actor,
        )
        for member in member_objs:
            member.household = household
            _save(member, actor)
        _announce(household)
    return household


def household_update(
    *,
    actor,
    household: Household,
    expected_version: int | None = None,
    desa: Region | None = None,
    no_kk: str | None = None,
    kk_change_reason: str | None = None,
    **fields: Any,
) -> Household:
    """Correct or update a household. A new No. KK needs a reason and is kept in its history."""
    _require_editor(actor, household)
    with transaction.atomic():
        locked = Household.objects.select_for_update().get(pk=household.pk)
        if expected_version is not None and expected_version != locked.version:
            raise DomainError(
                _("This household was changed by someone else; reload it and try again.")
            )
        errors: dict[str, list] = {}
        if desa is not None and desa.pk != locked.desa_id:
            _check_desa(actor, desa, errors)
            locked.desa = desa
        old_kk = locked.no_kk
        new_kk = (no_kk or "").strip() if no_kk is not None else old_kk
        locked.no_kk = new_kk
        _assign(locked, fields, HOUSEHOLD_FIELDS)
        if new_kk != old_kk and kk_change_reason not in c.KkChangeReason.values:
            errors.setdefault("kk_change_reason", []).append(
                _("Say why the No. KK changed (moved, split, new head or correction).")
            )
        _check_household(locked, errors)
        if errors:
            raise ValidationError(errors)
        locked.version += 1
        _save(locked, actor)
        if new_kk != old_kk:
            KkChange.objects.create(
                household=locked,
                old_no_kk=old_kk,
                new_no_kk=new_kk,
                reason=kk_change_reason,
                changed_by=actor,
            )
        _announce(locked)
    return locked


def personal_data_viewed(*, user, household: Household, channel: str, action: str = "view"):
    """Record that `user` saw (or exported) a household's identity numbers in clear."""
    PersonalDataAccess.objects.create(
        user=user, household=household, channel=channel, action=action
    )


# --- members --------------------------------------------------------------------------------


def member_add(*, actor, household: Household, **fields: Any) -> Member:
    """Add a person to a household; a new head only when the household has none."""
    _require_editor(actor, household)
    member = Member(household=household)
    _assign(member, fields, MEMBER_FIELDS)
    with transaction.atomic():
        Household.objects.select_for_update().filter(pk=household.pk).first()
        errors: dict[str, list] = {}
        if household.status != c.HouseholdStatus.ACTIVE:
            errors.setdefault("household", []).append(
                _("Members can only be added to an active household.")
            )
        _check_member(member, errors)
        _check_head_free(member, errors)
        if errors:
            raise ValidationError(errors)
        _save(member, actor)
        _touch(household, actor)
        _announce(household)
    return member


def member_update(
    *, actor, member: Member, expected_version: int | None = None, **fields: Any
) -> Member:
    """Correct a member's data. The head's role moves only through member_make_head.

    `expected_version` is the household version the user saw: a stale one is a conflict.
    """
    _require_editor(actor, member.household)
    with transaction.atomic():
        household = Household.objects.select_for_update().get(pk=member.household_id)
        if expected_version is not None and expected_version != household.version:
            raise DomainError(
                _("This household was changed by someone else; reload it and try again.")
            )
        locked = Member.objects.select_for_update().get(pk=member.pk)
        was_head = locked.is_head
        _assign(locked, fields, MEMBER_FIELDS)
        errors: dict[str, list] = {}
        if locked.status != c.MemberStatus.ACTIVE:
            errors.setdefault("status", []).append(
                _("This person has left the household; their data can no longer be changed.")
            )
        if was_head and not locked.is_head:
            errors.setdefault("relationship", []).append(
                _("A household keeps one head: make another member the head first.")
            )
        _check_member(locked, errors)
        if not was_head:
            _check_head_free(locked, errors)
        if errors:
            raise ValidationError(errors)
        _save(locked, actor)
        _touch(locked.household, actor)
        _announce(locked.household)
    return locked


def member_make_head(*, actor, member: Member, previous_head_relationship: str) -> Member:
    """Make `member` the head; the previous head takes the given relationship."""
    _require_editor(actor, member.household)
    if previous_head_relationship not in c.Relationship.values or (
        previous_head_relationship == c.Relationship.HEAD
    ):
        raise ValidationError(
            {
                "previous_head_relationship": _(
                    "Choose the previous head's new relationship (not head)."
                )
            }
        )
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        if locked.status != c.MemberStatus.ACTIVE:
            raise ValidationError(
                {"member": _("Only a member living in the household can be head.")}
            )
        if locked.is_head:
            return locked
        previous = (
            Member.objects.select_for_update()
            .filter(household_id=locked.household_id, relationship=c.Relationship.HEAD)
            .active()
            .first()
        )
        if previous is not None:
            previous.relationship = previous_head_relationship
            _save(previous, actor)
        locked.relationship = c.Relationship.HEAD
        _save(locked, actor)
        _touch(locked.household, actor)
        _announce(locked.household)
    return locked


def member_leave(*, actor, member: Member, status: str, left_on: date) -> Member:
    """A person moved out, died or was registered in error. The head leaves last."""
    _require_editor(actor, member.household)
    errors: dict[str, list] = {}
    if status not in c.MemberStatus.values or status == c.MemberStatus.ACTIVE:
        errors.setdefault("status", []).append(_("Choose why the person left the household."))
    if left_on is None:
        errors.setdefault("left_on", []).append(_("This field is required."))
    elif left_on > timezone.localdate():
        errors.setdefault("left_on", []).append(_("The date cannot be in the future."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        if locked.status != c.MemberStatus.ACTIVE:
            raise ValidationError({"status": _("This person has already left the household.")})
        others = (
            Member.objects.active().filter(household_id=locked.household_id).exclude(pk=locked.pk)
        )
        if not others.exists():
            raise ValidationError(
                {
                    "status": _(
                        "The last member cannot leave: change the household's status instead "
                        "(moved away or dissolved)."
                    )
                }
            )
        if locked.is_head:
            raise ValidationError(
                {"status": _("Make another member the head before the head leaves.")}
            )
        locked.status = status
        locked.left_on = left_on
        _save(locked, actor)
        _touch(locked.household, actor)
        _announce(locked.household)
    return locked


# --- rules ----------------------------------------------------------------------------------


def _require_editor(actor, household: Household | None = None) -> None:
    access = access_for(actor)
    if not access.edits_register:
        raise NotAllowed(_("You may not change the household register."))
    if household is not None and household.pk is not None:
        if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
            raise OutOfScope()
        if not access.covers(household.desa.code):
            raise NotAllowed(_("You may not change the household register."))


def _check_desa(actor, desa: Region | None, errors: dict) -> None:
    if desa is None or not desa.is_village:
        errors.setdefault("desa", []).append(_("Choose a village (desa/kelurahan)."))
    elif not access_for(actor).covers(desa.code):
        errors.setdefault("desa", []).append(_("This village is outside your area."))


def _check_household(household: Household, errors: dict) -> None:
    check = kk_check(household.no_kk)
    errors.setdefault("no_kk", []).extend(str(p.message) for p in check.errors)
    if not errors["no_kk"] and household.status == c.HouseholdStatus.ACTIVE:
        clash = Household.objects.active().filter(no_kk=household.no_kk)
        if household.pk:
            clash = clash.exclude(pk=household.pk)
        if clash.exists():
            errors["no_kk"].append(
                _("This No. KK already belongs to an active household in the register.")
            )
    if not errors["no_kk"]:
        del errors["no_kk"]
    _check_point(household, errors)
    _model_errors(household, errors, exclude=["desa", "no_kk", "created_by"])


def _check_point(obj, errors: dict) -> None:
    if (obj.lat is None) != (obj.lng is None):
        errors.setdefault("lat", []).append(_("Give both latitude and longitude, or neither."))
        return
    if obj.lat is None:
        return
    if not LAT_RANGE[0] <= float(obj.lat) <= LAT_RANGE[1]:
        errors.setdefault("lat", []).append(_("The latitude is outside Indonesia."))
    if not LNG_RANGE[0] <= float(obj.lng) <= LNG_RANGE[1]:
        errors.setdefault("lng", []).append(_("The longitude is outside Indonesia."))


def _check_member(member: Member, errors: dict) -> None:
    member.nik = (member.nik or "").strip()
    member.name = (member.name or "").strip()
    _model_errors(member, errors, exclude=["household", "nik"])  # NIK: identity rules below
    if problem := birth_date_problem(member.birth_date):
        errors.setdefault("birth_date", []).append(problem)
    check = nik_check(
        member.nik,
        birth_date=member.birth_date if "birth_date" not in errors else None,
        sex=member.sex if "sex" not in errors else None,
    )
    if check.errors:
        errors["nik"] = [str(p.message) for p in check.errors]
        return
    if member.status == c.MemberStatus.ACTIVE:
        clash = Member.objects.active().filter(nik=member.nik)
        if member.pk:
            clash = clash.exclude(pk=member.pk)
        if clash.exists():
            errors["nik"] = [
                _(
                    "This NIK already belongs to an active member of a household in the register; "
                    "a person can be in one household at a time (report the duplicate)."
                )
            ]


def _check_niks_unique_within(members: list[Member], errors: dict) -> None:
    seen: dict[str, int] = {}
    for index, member in enumerate(members):
        if member.nik in seen:
            errors.setdefault(f"members[{index}].nik", []).append(
                _("The same NIK is given twice in this household.")
            )
        seen.setdefault(member.nik, index)


def _check_head_free(member: Member, errors: dict) -> None:
    if not member.is_head:
        return
    heads = Member.objects.active().filter(
        household_id=member.household_id, relationship=c.Relationship.HEAD
    )
    if member.pk:
        heads = heads.exclude(pk=member.pk)
    if heads.exists():
        errors.setdefault("relationship", []).append(
            _("This household already has a head; use 'make head' to change it.")
        )


def _model_errors(obj, errors: dict, exclude: list[str]) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)


# --- plumbing -------------------------------------------------------------------------------


def _assign(obj, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    for name, value in data.items():
        field = obj._meta.get_field(name)
        if value is None and not field.null:
            value = field.get_default() if field.has_default() else ""
        setattr(obj, name, value)


def _save(obj, actor) -> None:
    obj._history_user = actor
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        # Two people wrote the same NIK or No. KK at the same moment: the database said no.
        field = "nik" if isinstance(obj, Member) else "no_kk"
        raise ValidationError(
            {field: _("This number was just registered by someone else.")}
        ) from exc


def _touch(household: Household, actor) -> None:
    """A change to a member is a change to the household: bump its version."""
    Household.objects.filter(pk=household.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    household.refresh_from_db(fields=["version", "updated_at"])


# Inside `one_announcement()` the services announce nothing; the block announces once at its end.
_announcing_later: ContextVar[bool] = ContextVar("announcing_later", default=False)


@contextmanager
def one_announcement(household: Household) -> Iterator[None]:
    """Several register writes as one change: `household_data_changed` is sent once, after commit.

    Use inside a transaction (a field visit applies several changes and queues one
    recalculation). Nothing is announced if the block raises.
    """
    token = _announcing_later.set(True)
    try:
        yield
    finally:
        _announcing_later.reset(token)
    _announce(household)


def _announce(household: Household) -> None:
    if _announcing_later.get():
        return
    household_id = household.pk
    transaction.on_commit(
        lambda: household_data_changed.send(sender=Household, household_id=household_id)
    )
