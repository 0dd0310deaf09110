"""Field visits (kunjungan): every write goes through these functions.

A visit is recorded once per client UUID (the phone makes it up when the worker records the
visit, online or not): the same UUID with the same content returns the stored visit, with other
content it is refused. A visit applies its changes (spending, income, member events) through the
register's own services, keeps them before/after, and announces the household once, so one
recalculation is queued per visit. If the household changed on the server after the phone loaded
it, a change that clashes with the server's is held on the visit for a supervisor to resolve
(`visit_resolve`), never written over. A higher app reacts to `visit_recorded` (interventions
verifies a registered household on its first visit).
"""

import hashlib
import json
import math
import uuid as uuid_lib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps, UnidentifiedImageError

from opd.access import access_for
from opd.models import Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope

from . import choices as c
from . import services
from .models import Household, Member, Visit, VisitPhoto
from .signals import visit_recorded

# Fields of the household a visit may update (the rest goes through the household form).
VISIT_HOUSEHOLD_FIELDS = ("monthly_expenditure", "monthly_income")
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
PHOTO_MAX_PIXELS = 60_000_000  # a decompression bomb is refused before it is decoded
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little ahead
BIRTH_FIELDS = ("nik", "name", "sex", "birth_date", "relationship")
MEMBER_CHANGE_FIELDS = {
    c.MemberChange.BIRTH: BIRTH_FIELDS,
    c.MemberChange.DEATH: ("member", "on"),
    c.MemberChange.MOVED_OUT: ("member", "on"),
    c.MemberChange.SCHOOL: ("member", "school_enrolment"),
    c.MemberChange.WORK: ("member", "work_status", "occupation"),
}
LEAVE_STATUS = {
    c.MemberChange.DEATH: c.MemberStatus.DIED,
    c.MemberChange.MOVED_OUT: c.MemberStatus.MOVED_OUT,
}


class VisitUuidReused(DomainError):
    """The client UUID belongs to another visit with different content (HTTP 409)."""

    default_message = gettext_lazy("This visit id was already used for a different visit.")


@dataclass(frozen=True)
class PreparedPhoto:
    content: bytes
    width: int
    height: int
    sha256: str


# --- recording --------------------------------------------------------------------------------


def visit_record(
    *,
    actor,
    household: Household,
    uuid: uuid_lib.UUID,
    visited_at: datetime,
    household_version: int,
    met: str,
    lat: Decimal | None = None,
    lng: Decimal | None = None,
    gps_accuracy_m: int | None = None,
    monthly_expenditure: int | None = None,
    monthly_income: int | None = None,
    unmet_needs: Iterable[str] = (),
    notes: str = "",
    member_changes: Iterable[Mapping[str, Any]] = (),
    photos: Iterable = (),
) -> tuple[Visit, bool]:
    """Store a visit and apply its changes. Returns (visit, created); a replay is not created."""
    _require_visitor(actor, household)
    unmet_needs = sorted(set(unmet_needs))
    member_changes = [dict(m) for m in member_changes]
    notes = (notes or "").strip()
    errors: dict[str, list] = {}
    _check_visit(
        household=household,
        visited_at=visited_at,
        met=met,
        lat=lat,
        lng=lng,
        gps_accuracy_m=gps_accuracy_m,
        money={"monthly_expenditure": monthly_expenditure, "monthly_income": monthly_income},
        unmet_needs=unmet_needs,
        member_changes=member_changes,
        errors=errors,
    )
    photos = list(photos)
    if len(photos) > settings.VISIT_PHOTOS_MAX:
        errors.setdefault("photos", []).append(
            _("At most %(max)s photos per visit.") % {"max": settings.VISIT_PHOTOS_MAX}
        )
        photos = []
    prepared = [_prepare_photo(photo, f"photos[{i}]", errors) for i, photo in enumerate(photos)]
    if errors:
        raise ValidationError(errors)

    fingerprint = _fingerprint(
        household=household.pk,
        worker=actor.pk,
        visited_at=visited_at,
        household_version=household_version,
        met=met,
        lat=lat,
        lng=lng,
        gps_accuracy_m=gps_accuracy_m,
        monthly_expenditure=monthly_expenditure,
        monthly_income=monthly_income,
        unmet_needs=unmet_needs,
        notes=notes,
        member_changes=member_changes,
        photos=[p.sha256 for p in prepared if p],
    )
    with transaction.atomic():
        # The household's row lock puts repeated posts of one visit in a queue: the first
        # stores it, the others find it stored.
        locked = Household.objects.select_for_update().get(pk=household.pk)
        existing = Visit.objects.filter(uuid=uuid).first()
        if existing is not None:
            return _replay(existing, fingerprint), False
        visit = Visit(
            uuid=uuid,
            fingerprint=fingerprint,
            household=locked,
            worker=actor,
            visited_at=visited_at,
            household_version=household_version,
            met=met,
            lat=lat,
            lng=lng,
            gps_accuracy_m=gps_accuracy_m,
            distance_m=_distance_m(locked, lat, lng),
            monthly_expenditure=monthly_expenditure,
            monthly_income=monthly_income,
            unmet_needs=unmet_needs,
            notes=notes,
            member_changes=[_plain(m) for m in member_changes],
        )
        visit._history_user = actor
        try:
            with transaction.atomic():
                visit.save()
        except IntegrityError:
            # The same UUID was stored meanwhile for another household's visit.
            return _replay(Visit.objects.get(uuid=uuid), fingerprint), False

        with services.one_announcement(locked):
            stale = household_version != locked.version
            money = {
                "monthly_expenditure": monthly_expenditure,
                "monthly_income": monthly_income,
            }
            changes, conflicts = _apply_household(actor, locked, money, household_version, stale)
            member_done, member_held = _apply_members(actor, locked, member_changes, stale)
            visit.changes = changes + member_done
            visit.conflicts = conflicts + member_held
            if visit.conflicts:
                visit.conflict_status = c.VisitConflict.OPEN
            answers = visit_recorded.send(sender=Visit, visit=visit, actor=actor)
            visit.verified_household = any(answer is True for _receiver, answer in answers)
            visit.save()
            for photo in prepared:
                _save_photo(visit, photo)
    return visit, True


def visit_resolve(*, actor, visit: Visit, accept: Collection[str], note: str = "") -> Visit:
    """A supervisor settles a visit's conflicts: the accepted keys take the visit's value,
    the others keep the server's. One recalculation is queued when something changed."""
    _require_supervisor(actor, visit.household)
    accept = set(accept)
    with transaction.atomic():
        locked_visit = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked_visit.conflict_status != c.VisitConflict.OPEN:
            raise DomainError(_("This visit has no open conflict."))
        keys = {conflict["key"] for conflict in locked_visit.conflicts}
        unknown = accept - keys
        if unknown:
            raise ValidationError(
                {"accept": _("Not a conflict of this visit: %(keys)s") % {"keys": sorted(unknown)}}
            )
        household = Household.objects.select_for_update().get(pk=locked_visit.household_id)
        resolved = []
        with services.one_announcement(household):
            for conflict in locked_visit.conflicts:
                outcome = dict(conflict, outcome="server")
                if conflict["key"] in accept:
                    outcome["outcome"] = "visit"
                    change = _apply_conflict(actor, household, conflict)
                    locked_visit.changes = [*locked_visit.changes, dict(change, resolved=True)]
                resolved.append(outcome)
        locked_visit.conflicts = resolved
        locked_visit.conflict_status = c.VisitConflict.RESOLVED
        locked_visit.resolved_by = actor
        locked_visit.resolved_at = timezone.now()
        locked_visit.resolution_note = (note or "").strip()
        locked_visit._history_user = actor
        locked_visit.save()
    return locked_visit


# --- rules ------------------------------------------------------------------------------------


def _require_visitor(actor, household: Household) -> None:
    """The register's editors in their area; outside it the household does not exist."""
    services._require_editor(actor, household)


def _require_supervisor(actor, household: Household) -> None:
    access = access_for(actor)
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise OutOfScope()
    if not access.has_role(Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF) or not access.covers(
        household.desa.code
    ):
        raise NotAllowed(_("Only provincial or district staff may resolve a visit's conflicts."))


def _check_visit(
    *,
    household,
    visited_at,
    met,
    lat,
    lng,
    gps_accuracy_m,
    money,
    unmet_needs,
    member_changes,
    errors,
) -> None:
    if visited_at is None:
        errors.setdefault("visited_at", []).append(_("This field is required."))
    elif visited_at > timezone.now() + CLOCK_SKEW:
        errors.setdefault("visited_at", []).append(_("A visit cannot be dated in the future."))
    if met not in c.VisitMet.values:
        errors.setdefault("met", []).append(_("Say who was met (or that nobody was home)."))
    services._check_point(SimpleNamespace(lat=lat, lng=lng), errors)
    if gps_accuracy_m is not None and gps_accuracy_m < 0:
        errors.setdefault("gps_accuracy_m", []).append(_("The accuracy cannot be negative."))
    for name, value in money.items():
        if value is not None and value < 0:
            errors.setdefault(name, []).append(_("An amount of rupiah cannot be negative."))
    if household.status != c.HouseholdStatus.ACTIVE:
        errors.setdefault("household", []).append(_("Only an active household can be visited."))
    bad = [need for need in unmet_needs if need not in c.BasicNeed.values]
    if bad:
        errors.setdefault("unmet_needs", []).append(
            _("Unknown basic needs: %(needs)s") % {"needs": ", ".join(bad)}
        )
    _check_member_changes(household, member_changes, errors)


def _check_member_changes(household, member_changes: list[dict], errors: dict) -> None:
    """Shape of each reported change; the register's services check the rest when applied."""
    ids = {change.get("member") for change in member_changes if change.get("member") is not None}
    members = {m.pk: m for m in Member.objects.filter(household=household, pk__in=ids)}
    for index, change in enumerate(member_changes):
        key = f"member_changes[{index}]"
        kind = change.get("change")
        if kind not in MEMBER_CHANGE_FIELDS:
            errors.setdefault(f"{key}.change", []).append(_("Choose what changed."))
            continue
        allowed = set(MEMBER_CHANGE_FIELDS[kind]) | {"change"}
        for name in sorted(set(change) - allowed):
            if change[name] not in (None, ""):
                errors.setdefault(f"{key}.{name}", []).append(
                    _("Not used for this kind of change.")
                )
        if kind == c.MemberChange.BIRTH:
            for name in ("nik", "name", "sex", "birth_date"):
                if not change.get(name):
                    errors.setdefault(f"{key}.{name}", []).append(_("This field is required."))
            continue
        member = members.get(change.get("member"))
        if member is None:
            errors.setdefault(f"{key}.member", []).append(_("Choose a member of this household."))
        if kind in LEAVE_STATUS:
            on = change.get("on")
            if on is None:
                errors.setdefault(f"{key}.on", []).append(_("This field is required."))
            elif on > timezone.localdate():
                errors.setdefault(f"{key}.on", []).append(_("The date cannot be in the future."))
        elif kind == c.MemberChange.SCHOOL and not change.get("school_enrolment"):
            errors.setdefault(f"{key}.school_enrolment", []).append(_("This field is required."))
        elif kind == c.MemberChange.WORK and not change.get("work_status"):
            errors.setdefault(f"{key}.work_status", []).append(_("This field is required."))


def _prepare_photo(upload, key: str, errors: dict) -> PreparedPhoto | None:
    """A photo by its content (JPEG, PNG or WebP), resized and re-encoded as JPEG without EXIF."""
    limit = settings.VISIT_PHOTO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        errors.setdefault(key, []).append(_too_large(limit))
        return None
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        errors.setdefault(key, []).append(_too_large(limit))
        return None
    not_a_photo = _("This file is not a photo (JPEG, PNG or WebP).")
    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format not in PHOTO_FORMATS:
                errors.setdefault(key, []).append(not_a_photo)
                return None
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                errors.setdefault(key, []).append(_("This photo has too many pixels."))
                return None
            probe.verify()
        with Image.open(BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep it upright, then drop EXIF (GPS, ...)
            side = settings.VISIT_PHOTO_MAX_SIDE
            image.thumbnail((side, side))
            image = image.convert("RGB")
            out = BytesIO()
            image.save(out, "JPEG", quality=82, optimize=True)
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        errors.setdefault(key, []).append(not_a_photo)
        return None
    return PreparedPhoto(
        content=out.getvalue(),
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _too_large(limit: int) -> str:
    return _("The photo is larger than %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)}


def _save_photo(visit: Visit, photo: PreparedPhoto) -> None:
    row = VisitPhoto(
        visit=visit,
        width=photo.width,
        height=photo.height,
        size_bytes=len(photo.content),
        sha256=photo.sha256,
    )
    row.image.save(f"{visit.uuid}-{photo.sha256[:12]}.jpg", ContentFile(photo.content), save=False)
    row.save()


# --- applying the changes ---------------------------------------------------------------------


def _apply_household(actor, household, money, loaded_version, stale):
    """Update spending and income; on a stale version a field the server changed is held."""
    loaded = _values_at_version(household, loaded_version) if stale else None
    apply, conflicts = {}, []
    for name, value in money.items():
        if value is None:
            continue
        current = getattr(household, name)
        if value == current:
            continue
        if stale and (loaded is None or loaded.get(name) != current):
            conflicts.append(
                {"key": name, "kind": "household", "field": name, "server": current, "visit": value}
            )
        else:
            apply[name] = value
    changes = []
    if apply:
        before = {name: getattr(household, name) for name in apply}
        services.household_update(actor=actor, household=household, **apply)
        changes = [
            {"key": name, "kind": "household", "field": name, "before": before[name], "after": v}
            for name, v in apply.items()
        ]
    return changes, conflicts


def _values_at_version(household: Household, version: int) -> dict | None:
    """The household's fields as they were at `version` (member changes bump the version
    without touching its fields, so the latest history row at or below it tells)."""
    return (
        household.history.filter(version__lte=version)
        .order_by("-version", "-history_date")
        .values(*VISIT_HOUSEHOLD_FIELDS)
        .first()
    )


def _apply_members(actor, household, member_changes, stale):
    done, held, errors = [], [], {}
    for index, change in enumerate(member_changes):
        key = f"member_changes[{index}]"
        try:
            with transaction.atomic():
                done.append(_apply_member_change(actor, household, change, key))
        except (ValidationError, DomainError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc.message)]
            if not stale:
                if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
                    for field, field_messages in exc.message_dict.items():
                        errors.setdefault(f"{key}.{field}", []).extend(field_messages)
                else:
                    errors.setdefault(key, []).extend(messages)
                continue
            held.append(
                {
                    "key": key,
                    "kind": "member",
                    "change": _plain(change),
                    "server": " ".join(messages),
                    "visit": _plain(change),
                }
            )
    if errors:
        raise ValidationError(errors)
    return done, held


def _apply_member_change(actor, household, change: Mapping[str, Any], key: str) -> dict:
    kind = change["change"]
    record: dict[str, Any] = {"key": key, "kind": "member", "change": kind}
    if kind == c.MemberChange.BIRTH:
        fields = {name: change.get(name) for name in BIRTH_FIELDS if change.get(name) is not None}
        fields.setdefault("relationship", c.Relationship.CHILD)
        member = services.member_add(actor=actor, household=household, **fields)
        record.update(member=member.pk, name=member.name, before=None, after=_plain(fields))
        return record
    member = Member.objects.get(pk=change["member"], household=household)
    record.update(member=member.pk, name=member.name)
    if kind in LEAVE_STATUS:
        before = {"status": member.status, "left_on": member.left_on}
        member = services.member_leave(
            actor=actor, member=member, status=LEAVE_STATUS[kind], left_on=change["on"]
        )
        after = {"status": member.status, "left_on": member.left_on}
    else:
        names = MEMBER_CHANGE_FIELDS[kind][1:]
        fields = {name: change.get(name) or "" for name in names}
        before = {name: getattr(member, name) for name in names}
        member = services.member_update(actor=actor, member=member, **fields)
        after = {name: getattr(member, name) for name in names}
    record.update(before=_plain(before), after=_plain(after))
    return record


def _apply_conflict(actor, household, conflict: dict) -> dict:
    if conflict["kind"] == "household":
        name = conflict["field"]
        before = getattr(household, name)
        try:
            services.household_update(actor=actor, household=household, **{name: conflict["visit"]})
        except ValidationError as exc:
            raise ValidationError({"accept": exc.messages}) from exc
        household.refresh_from_db()
        return {
            "key": conflict["key"],
            "kind": "household",
            "field": name,
            "before": before,
            "after": conflict["visit"],
        }
    change = dict(conflict["change"])
    if change.get("on"):
        change["on"] = date.fromisoformat(change["on"])
    if change.get("birth_date"):
        change["birth_date"] = date.fromisoformat(change["birth_date"])
    try:
        with transaction.atomic():
            return _apply_member_change(actor, household, change, conflict["key"])
    except (ValidationError, DomainError, Member.DoesNotExist) as exc:
        message = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        raise ValidationError({"accept": message}) from exc


def _replay(existing: Visit, fingerprint: str) -> Visit:
    if existing.fingerprint != fingerprint:
        raise VisitUuidReused()
    return existing


# --- helpers ----------------------------------------------------------------------------------


def _plain(value):
    """JSON-safe copy: dates as ISO text, decimals as text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid_lib.UUID):
        return str(value)
    return value


def _fingerprint(**content) -> str:
    content["visited_at"] = content["visited_at"].astimezone(UTC).isoformat()
    for name in ("lat", "lng"):
        if content[name] is not None:
            content[name] = f"{Decimal(content[name]):.6f}"
    text = json.dumps(_plain(content), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


EARTH_RADIUS_M = 6_371_000


def distance_m(lat1, lng1, lat2, lng2) -> int:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp = p2 - p1
    dl = math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def _distance_m(household: Household, lat, lng) -> int | None:
    if None in (lat, lng, household.lat, household.lng):
        return None
    return distance_m(household.lat, household.lng, lat, lng)
