"""REST API of the programme catalogue: ``/api/v1/programmes/`` (thin over
``interventions.programmes``).

- list / retrieve (by code): everyone who reads the register, OPD officers and CSR partners;
  filters as on the HTML catalogue (``q``, ``owner``, ``tier``, ``need``, ``strategy``,
  ``funding_source``, ``active``). The list is lean (no periods, no words) and runs a constant
  number of queries.
- POST (provincial administrators) adds a programme; PATCH edits one (administrators; an OPD
  officer only their own agency's); POST ``{code}/periods/`` adds a budget period. Input
  serializers check the shape; the services apply the rules and answer 400 with field names.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from households.api import RupiahField, valid_data
from opd.access import access_for
from opd.models import Organisation
from regions.models import Region

from . import programmes as catalogue
from .models import Programme, ProgrammeTier, Strategy
from .money import format_rupiah

NEED_HELP = _(
    "Need codes: food, water, sanitation, health, education, housing, information; "
    "training (tier 2 programmes only), business (tier 3 programmes only)."
)
FUNDING_HELP = _("Funding sources: apbn, apbd_provinsi, apbd_kabupaten, csr, other.")
ELIGIBILITY_HELP = _(
    "Conditions on household facts in the rule-set condition language, all of which must "
    'hold, e.g. [{"field": "ownership", "op": "==", "value": "own"}]; [] = every household.'
)


# --- permissions ------------------------------------------------------------------------------


class CatalogueAccess(BasePermission):
    """Reads: the catalogue's readers. Adding: provincial administrators. Editing: provincial
    administrators and OPD officers (the service limits these to their agency's programmes)."""

    message = _("Your role does not permit this on the programme catalogue.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        access = access_for(request.user)
        if request.method in SAFE_METHODS:
            return catalogue.reads_catalogue(access)
        if view.action == "create":
            return catalogue.creates_programmes(access)
        return catalogue.edits_programmes(access)


# --- output -----------------------------------------------------------------------------------


class TierField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ProgrammeTier.choices, **kwargs)


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class RegionCodesField(serializers.Field):
    """The codes of a programme's target regions (read from the prefetched relation)."""

    def to_representation(self, value):
        return [region.code for region in value.all()]


class ProgrammeRowSerializer(serializers.Serializer):
    """One row of the list (the owner is selected, the target regions prefetched)."""

    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    owner = serializers.CharField(
        source="owner.short_name", read_only=True, help_text=_("Short name of the agency.")
    )
    tier = TierField(read_only=True)
    needs = serializers.ListField(child=serializers.CharField(), read_only=True)
    funding_sources = serializers.ListField(child=serializers.CharField(), read_only=True)
    strategy = serializers.ChoiceField(choices=Strategy.choices, read_only=True)
    unit = serializers.CharField(read_only=True)
    unit_value = serializers.IntegerField(read_only=True, help_text=_("Rupiah per unit."))
    target_regions = RegionCodesField(
        read_only=True, help_text=_("Region codes; empty: the whole province.")
    )
    active_from = serializers.DateField(read_only=True)
    active_until = serializers.DateField(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class PeriodSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    starts_on = serializers.DateField(read_only=True)
    ends_on = serializers.DateField(read_only=True)
    quota = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("Households; null: no limit.")
    )
    budget = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("Rupiah; null: no limit.")
    )


class RegionRefSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class ProgrammeDetailSerializer(ProgrammeRowSerializer):
    """Everything about a programme, with its words in the request's language."""

    owner_name = serializers.CharField(source="owner.name", read_only=True)
    description = serializers.CharField(read_only=True)
    tier_label = serializers.CharField(source="get_tier_display", read_only=True)
    strategy_label = serializers.CharField(source="get_strategy_display", read_only=True)
    needs_labels = serializers.SerializerMethodField()
    funding_labels = serializers.SerializerMethodField()
    unit_value_text = serializers.SerializerMethodField()
    eligibility = serializers.ListField(
        child=serializers.DictField(), read_only=True, help_text=ELIGIBILITY_HELP
    )
    eligibility_text = serializers.SerializerMethodField(
        help_text=_("Each eligibility condition in words.")
    )
    target_region_names = RegionRefSerializer(source="target_regions", many=True, read_only=True)
    source_note = serializers.CharField(read_only=True)
    periods = PeriodSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_needs_labels(self, programme) -> list[str]:
        return catalogue.needs_in_words(programme.needs)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_funding_labels(self, programme) -> list[str]:
        return catalogue.funding_in_words(programme.funding_sources)

    @extend_schema_field(OpenApiTypes.STR)
    def get_unit_value_text(self, programme) -> str:
        return format_rupiah(programme.unit_value)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_eligibility_text(self, programme) -> list[str]:
        return catalogue.eligibility_in_words(programme.eligibility)


# --- input (shape only: the services apply the rules) -----------------------------------------


class ProgrammeUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.SlugRelatedField(
        slug_field="short_name",
        queryset=Organisation.objects.all(),
        help_text=_("Short name of the owning agency (OPD), e.g. Dinsos Banten."),
    )
    tier = TierField()
    needs = serializers.ListField(child=serializers.CharField(), help_text=NEED_HELP)
    funding_sources = serializers.ListField(child=serializers.CharField(), help_text=FUNDING_HELP)
    strategy = serializers.ChoiceField(choices=Strategy.choices)
    unit = serializers.CharField(max_length=60)
    unit_value = RupiahField(
        required=True, allow_null=False, help_text=_("Rupiah per unit, whole number.")
    )
    eligibility = serializers.ListField(
        child=serializers.DictField(), required=False, help_text=ELIGIBILITY_HELP
    )
    target_regions = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        many=True,
        required=False,
        help_text=_("Region codes (kab/kota, kecamatan, desa); empty: the whole province."),
    )
    active_from = serializers.DateField()
    active_until = serializers.DateField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)
    source_note = serializers.CharField(required=False, allow_blank=True)


class ProgrammeCreateSerializer(ProgrammeUpdateSerializer):
    code = serializers.CharField(
        max_length=30, help_text=_("Unique and fixed, e.g. PKH or PBI-JK.")
    )


class PeriodCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=20, help_text=_('e.g. "2026" or "2026-S1"'))
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    quota = serializers.IntegerField(
        required=False, allow_null=True, help_text=_("Households; null: no limit.")
    )
    budget = RupiahField(help_text=_("Rupiah, whole number; null: no limit."))


# --- viewset ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the programme catalogue"),
    retrieve=extend_schema(summary="One programme with its periods, in words too"),
    create=extend_schema(
        summary="Add a programme (provincial administrators)",
        request=ProgrammeCreateSerializer,
        responses={201: ProgrammeDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Edit a programme (administrators; OPD officers their agency's)",
        request=ProgrammeUpdateSerializer,
        responses={200: ProgrammeDetailSerializer},
    ),
)
class ProgrammeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [CatalogueAccess]
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = catalogue.ProgrammeFilter
    ordering_fields = ["code", "name", "tier", "unit_value", "active_from"]

    def get_queryset(self):
        qs = catalogue.programme_list(self.request.user)
        if self.action != "list":
            qs = qs.prefetch_related("periods")
        return qs

    def get_serializer_class(self):
        return ProgrammeRowSerializer if self.action == "list" else ProgrammeDetailSerializer

    def _detail(self, code: str) -> dict:
        """The programme as just written, read back like a GET of its detail."""
        try:
            programme = catalogue.programme_detail(self.request.user, code)
        except Programme.DoesNotExist as exc:
            raise Http404 from exc
        return ProgrammeDetailSerializer(programme, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        data = valid_data(ProgrammeCreateSerializer, request.data)
        programme = catalogue.programme_create(actor=request.user, **data)
        return Response(self._detail(programme.code), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        programme = self.get_object()
        data = valid_data(ProgrammeUpdateSerializer, request.data, partial=True)
        programme = catalogue.programme_update(actor=request.user, programme=programme, **data)
        return Response(self._detail(programme.code))

    def update(self, request, *args, **kwargs):  # PUT is not offered: PATCH edits
        return self.http_method_not_allowed(request, *args, **kwargs)

    @extend_schema(
        summary="Add a budget period with its quota and budget (administrators; OPD officers "
        "their agency's programmes)",
        request=PeriodCreateSerializer,
        responses={201: PeriodSerializer},
    )
    @action(detail=True, methods=["post"])
    def periods(self, request, code=None):
        programme = self.get_object()
        data = valid_data(PeriodCreateSerializer, request.data)
        period = catalogue.programme_period_create(actor=request.user, programme=programme, **data)
        return Response(PeriodSerializer(period).data, status=status.HTTP_201_CREATED)
