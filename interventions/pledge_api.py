"""REST API of CSR funding: ``/api/v1/pledges/``, ``/api/v1/disbursements/``,
``/api/v1/organisations/``.

Thin over ``interventions.pledges`` (every write) and ``interventions.pledge_selectors`` (every
read, scoped by ``pledges_visible_to``): a CSR partner sees only its own company's pledges and
another company's pledge is 404. Nothing here holds personal data: what a pledge paid for is
listed by date, programme, quantity and value only.

- pledges: list (filters q, company, status, programme, tier, region, running), retrieve (with
  its disbursements and funded deliveries), create (a draft), partial update, and the actions
  ``activate``, ``close``, ``cancel`` (reason).
- disbursements: list (filters pledge, company, disbursed_on range), retrieve, create.
- organisations: read only (filters kind, active, q); a CSR partner sees the agencies, the banks
  and its own company.

Input serializers check the shape only (400 with field names); the services apply the rules
(400 with field names, 409 for a lifecycle step the status does not allow, 403 for the wrong
role) and write nothing on any error.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from households.api import NamedChoiceField, RupiahField, valid_data
from opd.access import access_for
from opd.models import Organisation, OrganisationKind
from povertycase.api import NumericIdMixin
from povertycase.filters import DateFromToRangeFilter
from regions.models import Region

from . import pledges as services
from .models import Disbursement, Pledge, PledgeStatus, Programme, ProgrammeTier
from .pledge_selectors import (
    PledgeFilter,
    disbursements_visible_to,
    funded_deliveries,
    organisations_visible_to,
    pledge_disbursements,
    pledge_list,
    pledges_visible_to,
    reads_pledges,
    realisation,
)
from .referral_api import ID_MAX, reads_referrals

# --- permissions ------------------------------------------------------------------------------


class PledgeAccess(BasePermission):
    """Staff, OPD officers and CSR partners; the selectors narrow what each sees."""

    message = _("Your role does not permit access to pledges.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return reads_pledges(access_for(request.user))


# --- output -----------------------------------------------------------------------------------


class PledgeSerializer(serializers.Serializer):
    """One pledge with its money (annotated by ``with_money``)."""

    id = serializers.IntegerField(read_only=True)
    company = serializers.CharField(source="company.short_name", read_only=True)
    company_name = serializers.CharField(source="company.name", read_only=True)
    title = serializers.CharField(read_only=True)
    amount = serializers.IntegerField(read_only=True, help_text=_("Rupiah pledged."))
    starts_on = serializers.DateField(read_only=True)
    ends_on = serializers.DateField(read_only=True)
    programme = serializers.CharField(
        source="programme.code", read_only=True, allow_null=True, help_text=_("Null: any.")
    )
    region = serializers.CharField(
        source="region.code", read_only=True, allow_null=True, help_text=_("Null: Banten.")
    )
    region_name = serializers.CharField(source="region.name", read_only=True, allow_null=True)
    tier = serializers.IntegerField(read_only=True, allow_null=True, help_text=_("Null: any."))
    status = NamedChoiceField(
        enum_name="PledgeStatusEnum", choices=PledgeStatus.choices, read_only=True
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    disbursed = serializers.IntegerField(read_only=True, help_text=_("Rupiah disbursed."))
    spent = serializers.IntegerField(
        read_only=True, help_text=_("Rupiah of the deliveries it paid for.")
    )
    available = serializers.SerializerMethodField(
        help_text=_("Rupiah disbursed and not yet spent.")
    )
    undisbursed = serializers.SerializerMethodField(
        help_text=_("Rupiah pledged and not yet disbursed.")
    )
    funded_deliveries = serializers.IntegerField(source="funded_count", read_only=True)
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    activated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancel_reason = serializers.CharField(read_only=True)

    def get_available(self, pledge) -> int:
        return realisation(pledge).available

    def get_undisbursed(self, pledge) -> int:
        return realisation(pledge).undisbursed


class DisbursementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    pledge = serializers.IntegerField(source="pledge_id", read_only=True)
    disbursed_on = serializers.DateField(read_only=True)
    amount = serializers.IntegerField(read_only=True, help_text=_("Rupiah, whole number."))
    note = serializers.CharField(read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    recorded_at = serializers.DateTimeField(read_only=True)


class FundedDeliverySerializer(serializers.Serializer):
    """A delivery the pledge paid for: no household, no person, no place."""

    delivery = serializers.IntegerField(read_only=True)
    delivered_on = serializers.DateField(read_only=True)
    programme = serializers.CharField(read_only=True)
    programme_name = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    value = serializers.IntegerField(read_only=True)
    referral = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("Only for roles that read referrals; null otherwise."),
    )


class PledgeDetailSerializer(PledgeSerializer):
    disbursements = serializers.SerializerMethodField()
    deliveries = serializers.SerializerMethodField(
        help_text=_("The deliveries it paid for, without personal data.")
    )

    @extend_schema_field(DisbursementSerializer(many=True))
    def get_disbursements(self, pledge) -> list:
        return DisbursementSerializer(pledge_disbursements(pledge), many=True).data

    @extend_schema_field(FundedDeliverySerializer(many=True))
    def get_deliveries(self, pledge) -> list:
        request = self.context.get("request")
        links = bool(request and reads_referrals(access_for(request.user)))
        rows = funded_deliveries(pledge)
        if not links:
            for row in rows:
                row["referral"] = None
        return FundedDeliverySerializer(rows, many=True).data


class OrganisationSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(
        enum_name="OrganisationKindEnum", choices=OrganisationKind.choices, read_only=True
    )
    region = serializers.CharField(source="region.code", read_only=True, allow_null=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "short_name", "kind", "region", "is_active"]


# --- input (shape only) -----------------------------------------------------------------------


class PledgeWriteSerializer(serializers.Serializer):
    company = serializers.SlugRelatedField(
        slug_field="short_name",
        queryset=Organisation.objects.none(),
        help_text=_("Short name of the company (CSR)."),
    )
    title = serializers.CharField(max_length=200)
    amount = RupiahField(
        required=True, allow_null=False, help_text=_("Rupiah pledged, whole number, at least 1.")
    )
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(help_text=_("Not before starts_on."))
    programme = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Programme.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Code of the programme it pays for; null: any."),
    )
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Kemendagri code of the region (any level); null: the whole province."),
    )
    tier = serializers.ChoiceField(
        choices=ProgrammeTier.choices,
        required=False,
        allow_null=True,
        help_text=_("Tier of the programmes it pays for; null: any."),
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["company"].queryset = organisations_visible_to(request.user).filter(
                kind=OrganisationKind.CSR
            )


class PledgeReasonSerializer(serializers.Serializer):
    # Required; a blank one reaches the service, which says what it needs next to the field.
    reason = serializers.CharField(allow_blank=True, help_text=_("Required: why."))


class DisbursementCreateSerializer(serializers.Serializer):
    pledge = serializers.PrimaryKeyRelatedField(
        queryset=Pledge.objects.none(), help_text=_("Id of the (active) pledge.")
    )
    disbursed_on = serializers.DateField(help_text=_("Not in the future."))
    amount = RupiahField(
        required=True,
        allow_null=False,
        help_text=_("Rupiah, whole number, at most what is left of the pledge."),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["pledge"].queryset = pledges_visible_to(request.user)


# --- filters ----------------------------------------------------------------------------------


class DisbursementFilter(filters.FilterSet):
    pledge = filters.NumberFilter(
        field_name="pledge", label=_("Pledge"), min_value=1, max_value=ID_MAX
    )
    company = filters.CharFilter(
        field_name="pledge__company__short_name", lookup_expr="iexact", label=_("Company")
    )
    disbursed_on = DateFromToRangeFilter(
        label=_("Disbursed between (disbursed_on_after, disbursed_on_before; inclusive)")
    )

    class Meta:
        model = Disbursement
        fields = ["pledge", "company", "disbursed_on"]


class OrganisationFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("Search (name, short name)"), method="filter_q")
    kind = filters.ChoiceFilter(label=_("Kind"), choices=OrganisationKind.choices)
    is_active = filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Organisation
        fields = ["q", "kind", "is_active"]

    def filter_q(self, queryset, name, value):
        from django.db.models import Q

        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(short_name__icontains=value))


class PledgeApiFilter(PledgeFilter):
    """The pages' filters, scoped to the requesting user's companies."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, user=getattr(request, "user", None), **kwargs)


FILTERS = [filters.DjangoFilterBackend, OrderingFilter]

PLEDGE_ACTION_RESPONSES = {
    200: PledgeDetailSerializer,
    400: OpenApiResponse(description=_("Field errors, e.g. a missing reason.")),
    403: OpenApiResponse(description=_("Your role does not permit this.")),
    404: OpenApiResponse(description=_("No such pledge in your scope.")),
    409: OpenApiResponse(description=_("The pledge's status does not allow this.")),
}


# --- viewsets ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the CSR pledges you can see, with their money"),
    retrieve=extend_schema(summary="One pledge with its disbursements and funded deliveries"),
    create=extend_schema(
        summary="Record a pledge (a draft)",
        request=PledgeWriteSerializer,
        responses={
            201: PledgeDetailSerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            403: OpenApiResponse(description=_("Your role does not permit this.")),
        },
    ),
    partial_update=extend_schema(
        summary="Change some fields of a pledge",
        request=PledgeWriteSerializer,
        responses={
            200: PledgeDetailSerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            **{k: v for k, v in PLEDGE_ACTION_RESPONSES.items() if k != 200},
        },
    ),
)
class PledgeViewSet(
    NumericIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """CSR pledges in the user's scope (a CSR partner: its own company's)."""

    queryset = Pledge.objects.none()  # the model, for the schema; reads use get_queryset
    permission_classes = [PledgeAccess]
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = FILTERS
    filterset_class = PledgeApiFilter
    ordering_fields = ["starts_on", "ends_on", "amount", "id"]

    def get_queryset(self):
        return pledge_list(self.request.user)

    def get_serializer_class(self):
        return PledgeSerializer if self.action == "list" else PledgeDetailSerializer

    def _detail(self, pk) -> dict:
        try:
            pledge = self.get_queryset().get(pk=pk)
        except Pledge.DoesNotExist as exc:
            raise Http404 from exc
        return PledgeDetailSerializer(pledge, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        data = valid_data(
            PledgeWriteSerializer, request.data, context=self.get_serializer_context()
        )
        pledge = services.pledge_create(actor=request.user, **data)
        return Response(self._detail(pledge.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        pledge = self.get_object()
        data = valid_data(
            PledgeWriteSerializer,
            request.data,
            context=self.get_serializer_context(),
            partial=True,
        )
        services.pledge_update(actor=request.user, pledge=pledge, **data)
        return Response(self._detail(pledge.pk))

    @extend_schema(
        summary="Activate a draft pledge (provincial administrators)",
        request=None,
        responses=PLEDGE_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        pledge = services.pledge_activate(actor=request.user, pledge=self.get_object())
        return Response(self._detail(pledge.pk))

    @extend_schema(
        summary="Close an active pledge (provincial administrators)",
        request=None,
        responses=PLEDGE_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        pledge = services.pledge_close(actor=request.user, pledge=self.get_object())
        return Response(self._detail(pledge.pk))

    @extend_schema(
        summary="Cancel a pledge nothing was disbursed against, with a reason",
        request=PledgeReasonSerializer,
        responses=PLEDGE_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        pledge = self.get_object()
        data = valid_data(PledgeReasonSerializer, request.data)
        services.pledge_cancel(actor=request.user, pledge=pledge, reason=data["reason"])
        return Response(self._detail(pledge.pk))


@extend_schema_view(
    list=extend_schema(summary="List disbursements against the pledges you can see"),
    retrieve=extend_schema(summary="One disbursement"),
    create=extend_schema(
        summary="Record money disbursed against an active pledge (provincial administrators)",
        request=DisbursementCreateSerializer,
        responses={
            201: DisbursementSerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            403: OpenApiResponse(description=_("Your role does not permit this.")),
        },
    ),
)
class DisbursementViewSet(
    NumericIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Money disbursed against the pledges in the user's scope."""

    queryset = Disbursement.objects.none()
    serializer_class = DisbursementSerializer
    permission_classes = [PledgeAccess]
    http_method_names = ["get", "post", "head", "options"]
    filter_backends = FILTERS
    filterset_class = DisbursementFilter
    ordering_fields = ["disbursed_on", "amount", "id"]

    def get_queryset(self):
        return (
            disbursements_visible_to(self.request.user)
            .select_related("recorded_by")
            .order_by("-disbursed_on", "-id")
        )

    def create(self, request, *args, **kwargs):
        data = valid_data(
            DisbursementCreateSerializer, request.data, context=self.get_serializer_context()
        )
        disbursement = services.disbursement_record(actor=request.user, **data)
        disbursement = self.get_queryset().get(pk=disbursement.pk)
        return Response(DisbursementSerializer(disbursement).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List organisations (agencies, companies, banks)"),
    retrieve=extend_schema(summary="One organisation"),
)
class OrganisationViewSet(NumericIdMixin, viewsets.ReadOnlyModelViewSet):
    """Organisations: every role sees the agencies and banks; CSR companies are visible to
    staff, and to a CSR partner only its own."""

    queryset = Organisation.objects.none()
    serializer_class = OrganisationSerializer
    filter_backends = FILTERS
    filterset_class = OrganisationFilter
    ordering_fields = ["name", "short_name", "id"]

    def get_queryset(self):
        return (
            organisations_visible_to(self.request.user)
            .select_related("region")
            .order_by("name", "pk")
        )
