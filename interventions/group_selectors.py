"""Reads of business groups, KUR applications, repayments, graduations and follow-ups, scoped.

Register readers (provincial and district staff, field workers, auditors) see what lies in
their area (the group's village, the borrower's village, the household's village). A group's
facilitator sees the group and its loans. A bank officer sees only the applications to their
bank (and the groups behind them), never anything else. Everything outside is absent (404).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from opd.access import Access, access_for
from opd.models import Organisation, OrganisationKind, Role
from regions.models import Level, Region

from .models import (
    BusinessGroup,
    BusinessRecord,
    FollowUp,
    FollowUpKind,
    Graduation,
    GraduationStatus,
    GroupKind,
    GroupMembership,
    GroupStatus,
    KurApplication,
    KurScheme,
    KurStatus,
    Repayment,
)
from .referral_selectors import ID_MAX


def bank_organisations(access: Access) -> frozenset[int]:
    """The banks whose KUR applications a bank officer handles (empty for other roles)."""
    return access.organisation_ids if Role.BANK_OFFICER in access.roles else frozenset()


def _area(access: Access, code_field: str) -> Q | None:
    """Rows in the reader's area; None: the whole province; Q(pk__in=[]) for non-readers."""
    if not access.reads_register:
        return Q(pk__in=[])
    if access.whole_province:
        return None
    return access.area_q(code_field)


def groups_visible_to(user) -> QuerySet[BusinessGroup]:
    access = access_for(user)
    if not access.is_authenticated:
        return BusinessGroup.objects.none()
    area = _area(access, "desa__code")
    if area is None:
        return BusinessGroup.objects.all()
    q = area | Q(facilitator_id=access.user_id)
    banks = bank_organisations(access)
    if banks:
        q |= Q(pk__in=KurApplication.objects.filter(bank_id__in=banks).values("group_id"))
    return BusinessGroup.objects.filter(q)


def kur_visible_to(user) -> QuerySet[KurApplication]:
    access = access_for(user)
    if not access.is_authenticated:
        return KurApplication.objects.none()
    area = _area(access, "desa__code")
    if area is None:
        return KurApplication.objects.all()
    q = area | Q(group__facilitator_id=access.user_id)
    banks = bank_organisations(access)
    if banks:
        q |= Q(bank_id__in=banks)
    return KurApplication.objects.filter(q)


def repayments_visible_to(user) -> QuerySet[Repayment]:
    return Repayment.objects.filter(application__in=kur_visible_to(user))


def graduations_visible_to(user) -> QuerySet[Graduation]:
    access = access_for(user)
    area = _area(access, "household__desa__code") if access.is_authenticated else Q(pk__in=[])
    return Graduation.objects.all() if area is None else Graduation.objects.filter(area)


def follow_ups_visible_to(user) -> QuerySet[FollowUp]:
    access = access_for(user)
    area = _area(access, "household__desa__code") if access.is_authenticated else Q(pk__in=[])
    return FollowUp.objects.all() if area is None else FollowUp.objects.filter(area)


def reads_groups(access: Access) -> bool:
    return access.reads_register or access.has_role(Role.OPD_OFFICER, Role.BANK_OFFICER)


# --- filters ----------------------------------------------------------------------------------


def _region_filter(field: str):
    return django_filters.CharFilter(
        label=_("Region code"),
        method="filter_region",
        help_text=_("A kabupaten/kota, kecamatan or desa code, e.g. 36.02."),
    )


@extend_schema_field(OpenApiTypes.STR)
class DistrictFilter(django_filters.ModelChoiceFilter):
    """A kabupaten/kota by its code (a select in the pages, a code such as 36.02 in the API)."""


@extend_schema_field(OpenApiTypes.STR)
class CodeChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice by code: a select in the pages, the code (e.g. super-mikro) in the API."""


def _district_filter():
    return DistrictFilter(
        label=_("Kabupaten/kota"),
        queryset=Region.objects.filter(level=Level.REGENCY).order_by("code"),
        to_field_name="code",
        method="filter_district",
    )


class _RegionMixin:
    region_field = "desa__code"

    def filter_district(self, queryset, name, value):
        return self.filter_region(queryset, name, value.code if value else "")

    def filter_region(self, queryset, name, value):
        code = value.strip()
        if not code:
            return queryset
        field = self.region_field
        return queryset.filter(Q(**{field: code}) | Q(**{f"{field}__startswith": code + "."}))


class GroupFilter(_RegionMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name"), field_name="name", lookup_expr="icontains")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=GroupStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=GroupKind.choices)
    sector = django_filters.CharFilter(label=_("Sector"), lookup_expr="icontains")
    district = _district_filter()
    region = _region_filter("desa__code")

    class Meta:
        model = BusinessGroup
        fields = ["q", "status", "kind", "sector", "district", "region"]


class KurFilter(_RegionMixin, django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=KurStatus.choices)
    bank = django_filters.ModelChoiceFilter(
        label=_("Bank"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.BANK),
        to_field_name="short_name",
    )
    scheme = CodeChoiceFilter(
        label=_("Scheme"), queryset=KurScheme.objects.all(), to_field_name="code"
    )
    group = django_filters.NumberFilter(
        label=_("Group"), field_name="group_id", min_value=1, max_value=ID_MAX
    )
    district = _district_filter()
    region = _region_filter("desa__code")

    class Meta:
        model = KurApplication
        fields = ["status", "bank", "scheme", "group", "district", "region"]


class RepaymentFilter(django_filters.FilterSet):
    application = django_filters.NumberFilter(
        label=_("Application"), field_name="application_id", min_value=1, max_value=ID_MAX
    )
    paid_from = django_filters.DateFilter(
        label=_("Paid from"), field_name="paid_on", lookup_expr="gte"
    )
    paid_to = django_filters.DateFilter(
        label=_("Paid until"), field_name="paid_on", lookup_expr="lte"
    )

    class Meta:
        model = Repayment
        fields = ["application", "paid_from", "paid_to"]


class GraduationFilter(_RegionMixin, django_filters.FilterSet):
    region_field = "household__desa__code"
    status = django_filters.ChoiceFilter(label=_("Status"), choices=GraduationStatus.choices)
    household = django_filters.NumberFilter(
        label=_("Household"), field_name="household_id", min_value=1, max_value=ID_MAX
    )
    region = _region_filter("household__desa__code")

    class Meta:
        model = Graduation
        fields = ["status", "household", "region"]


class FollowUpFilter(_RegionMixin, django_filters.FilterSet):
    region_field = "household__desa__code"
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=FollowUpKind.choices)
    open = django_filters.BooleanFilter(
        label=_("Open"), method="filter_open", widget=forms.NullBooleanSelect
    )
    household = django_filters.NumberFilter(
        label=_("Household"), field_name="household_id", min_value=1, max_value=ID_MAX
    )
    region = _region_filter("household__desa__code")

    class Meta:
        model = FollowUp
        fields = ["kind", "open", "household", "region"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(resolved_at__isnull=value)


# --- lists ------------------------------------------------------------------------------------


def _filtered(filterset_class, queryset, params):
    if not params:
        return queryset
    filterset = filterset_class(params, queryset=queryset)
    return filterset.qs if filterset.is_valid() else queryset.none()


def group_list(user, params=None) -> QuerySet[BusinessGroup]:
    """Groups with their open-member count and loans, constant queries."""
    queryset = groups_visible_to(user).select_related("desa", "facilitator")
    open_members = (
        GroupMembership.objects.filter(group=OuterRef("pk"), is_open=True)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_month = (
        BusinessRecord.objects.filter(group=OuterRef("pk")).order_by("-month").values("month")[:1]
    )
    queryset = queryset.annotate(
        member_count=Coalesce(Subquery(open_members), Value(0)),
        last_record=Subquery(last_month),
    )
    return _filtered(GroupFilter, queryset, params).order_by("name", "pk")


def kur_list(user, params=None) -> QuerySet[KurApplication]:
    paid = (
        Repayment.objects.filter(application=OuterRef("pk"))
        .order_by()
        .values("application")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    queryset = (
        kur_visible_to(user)
        .select_related("group", "member", "desa", "bank", "scheme")
        .annotate(paid=Coalesce(Subquery(paid), Value(0)))
    )
    return _filtered(KurFilter, queryset, params).order_by("-created_at", "-pk")


def repayment_list(user, params=None) -> QuerySet[Repayment]:
    queryset = repayments_visible_to(user).select_related("application", "recorded_by")
    return _filtered(RepaymentFilter, queryset, params).order_by("-paid_on", "-pk")


def graduation_list(user, params=None) -> QuerySet[Graduation]:
    queryset = graduations_visible_to(user).select_related("household__desa")
    return _filtered(GraduationFilter, queryset, params).order_by("-graduated_on", "-pk")


def follow_up_list(user, params=None) -> QuerySet[FollowUp]:
    queryset = follow_ups_visible_to(user).select_related(
        "household__desa", "group", "application", "resolved_by"
    )
    return _filtered(FollowUpFilter, queryset, params).order_by("resolved_at", "-raised_at", "-pk")


def household_tier3(user, household) -> dict:
    """What the household page shows of tier 3: its people's groups, loans, graduations and
    open follow-ups, each scoped to the user (four queries)."""
    memberships = list(
        GroupMembership.objects.filter(
            member__household=household, group__in=groups_visible_to(user)
        )
        .select_related("group", "member")
        .order_by("-is_open", "-joined_on")
    )
    group_ids = {m.group_id for m in memberships if m.is_open}
    loans = list(
        kur_visible_to(user)
        .filter(Q(member__household=household) | Q(group_id__in=group_ids))
        .select_related("bank", "scheme", "group")
        .order_by("-created_at")
    )
    return {
        "memberships": memberships,
        "loans": loans,
        "graduations": list(graduations_visible_to(user).filter(household=household)),
        "follow_ups": list(
            follow_ups_visible_to(user).filter(household=household, resolved_at__isnull=True)
        ),
    }
