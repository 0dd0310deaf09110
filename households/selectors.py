"""Reads of the register, always scoped to the user; HTML views and the API share them."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from regions.models import Level, Region

from . import choices as c
from .filters import HouseholdFilter
from .models import Household, Member


def household_list(user, params=None) -> QuerySet[Household]:
    """Visible households with what a list row shows, in a constant number of queries."""
    head = Member.objects.filter(
        household=OuterRef("pk"), relationship=c.Relationship.HEAD
    ).active()
    member_count = (
        Member.objects.filter(household=OuterRef("pk"))
        .active()
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = (
        Household.objects.visible_to(user)
        .select_related("desa__parent__parent")
        .annotate(
            head_name=Subquery(head.values("name")[:1]),
            head_nik=Subquery(head.values("nik")[:1]),
            member_count=Coalesce(Subquery(member_count, output_field=IntegerField()), 0),
        )
        .order_by("-id")
    )
    if params is not None:
        qs = HouseholdFilter(params, queryset=qs).qs
    return qs


def household_filter(user, params) -> HouseholdFilter:
    return HouseholdFilter(params, queryset=household_list(user))


def household_detail(user, pk: int) -> Household:
    """One visible household (Household.DoesNotExist outside the user's scope)."""
    return household_list(user).prefetch_related("kk_changes__changed_by").get(pk=pk)


def household_members(household: Household, *, include_left: bool = True) -> QuerySet[Member]:
    qs = Member.objects.filter(household=household).order_by("status", "id")
    return qs if include_left else qs.active()


def member_list(user, params=None) -> QuerySet[Member]:
    from .filters import MemberFilter

    qs = Member.objects.visible_to(user).select_related("household").order_by("id")
    if params is not None:
        qs = MemberFilter(params, queryset=qs).qs
    return qs


def region_counts(user, parent: Region | None) -> list[dict]:
    """The children of `parent` (the province's kab/kota at the top) with household counts."""
    if parent is None:
        children = Region.objects.filter(level=Level.REGENCY)
    else:
        children = Region.objects.filter(parent=parent)
    children = list(children.order_by("code"))
    depth = children[0].code.count(".") + 1 if children else 0
    visible = Household.objects.visible_to(user).active()
    counts: dict[str, int] = {}
    if children:
        rows = (
            visible.filter(desa__code__startswith=(parent.code + ".") if parent else "")
            .values_list("desa__code")
            .annotate(n=Count("pk"))
        )
        for desa_code, n in rows:
            key = ".".join(desa_code.split(".")[:depth])
            counts[key] = counts.get(key, 0) + n
    return [{"region": r, "households": counts.get(r.code, 0)} for r in children]


def region_total(user, region: Region | None) -> int:
    qs = Household.objects.visible_to(user).active()
    if region is not None:
        qs = qs.filter(Q(desa__code=region.code) | Q(desa__code__startswith=region.code + "."))
    return qs.count()
