"""Read-only API of the Kemendagri hierarchy. Geography is public: any signed-in user reads it."""

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter

from .models import Level, Region

# Kemendagri codes: 36, 36.01, 36.01.01, 36.01.01.2001 (the dots are part of the code).
CODE_REGEX = r"\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?"


class RegionFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(label=_("Level"), choices=Level.choices)
    parent = django_filters.CharFilter(
        label=_("Code of the parent region"), field_name="parent__code"
    )
    q = django_filters.CharFilter(
        label=_("Name contains"), field_name="name", lookup_expr="icontains"
    )

    class Meta:
        model = Region
        fields = ["level", "parent", "q"]


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text=_("Code of the parent region (none for the province)."),
    )
    lat = serializers.DecimalField(
        max_digits=9, decimal_places=6, coerce_to_string=False, read_only=True, allow_null=True
    )
    lng = serializers.DecimalField(
        max_digits=9, decimal_places=6, coerce_to_string=False, read_only=True, allow_null=True
    )

    class Meta:
        model = Region
        fields = ["code", "name", "level", "parent", "lat", "lng"]
        read_only_fields = fields


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Province, kabupaten/kota, kecamatan and desa/kelurahan, looked up by their dotted code."""

    queryset = Region.objects.select_related("parent").order_by("code")
    serializer_class = RegionSerializer
    lookup_field = "code"
    lookup_value_regex = CODE_REGEX
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = RegionFilter
    ordering_fields = ["code", "name"]
