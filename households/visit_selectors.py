"""Reads of field visits and the visit schedule, always scoped to the user.

The cadence (days between visits) depends on the household's stage on the pathway, which lives
in a higher app: `interventions` registers an expression for it (`register_visit_stage`), so
this app never imports it. Without one every household counts as "registered". The schedule is
computed in the database (last visit + cadence of the stage), so a list is one query.
"""

from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta

import django_filters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opd.access import Access, access_for
from opd.models import Membership, Role
from povertycase.filters import DateFromToRangeFilter
from regions.models import Level, Region

from . import choices as c
from .models import Household, Member, Visit

_stage_expression: list[Callable[[], Expression]] = []


def register_visit_stage(factory: Callable[[], Expression]) -> None:
    """`factory()` returns an expression over households giving their stage (a text)."""
    _stage_expression[:] = [factory]


def stage_expression() -> Expression:
    if _stage_expression:
        return _stage_expression[0]()
    return Value("registered")


def cadence_expression() -> Case:
    """Days between visits for the annotated `stage` (VISIT_CADENCE_DAYS); null: not scheduled."""
    whens = [
        When(stage=name, then=Value(timedelta(days=days)))
        for name, days in settings.VISIT_CADENCE_DAYS.items()
    ]
    return Case(*whens, default=None, output_field=DurationField())


def schedule(qs: QuerySet[Household]) -> QuerySet[Household]:
    """Households with their stage, last visit, cadence and due time (`due_at`).

    A household never visited is due its cadence after its registration.
    """
    last_visit = Visit.objects.filter(household=OuterRef("pk")).order_by("-visited_at")
    return (
        qs.filter(status=c.HouseholdStatus.ACTIVE)
        .annotate(
            stage=stage_expression(),
            last_visit_at=Subquery(last_visit.values("visited_at")[:1]),
        )
        .annotate(cadence=cadence_expression())
        .filter(cadence__isnull=False)
        .annotate(
            due_at=ExpressionWrapper(
                Coalesce(F("last_visit_at"), F("created_at")) + F("cadence"),
                output_field=DateTimeField(),
            )
        )
    )


def _due(user, soon_days: int | None) -> QuerySet[Household]:
    soon = settings.VISIT_DUE_SOON_DAYS if soon_days is None else soon_days
    horizon = timezone.now() + timedelta(days=soon)
    return schedule(Household.objects.visible_to(user)).filter(due_at__lte=horizon)


def due_list(user, *, soon_days: int | None = None) -> QuerySet[Household]:
    """The user's households due for a visit (overdue first, then due soon), most urgent first."""
    head = Member.objects.filter(
        household=OuterRef("pk"), relationship=c.Relationship.HEAD
    ).active()
    return (
        _due(user, soon_days)
        .annotate(head_name=Subquery(head.values("name")[:1]))
        .select_related("desa")
        .order_by("due_at", "pk")
    )


def due_counts(user, *, soon_days: int | None = None) -> dict[str, int]:
    """How many households `due_list` holds (``due``) and how many of them are overdue (due
    before today, local time), over the whole list: one aggregate query."""
    today = datetime.combine(timezone.localdate(), time.min)
    return _due(user, soon_days).aggregate(
        due=Count("pk"),
        overdue=Count("pk", filter=Q(due_at__lt=timezone.make_aware(today))),
    )


def visits_visible_to(user) -> QuerySet[Visit]:
    """Visits of the households the user reads in the register (by area)."""
    access = access_for(user)
    if not access.reads_register:
        return Visit.objects.none()
    return Visit.objects.visible_to(user)


class VisitFilter(django_filters.FilterSet):
    """Filters shared by the HTML list and the API list."""

    household = django_filters.NumberFilter(label=_("Household"), min_value=1, max_value=2**63 - 1)
    worker = django_filters.CharFilter(
        field_name="worker__username", label=_("Field worker (username)")
    )
    kecamatan = django_filters.ModelChoiceFilter(
        label=_("District"),
        queryset=Region.objects.filter(level=Level.DISTRICT),
        to_field_name="code",
        method="filter_region",
    )
    desa = django_filters.ModelChoiceFilter(
        label=_("Village"),
        queryset=Region.objects.filter(level=Level.VILLAGE),
        to_field_name="code",
        field_name="household__desa",
    )
    conflict = django_filters.ChoiceFilter(
        field_name="conflict_status", label=_("Conflict"), choices=c.VisitConflict.choices
    )
    far = django_filters.BooleanFilter(
        label=_("GPS point far from the household"), method="filter_far"
    )
    visited_at = DateFromToRangeFilter(
        label=_("Visited between (visited_at_after, visited_at_before; inclusive)")
    )

    class Meta:
        model = Visit
        fields = ["household", "worker", "kecamatan", "desa", "conflict", "far", "visited_at"]

    def filter_region(self, queryset, name, value: Region):
        if not value:
            return queryset
        return queryset.filter(household__desa__code__startswith=value.code + ".")

    def filter_far(self, queryset, name, value: bool | None):
        if value is None:
            return queryset
        far = Q(distance_m__gt=settings.VISIT_FAR_METRES)
        return queryset.filter(far) if value else queryset.exclude(far)


def _with_head(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    """Visits annotated with their household head's name (``head_name``; one subquery)."""
    head = Member.objects.filter(
        household=OuterRef("household_id"), relationship=c.Relationship.HEAD
    ).active()
    return qs.annotate(head_name=Subquery(head.values("name")[:1]))


def visit_list(user, params=None) -> QuerySet[Visit]:
    """Visible visits with their household (head's name, village) and worker, in a constant
    number of queries."""
    qs = (
        _with_head(visits_visible_to(user))
        .select_related("household__desa", "worker")
        .annotate(photo_count=Count("photos"))
        .order_by("-visited_at", "-id")
    )
    if params is not None:
        qs = VisitFilter(params, queryset=qs).qs
    return qs


def visit_workers(user) -> list[tuple[str, str]]:
    """Who recorded the visits the user sees, as (username, name) sorted by name: the choices
    of the list's field-worker filter. One query; a name two people share gets the username."""
    rows = (
        get_user_model()
        .objects.filter(pk__in=visits_visible_to(user).order_by().values("worker_id"))
        .values_list("username", "first_name", "last_name")
    )
    named = [(username, f"{first} {last}".strip() or username) for username, first, last in rows]
    shared = Counter(name for _username, name in named)
    return sorted(
        ((u, f"{n} ({u})" if shared[n] > 1 and n != u else n) for u, n in named),
        key=lambda row: (row[1].casefold(), row[0]),
    )


def visit_detail(user, pk: int) -> Visit:
    """One visible visit (Visit.DoesNotExist outside the user's scope)."""
    return (
        _with_head(visits_visible_to(user))
        .select_related("household__desa", "worker", "resolved_by")
        .prefetch_related("photos")
        .get(pk=pk)
    )


def visit_photo(user, pk: int):
    from .models import VisitPhoto

    return VisitPhoto.objects.filter(visit__in=visits_visible_to(user)).get(pk=pk)


# --- supervision ------------------------------------------------------------------------------


def supervises(access: Access) -> bool:
    return access.has_role(Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.AUDITOR)


def supervision(user, *, days: int = 30) -> dict:
    """Per field worker and per kecamatan: visits in the period, conflicts, far GPS points and
    households overdue. A few grouped queries, whatever the number of workers or households."""
    access = access_for(user)
    since = timezone.now() - timedelta(days=days)
    far = settings.VISIT_FAR_METRES
    visits = visits_visible_to(user).filter(visited_at__gte=since)
    counts = {
        "visits": Count("pk"),
        "conflicts": Count("pk", filter=Q(conflict_status=c.VisitConflict.OPEN)),
        "far": Count("pk", filter=Q(distance_m__gt=far)),
    }
    by_worker = {
        row["worker_id"]: row
        for row in visits.order_by().values("worker_id", "worker__username").annotate(**counts)
    }
    overdue_by_desa = dict(
        schedule(Household.objects.visible_to(user))
        .filter(due_at__lt=timezone.now())
        .order_by()
        .values_list("desa__code")
        .annotate(n=Count("pk"))
    )
    by_kecamatan_visits = {
        row["household__desa__parent__code"]: row
        for row in visits.order_by().values("household__desa__parent__code").annotate(**counts)
    }

    # Field workers whose area is inside the user's.
    memberships = (
        Membership.objects.filter(
            role=Role.FIELD_WORKER, is_active=True, organisation__is_active=True
        )
        .filter(access.area_q("area__code") if not access.whole_province else Q())
        .select_related("user", "area")
        .order_by("user__username", "area__code")
    )
    workers: dict[int, dict] = {}
    for m in memberships:
        if m.area is None:
            continue
        row = workers.setdefault(
            m.user_id,
            {
                "user_id": m.user_id,
                "username": m.user.username,
                "name": m.user.get_full_name() or m.user.username,
                "areas": [],
                "overdue": 0,
                "visits": 0,
                "conflicts": 0,
                "far": 0,
            },
        )
        row["areas"].append(m.area.name)
        row["overdue"] += sum(
            n
            for code, n in overdue_by_desa.items()
            if code == m.area.code or code.startswith(m.area.code + ".")
        )
    for worker_id, counted in by_worker.items():
        row = workers.setdefault(
            worker_id,
            {
                "user_id": worker_id,
                "username": counted["worker__username"],
                "name": counted["worker__username"],
                "areas": [],
                "overdue": 0,
            },
        )
        row.update(visits=counted["visits"], conflicts=counted["conflicts"], far=counted["far"])

    kecamatan_codes = {code.rsplit(".", 1)[0] for code in overdue_by_desa} | {
        code for code in by_kecamatan_visits if code
    }
    names = dict(Region.objects.filter(code__in=kecamatan_codes).values_list("code", "name"))
    kecamatan = []
    for code in sorted(kecamatan_codes):
        counted = by_kecamatan_visits.get(code, {})
        kecamatan.append(
            {
                "code": code,
                "name": names.get(code, code),
                "overdue": sum(
                    n for desa, n in overdue_by_desa.items() if desa.rsplit(".", 1)[0] == code
                ),
                "visits": counted.get("visits", 0),
                "conflicts": counted.get("conflicts", 0),
                "far": counted.get("far", 0),
            }
        )
    return {
        "days": days,
        "workers": sorted(workers.values(), key=lambda r: (-r["overdue"], r["username"])),
        "kecamatan": kecamatan,
        "open_conflicts": visits_visible_to(user)
        .filter(conflict_status=c.VisitConflict.OPEN)
        .count(),
    }
