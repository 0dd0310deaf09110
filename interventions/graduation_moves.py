"""What follows a graduation or a relapse found by the recalculation (bulk, inside its chunk).

``record_moves`` is called by ``recalculation.recalculate_chunk`` in the chunk's transaction with
the moves it just wrote: a move to graduated gets a ``Graduation`` record (its evidence: the
qualifying assessments, the household's groups and loans in good standing) with its monitoring
period; a relapse of a graduated household closes the graduation as relapsed and raises a
follow-up for the field worker. A constant number of queries per chunk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from .group_facts import GOOD_STANDING
from .models import (
    FollowUp,
    FollowUpKind,
    Graduation,
    GraduationStatus,
    GroupMembership,
    GroupStatus,
    KurApplication,
    Transition,
)
from .pathway import GRADUATED, TIER1, add_months

# (household_id, from_state, to_state, decision params, assessment_id)
Move = tuple[int, str, str, dict, int | None]


def _transitions(household_ids, to_state: str, now: datetime) -> dict[int, int]:
    rows = Transition.objects.filter(household_id__in=household_ids, to_state=to_state, at=now)
    return dict(rows.values_list("household_id", "pk"))


def record_moves(moves: Sequence[Move], *, now: datetime, rules: dict) -> None:
    graduated = [m for m in moves if m[2] == GRADUATED]
    relapsed = [m for m in moves if m[1] == GRADUATED and m[2] == TIER1]
    if graduated:
        _graduate(graduated, now, rules)
    if relapsed:
        _relapse(relapsed, now)


def _graduate(moves: Sequence[Move], now: datetime, rules: dict) -> None:
    today = timezone.localdate(now)
    ids = [m[0] for m in moves]
    transitions = _transitions(ids, GRADUATED, now)
    groups: dict[int, list[int]] = defaultdict(list)
    for household_id, group_id in GroupMembership.objects.filter(
        member__household_id__in=ids, is_open=True, group__status=GroupStatus.ACTIVE
    ).values_list("member__household_id", "group_id"):
        groups[household_id].append(group_id)
    all_groups = {g for gs in groups.values() for g in gs}
    loans: dict[int, list[int]] = defaultdict(list)
    rows = KurApplication.objects.filter(status__in=GOOD_STANDING).filter(
        member__household_id__in=ids
    ) | KurApplication.objects.filter(status__in=GOOD_STANDING, group_id__in=all_groups)
    for pk, household_id, group_id in rows.values_list("pk", "member__household_id", "group_id"):
        for target in (
            [household_id] if household_id else [h for h, gs in groups.items() if group_id in gs]
        ):
            loans[target].append(pk)
    months = rules["graduation"]["monitoring_months"]
    Graduation.objects.bulk_create(
        [
            Graduation(
                household_id=household_id,
                graduated_on=today,
                transition_id=transitions.get(household_id),
                assessment_id=assessment_id,
                evidence={
                    "assessments": params.get("points", []),
                    "assessment": assessment_id,
                    "groups": sorted(set(groups.get(household_id, []))),
                    "loans": sorted(set(loans.get(household_id, []))),
                },
                monitoring_until=add_months(today, months),
            )
            for household_id, _from, _to, params, assessment_id in moves
        ]
    )


def _relapse(moves: Sequence[Move], now: datetime) -> None:
    ids = [m[0] for m in moves]
    transitions = _transitions(ids, TIER1, now)
    latest: dict[int, Graduation] = {}
    for graduation in (
        Graduation.objects.filter(household_id__in=ids)
        .exclude(status=GraduationStatus.RELAPSED)
        .order_by("household_id", "graduated_on", "pk")
    ):
        latest[graduation.household_id] = graduation
    today = timezone.localdate(now)
    follow_ups = []
    for household_id, *_rest in moves:
        graduation = latest.get(household_id)
        during = graduation is not None and today <= graduation.monitoring_until
        if graduation is not None:
            graduation.status = GraduationStatus.RELAPSED
            graduation.relapsed_at = now
            graduation.relapse_transition_id = transitions.get(household_id)
        follow_ups.append(
            FollowUp(
                household_id=household_id,
                kind=FollowUpKind.RELAPSE,
                graduation=graduation,
                detail={
                    "transition": transitions.get(household_id),
                    "during_monitoring": during,
                },
                raised_at=now,
            )
        )
    Graduation.objects.bulk_update(
        list(latest.values()), ["status", "relapsed_at", "relapse_transition"]
    )
    FollowUp.objects.bulk_create(follow_ups)
