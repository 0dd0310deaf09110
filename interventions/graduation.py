"""Graduation monitoring and follow-ups (relapse alerts) for the field worker.

Graduation itself is a pathway move found by the recalculation (``pathway.decide``: spending
per person at or above the line at two consecutive assessments at least three months apart, no
critical need unmet and, from tier 3, a running business or a loan in good standing, all from
the rule set); ``graduation_moves.record_moves`` writes the ``Graduation`` record with its
evidence and monitoring period, and a relapse of a graduated household closes it and raises a
follow-up. Here: closing monitoring periods that ended, and resolving follow-ups with a note.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opd.access import access_for
from povertycase.errors import DomainError, NotAllowed, OutOfScope

from .groups import EDITORS
from .models import FollowUp, Graduation, GraduationStatus


def graduation_monitoring_close(*, today: date | None = None) -> int:
    """Graduations whose monitoring period ended without relapse: completed. Idempotent."""
    today = today or timezone.localdate()
    return Graduation.objects.filter(
        status=GraduationStatus.MONITORING, monitoring_until__lt=today
    ).update(status=GraduationStatus.COMPLETED)


def follow_up_resolve(*, actor, follow_up: FollowUp, note: str) -> FollowUp:
    """Close a follow-up with what was done (a visit, a repayment plan, a referral...)."""
    from .group_selectors import follow_ups_visible_to

    if not follow_ups_visible_to(actor).filter(pk=follow_up.pk).exists():
        raise OutOfScope()
    access = access_for(actor)
    if not access.has_role(*EDITORS):
        raise NotAllowed(_("Your role may not resolve follow-ups."))
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise ValidationError({"note": [_("Say what was done.")]})
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.resolved_at is not None:
            raise DomainError(_("This follow-up is already resolved."))
        locked.resolved_at = timezone.now()
        locked.resolved_by = actor
        locked.resolution = note
        locked._history_user = actor
        locked.save()
    return locked
