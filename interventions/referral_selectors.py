"""Reads of referrals and deliveries, always scoped to the user.

Register readers see the referrals of the households in their area; OPD officers see the
referrals to their agencies' programmes (and, through the household scope registered in
``apps.ready``, the households referred to them); CSR partners see none.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import django_filters
from django import forms
from django.db.models import (
    Case as CaseWhen,
)
from django.db.models import (
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from households.choices import HouseholdStatus
from households.models import Household
from households.scoping import household_q
from opd.access import Access, access_for
from opd.models import Role
from povertycase.limits import ID_MAX

from .evaluation import household_matches
from .models import (
    OPEN_STATUSES,
    Case,
    Delivery,
    Programme,
    ProgrammePeriod,
    Referral,
    ReferralStatus,
)
from .programmes import PROGRAMME_NEED_NAMES, PROGRAMME_NEEDS
from .recalculation import read_facts

TAKING_PLACE = (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)


# --- scope ------------------------------------------------------------------------------------


def officer_organisations(access: Access) -> frozenset[int]:
    """The agencies whose referrals an OPD officer handles (empty for other roles)."""
    return access.organisation_ids if Role.OPD_OFFICER in access.roles else frozenset()


def opd_household_scope(access: Access, prefix: str) -> Q | None:
    """Households referred to the officer's agencies (registered in InterventionsConfig.ready).

    A subquery on the households' primary key, so the scope adds no join (no duplicates).
    """
    organisations = officer_organisations(access)
    if not organisations:
        return None
    referred = Referral.objects.filter(programme__owner_id__in=organisations).values("household_id")
    return Q(**{f"{prefix}pk__in": referred})


def referrals_visible_to(user) -> QuerySet[Referral]:
    access = access_for(user)
    if not access.is_authenticated:
        return Referral.objects.none()
    q = Q(pk__in=[])
    if access.reads_register:
        if access.whole_province:
            return Referral.objects.all()
        q = access.area_q("household__desa__code")
    organisations = officer_organisations(access)
    if organisations:
        q |= Q(programme__owner_id__in=organisations)
    return Referral.objects.filter(q)


def deliveries_visible_to(user) -> QuerySet[Delivery]:
    return Delivery.objects.filter(referral__in=referrals_visible_to(user))


# --- list -------------------------------------------------------------------------------------


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ReferralStatus.choices)
    programme = django_filters.CharFilter(
        label=_("Programme code"), field_name="programme__code", lookup_expr="iexact"
    )
    need = django_filters.ChoiceFilter(
        label=_("Need"), choices=[(n, PROGRAMME_NEED_NAMES[n]) for n in PROGRAMME_NEEDS]
    )
    household = django_filters.NumberFilter(
        label=_("Household"), field_name="household_id", min_value=1, max_value=ID_MAX
    )
    overdue = django_filters.BooleanFilter(
        label=_("Overdue"), method="filter_overdue", widget=forms.NullBooleanSelect
    )
    owner = django_filters.CharFilter(
        label=_("Agency"), field_name="programme__owner__short_name", lookup_expr="iexact"
    )

    class Meta:
        model = Referral
        fields = ["status", "programme", "need", "household", "overdue", "owner"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status__in=OPEN_STATUSES, due_on__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)


def with_delivered_value(queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Annotate ``delivered_value`` (sum of the deliveries, 0 when none) as a subquery."""
    total = (
        Delivery.objects.filter(referral=OuterRef("pk"))
        .order_by()
        .values("referral")
        .annotate(total=Sum("value"))
        .values("total")
    )
    return queryset.annotate(delivered_value=Coalesce(Subquery(total), Value(0)))


def referral_list(user, params=None) -> QuerySet[Referral]:
    """The user's referrals, filtered by ``ReferralFilter``; a constant number of queries."""
    queryset = referrals_visible_to(user).select_related(
        "household__desa", "member", "programme__owner", "period"
    )
    queryset = with_delivered_value(queryset)
    if params:
        filterset = ReferralFilter(params, queryset=queryset)
        queryset = filterset.qs if filterset.is_valid() else queryset.none()
    return queryset.order_by("-referred_at", "-pk")


def opd_inbox(user) -> QuerySet[Referral]:
    """Open referrals to the user's agencies: overdue first, then by due date."""
    organisations = officer_organisations(access_for(user))
    if not organisations:
        return Referral.objects.none()
    today = timezone.localdate()
    queryset = (
        Referral.objects.filter(programme__owner_id__in=organisations, status__in=OPEN_STATUSES)
        .select_related("household__desa", "member", "programme__owner", "period")
        .annotate(
            late=CaseWhen(When(due_on__lt=today, then=Value(0)), default=Value(1)),
        )
    )
    return with_delivered_value(queryset).order_by("late", "due_on", "pk")


def agency_totals(user) -> list[dict]:
    """Per programme of the user's agencies: referrals by status, deliveries and their value.

    One aggregate query over the referrals (deliveries counted through a subquery each, so the
    join does not multiply the referral counts).
    """
    organisations = officer_organisations(access_for(user))
    if not organisations:
        return []
    delivered = Delivery.objects.filter(referral__programme=OuterRef("pk")).order_by()
    count = delivered.values("referral__programme").annotate(n=Count("pk")).values("n")
    value = delivered.values("referral__programme").annotate(v=Sum("value")).values("v")
    by_status = {
        status: Count("referrals", filter=Q(referrals__status=status))
        for status in ReferralStatus.values
    }
    rows = (
        Programme.objects.filter(owner_id__in=organisations)
        .annotate(
            **by_status,
            open=Count("referrals", filter=Q(referrals__status__in=OPEN_STATUSES)),
            deliveries=Coalesce(Subquery(count), Value(0)),
            delivered_value=Coalesce(Subquery(value), Value(0)),
        )
        .order_by("tier", "code")
        .values(
            "pk",
            "code",
            "name",
            "open",
            "deliveries",
            "delivered_value",
            *ReferralStatus.values,
        )
    )
    return list(rows)


# --- gap finder -------------------------------------------------------------------------------


def _period_room(today: date) -> dict[int, tuple[int | None, int | None]]:
    """Per running programme: (places left, rupiah left) of its period covering today
    (None = no limit); programmes whose period is full are left out. Two queries."""
    periods = list(
        ProgrammePeriod.objects.filter(
            programme__in=Programme.objects.running(today),
            starts_on__lte=today,
            ends_on__gte=today,
        ).order_by("programme_id", "starts_on")
    )
    used = {
        row["period_id"]: row
        for row in Referral.objects.filter(
            period__in=[p.pk for p in periods], status__in=TAKING_PLACE
        )
        .values("period_id")
        .annotate(households=Count("household_id", distinct=True), money=Sum("planned_value"))
        .order_by()
    }
    room: dict[int, tuple[int | None, int | None]] = {}
    for period in periods:
        if period.programme_id in room:
            continue
        usage = used.get(period.pk, {"households": 0, "money": 0})
        places = None if period.quota is None else period.quota - usage["households"]
        money = None if period.budget is None else period.budget - (usage["money"] or 0)
        if (places is not None and places <= 0) or (money is not None and money <= 0):
            continue
        room[period.programme_id] = (places, money)
    return room


def gap_rows(user, region_code: str | None = None, need: str | None = None, limit: int = 200):
    """Households the user sees whose latest assessment lists an unmet need with no open or
    completed referral for it, each with the programmes suggested for it, best first.

    A row is ``{"household": Household (desa selected), "need": str, "programmes":
    [Programme, ...]}``; programmes: running today, a period with quota and budget left, the
    need, the household's region and its eligibility; most places left first. Bulk reads only.
    """
    if not access_for(user).reads_register:
        return []
    today = timezone.localdate()
    households = Household.objects.filter(household_q(user), status=HouseholdStatus.ACTIVE)
    if region_code:
        households = households.filter(
            Q(desa__code=region_code) | Q(desa__code__startswith=region_code + ".")
        )
    cases = (
        Case.objects.filter(household__in=households, latest_assessment__isnull=False)
        .order_by("household_id")
        .values_list("household_id", "latest_assessment__unmet_needs")
    )
    pairs = []
    for household_id, unmet in cases.iterator(chunk_size=2000):
        for item in unmet or ():
            if need and item != need:
                continue
            pairs.append((household_id, item))
    if not pairs:
        return []
    ids = sorted({pk for pk, _need in pairs})
    covered = set()
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        covered.update(
            Referral.objects.filter(
                household_id__in=chunk,
                status__in=(*OPEN_STATUSES, ReferralStatus.COMPLETED),
            ).values_list("household_id", "need")
        )
    pairs = [pair for pair in pairs if pair not in covered][:limit]
    if not pairs:
        return []
    chosen = sorted({pk for pk, _need in pairs})
    by_id = Household.objects.select_related("desa").in_bulk(chosen)
    facts = read_facts(chosen, today)
    room = _period_room(today)
    programmes = list(
        Programme.objects.filter(pk__in=list(room))
        .select_related("owner")
        .prefetch_related("target_regions")
    )
    by_need: dict[str, list[Programme]] = defaultdict(list)
    for programme in programmes:
        for item in programme.needs or ():
            by_need[item].append(programme)

    def rank(programme: Programme):
        places = room[programme.pk][0]
        return (places is not None, -(places or 0), programme.code)  # no limit: most room

    for items in by_need.values():
        items.sort(key=rank)
    rows = []
    for household_id, item in pairs:
        household = by_id[household_id]
        household_facts = facts.get(household_id)
        suggested = [
            programme
            for programme in by_need.get(item, ())
            if household_facts is not None
            and programme.covers(household.desa.code)
            and household_matches(household_facts, programme.eligibility or [])
        ]
        rows.append({"household": household, "need": item, "programmes": suggested})
    return rows


def referred_household_exists(user, household_id: int) -> bool:
    """Is the household referred to one of the user's agencies (OPD officer reach)?"""
    organisations = officer_organisations(access_for(user))
    return (
        bool(organisations)
        and Referral.objects.filter(
            household_id=household_id, programme__owner_id__in=organisations
        ).exists()
    )


__all__ = [
    "ReferralFilter",
    "agency_totals",
    "deliveries_visible_to",
    "gap_rows",
    "opd_household_scope",
    "opd_inbox",
    "referral_list",
    "referrals_visible_to",
    "with_delivered_value",
]
