"""What the tier 3 pathway needs to know about groups and loans, read in bulk for a chunk.

``read_group_facts(ids, today)`` answers, in three queries whatever the number of households:
which active members are open members of an ACTIVE group (a member fact: tier 3 needs the
same member to have completed training and be in such a group), how many months ago the latest
business record of those groups is, and whether a KUR loan of the household's members or their
groups is in good standing (disbursed, repaying or repaid). Used by ``recalculation.read_facts``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, Q

from .models import BusinessRecord, GroupMembership, GroupStatus, KurApplication, KurStatus

GOOD_STANDING = (KurStatus.DISBURSED, KurStatus.REPAYING, KurStatus.REPAID)
BAD_STANDING = (KurStatus.IN_ARREARS, KurStatus.DEFAULTED)


@dataclass
class GroupFacts:
    members_in_group: set[int] = field(default_factory=set)
    # household id -> {"in_active_group", "business_months_ago", "loan_in_good_standing"}
    households: dict[int, dict] = field(default_factory=dict)


def months_between(earlier: date, later: date) -> int:
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


def _households(path: str, ids: Sequence[int]) -> tuple[Q, frozenset | None]:
    """The households `ids` as a filter on `path`, and the set to keep its rows by (None: all).

    A range when the ids are (nearly) contiguous, as a batch chunk's are: two parameters
    instead of thousands (an IN list of a 2,000-household chunk cost ten times the query).
    """
    distinct = set(ids)
    low, high = min(distinct), max(distinct)
    span = high - low + 1
    if span <= 2 * len(distinct) + 64:
        keep = None if span == len(distinct) else frozenset(distinct)
        return Q(**{f"{path}__gte": low, f"{path}__lte": high}), keep
    return Q(**{f"{path}__in": list(distinct)}), None


def read_group_facts(ids: Sequence[int], today: date) -> GroupFacts:
    result = GroupFacts()
    if not ids:
        return result
    within, keep = _households("member__household_id", ids)
    rows = GroupMembership.objects.filter(
        within, is_open=True, group__status=GroupStatus.ACTIVE
    ).values_list("member_id", "member__household_id", "group_id")
    groups_of: dict[int, set[int]] = defaultdict(set)
    for member_id, household_id, group_id in rows:
        if keep is not None and household_id not in keep:
            continue
        result.members_in_group.add(member_id)
        groups_of[household_id].add(group_id)
    all_groups = {g for groups in groups_of.values() for g in groups}
    latest = {}
    if all_groups:
        latest = dict(
            BusinessRecord.objects.filter(group_id__in=all_groups)
            .values("group_id")
            .annotate(last=Max("month"))
            .values_list("group_id", "last")
        )
    standing: dict[int, bool] = {}
    loans = KurApplication.objects.filter(
        within | Q(group_id__in=all_groups),
        status__in=(*GOOD_STANDING, *BAD_STANDING),
    ).values_list("member__household_id", "group_id", "status")
    group_households: dict[int, set[int]] = defaultdict(set)
    for household_id, groups in groups_of.items():
        for group_id in groups:
            group_households[group_id].add(household_id)
    for household_id, group_id, status in loans:
        if household_id and keep is not None and household_id not in keep:
            continue  # a member's loan of a household in the range but not asked for
        targets = {household_id} if household_id else group_households.get(group_id, set())
        for target in targets:
            standing[target] = standing.get(target, False) or status in GOOD_STANDING
    for household_id in set(groups_of) | set(standing):
        months = [
            months_between(latest[g], today) for g in groups_of.get(household_id, ()) if g in latest
        ]
        result.households[household_id] = {
            "in_active_group": True if household_id in groups_of else None,
            "business_months_ago": min(months) if months else None,
            "loan_in_good_standing": standing.get(household_id),
        }
    return result
