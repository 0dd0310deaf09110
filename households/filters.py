import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from regions.models import Level, Region

from . import choices as c
from .models import Household, Member


class HouseholdFilter(django_filters.FilterSet):
    """Filters shared by the HTML list and the API list."""

    q = django_filters.CharFilter(label=_("Search (name, NIK, No. KK)"), method="filter_search")
    kabupaten = django_filters.ModelChoiceFilter(
        label=_("Regency/city"),
        queryset=Region.objects.filter(level=Level.REGENCY),
        to_field_name="code",
        method="filter_region",
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
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=c.HouseholdStatus.choices)
    desil = django_filters.NumberFilter(label=_("Decile (desil)"))
    desil_max = django_filters.NumberFilter(
        label=_("Decile up to"), field_name="desil", lookup_expr="lte"
    )

    class Meta:
        model = Household
        fields = ["q", "kabupaten", "kecamatan", "desa", "status", "desil", "desil_max"]

    def filter_region(self, queryset, name, value: Region):
        if value is None:
            return queryset
        return queryset.filter(desa__code__startswith=value.code + ".")

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        members = Member.objects.filter(household=OuterRef("pk")).active()
        if value.isdigit():
            by_member = members.filter(nik__startswith=value)
            return queryset.filter(Q(no_kk__startswith=value) | Exists(by_member))
        return queryset.filter(Exists(members.filter(name__icontains=value)))


class MemberFilter(django_filters.FilterSet):
    household = django_filters.NumberFilter(
        field_name="household_id", min_value=1, max_value=2**63 - 1, decimal_places=0
    )
    nik = django_filters.CharFilter(field_name="nik")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    status = django_filters.ChoiceFilter(choices=c.MemberStatus.choices)
    relationship = django_filters.ChoiceFilter(choices=c.Relationship.choices)
    sex = django_filters.ChoiceFilter(choices=c.Sex.choices)

    class Meta:
        model = Member
        fields = ["household", "nik", "name", "status", "relationship", "sex"]
