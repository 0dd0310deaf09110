"""REST API of referrals (rujukan) and deliveries: ``/api/v1/referrals/``, ``/api/v1/deliveries/``.

Thin over ``interventions.referrals`` (every write) and ``interventions.referral_selectors``
(every read, scoped by ``referrals_visible_to``): outside a user's scope a referral or delivery
is 404. Readers: the register's readers (by household area) and OPD officers (their agency's
referrals); CSR partners and users without a role get 403 (no personal data, ever).

- referrals: list (lean, constant queries; filters status, programme, need, household, overdue,
  owner), retrieve (with its deliveries), create (``referral_create``) and the actions
  ``accept``, ``reject`` (reason), ``complete``, ``cancel`` (reason).
- deliveries: list, retrieve, create (``delivery_log``; multipart with an ``evidence`` file, or
  JSON without) and ``evidence`` (the file itself, read through the same scope).

Input serializers check the shape only and answer 400 with field names; the services apply the
rules (400 with field names, 409 for state conflicts such as an exhausted quota, 403 for the
wrong role) and write nothing on any error. A delivery on a closed referral (completed, rejected,
cancelled) is a 400 on ``referral``; a delivery may name the CSR ``pledge`` that paid for it.
No NIK or No. KK appears anywhere here; the head's
name, the member's name and the village are shown only to roles that read personal data.
"""

from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from households import choices as hc
from households.api import NamedChoiceField, RupiahField, valid_data
from households.models import Household, Member
from opd.access import access_for
from opd.models import Role
from povertycase.api import NumericIdMixin
from povertycase.filters import DateFromToRangeFilter

from . import referrals as services
from .models import Delivery, Pledge, Programme, Referral, ReferralStatus
from .pledge_selectors import pledges_visible_to
from .programmes import PROGRAMME_NEED_NAMES, PROGRAMME_NEEDS
from .referral_selectors import (
    ID_MAX,
    ReferralFilter,
    deliveries_visible_to,
    referral_list,
    referrals_visible_to,
)

NEED_CHOICES = [(n, PROGRAMME_NEED_NAMES[n]) for n in PROGRAMME_NEEDS]
PERSONAL_HELP = _("Only for roles that read personal data; null otherwise.")


# --- permissions ------------------------------------------------------------------------------


def reads_referrals(access) -> bool:
    return access.reads_register or access.has_role(Role.OPD_OFFICER)


class ReferralAccess(BasePermission):
    """The register's readers and OPD officers; the services decide who may do what."""

    message = _("Your role does not permit access to referrals.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return reads_referrals(access_for(request.user))


def _personal(context) -> bool:
    request = context.get("request")
    return bool(request and access_for(request.user).reads_personal_data)


def _need_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="ReferralNeedEnum", choices=NEED_CHOICES, **kwargs)


# --- output -----------------------------------------------------------------------------------


class ReferralRowSerializer(serializers.Serializer):
    """One row of the list (household, desa, member, programme, owner and period selected)."""

    PERSONAL = ("household", "desa", "desa_name", "head_name", "member")

    id = serializers.IntegerField(read_only=True)
    status = NamedChoiceField(
        enum_name="ReferralStatusEnum", choices=ReferralStatus.choices, read_only=True
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    programme = serializers.CharField(source="programme.code", read_only=True)
    programme_name = serializers.CharField(source="programme.name", read_only=True)
    owner = serializers.CharField(
        source="programme.owner.short_name",
        read_only=True,
        help_text=_("Short name of the agency (OPD) that owns the programme."),
    )
    period = serializers.CharField(source="period.name", read_only=True)
    need = _need_field(read_only=True)
    household = serializers.IntegerField(
        source="household_id", read_only=True, allow_null=True, help_text=PERSONAL_HELP
    )
    desa = serializers.CharField(
        source="household.desa.code", read_only=True, allow_null=True, help_text=PERSONAL_HELP
    )
    desa_name = serializers.CharField(
        source="household.desa.name", read_only=True, allow_null=True, help_text=PERSONAL_HELP
    )
    head_name = serializers.CharField(read_only=True, allow_null=True, help_text=PERSONAL_HELP)
    member = serializers.IntegerField(
        source="member_id",
        read_only=True,
        allow_null=True,
        help_text=_("The member referred (person-level programmes); null: the household."),
    )
    planned_value = serializers.IntegerField(
        read_only=True, help_text=_("Rupiah reserved against the period budget.")
    )
    delivered_value = serializers.IntegerField(
        read_only=True, help_text=_("Rupiah delivered so far.")
    )
    due_on = serializers.DateField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    referred_at = serializers.DateTimeField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not _personal(self.context):
            for name in self.PERSONAL:
                if name in data:
                    data[name] = None
        return data


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    referral = serializers.IntegerField(source="referral_id", read_only=True)
    delivered_on = serializers.DateField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    value = serializers.IntegerField(read_only=True, help_text=_("Rupiah, whole number."))
    note = serializers.CharField(read_only=True)
    has_evidence = serializers.SerializerMethodField()
    evidence_url = serializers.SerializerMethodField(
        help_text=_("Where to download the evidence (scoped like the delivery); null: none.")
    )
    logged_by = serializers.CharField(source="logged_by.username", read_only=True)
    logged_at = serializers.DateTimeField(read_only=True)
    pledge = serializers.SerializerMethodField(
        help_text=_("Id of the CSR pledge that paid for it; null: none.")
    )

    def get_pledge(self, delivery) -> int | None:
        funding = getattr(delivery, "funding", None)
        return funding.pledge_id if funding is not None else None

    def get_has_evidence(self, delivery) -> bool:
        return bool(delivery.evidence)

    def get_evidence_url(self, delivery) -> str | None:
        if not delivery.evidence:
            return None
        path = f"/api/v1/deliveries/{delivery.pk}/evidence/"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ReferralDetailSerializer(ReferralRowSerializer):
    """Everything about a referral, with its deliveries."""

    PERSONAL = (*ReferralRowSerializer.PERSONAL, "member_name")

    member_name = serializers.CharField(
        source="member.name", read_only=True, allow_null=True, help_text=PERSONAL_HELP
    )
    note = serializers.CharField(read_only=True)
    referred_by = serializers.CharField(source="referred_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True
    )
    rejection_reason = serializers.CharField(read_only=True)
    closed_by = serializers.CharField(source="closed_by.username", read_only=True, allow_null=True)
    cancel_reason = serializers.CharField(read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)


# --- input (shape only: the services apply the rules) -----------------------------------------


class ReferralCreateSerializer(serializers.Serializer):
    household = serializers.PrimaryKeyRelatedField(
        queryset=Household.objects.none(), help_text=_("Id of the household.")
    )
    programme = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Programme.objects.all(),
        help_text=_("Code of the programme, e.g. PBI-JK."),
    )
    need = _need_field(help_text=_("The need the referral meets (one of the programme's)."))
    member = serializers.PrimaryKeyRelatedField(
        queryset=Member.objects.none(),
        required=False,
        allow_null=True,
        help_text=_("Id of the member, for person-level programmes (training, PIP)."),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    due_on = serializers.DateField(
        required=False, allow_null=True, help_text=_("Default: 30 days after the referral.")
    )
    planned_value = RupiahField(
        help_text=_("Rupiah reserved when accepted, whole number; default: the unit value.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.visible_to(request.user)
            self.fields["member"].queryset = Member.objects.visible_to(request.user)


class ReferralReasonSerializer(serializers.Serializer):
    # Required; a blank one reaches the service, which says what it needs next to the field.
    reason = serializers.CharField(allow_blank=True, help_text=_("Required: why."))


class DeliveryCreateSerializer(serializers.Serializer):
    referral = serializers.PrimaryKeyRelatedField(
        queryset=Referral.objects.none(), help_text=_("Id of the (accepted) referral.")
    )
    delivered_on = serializers.DateField(help_text=_("Not in the future."))
    quantity = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, help_text=_("Units delivered, at least 1.")
    )
    value = RupiahField(
        required=True, allow_null=False, help_text=_("Rupiah delivered, whole number.")
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    evidence = serializers.FileField(
        required=False,
        allow_null=True,
        allow_empty_file=False,
        help_text=_("A photo (JPEG, PNG, WebP) or a PDF; multipart/form-data only."),
    )
    pledge = serializers.PrimaryKeyRelatedField(
        queryset=Pledge.objects.none(),
        required=False,
        allow_null=True,
        help_text=_(
            "Id of the active CSR pledge that paid for it (its targets must match and it must "
            "have the money disbursed and unspent); null: none."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["referral"].queryset = referrals_visible_to(request.user)
            self.fields["pledge"].queryset = pledges_visible_to(request.user)


# --- filters ----------------------------------------------------------------------------------


class DeliveryFilter(filters.FilterSet):
    referral = filters.NumberFilter(
        field_name="referral", label=_("Referral"), min_value=1, max_value=ID_MAX
    )
    programme = filters.CharFilter(
        field_name="referral__programme__code", label=_("Programme code")
    )
    household = filters.NumberFilter(
        field_name="referral__household", label=_("Household"), min_value=1, max_value=ID_MAX
    )
    delivered_on = DateFromToRangeFilter(
        label=_("Delivered between (delivered_on_after, delivered_on_before; inclusive)")
    )

    class Meta:
        model = Delivery
        fields = ["referral", "programme", "household", "delivered_on"]


FILTERS = [filters.DjangoFilterBackend, OrderingFilter]


def head_name_subquery():
    head = Member.objects.filter(
        household=OuterRef("household_id"), relationship=hc.Relationship.HEAD
    ).active()
    return Subquery(head.values("name")[:1])


# --- viewsets ---------------------------------------------------------------------------------

REFERRAL_ACTION_RESPONSES = {
    200: ReferralDetailSerializer,
    400: OpenApiResponse(description=_("Field errors, e.g. a missing reason.")),
    403: OpenApiResponse(description=_("Your role does not permit this.")),
    404: OpenApiResponse(description=_("No such referral in your scope.")),
    409: OpenApiResponse(description=_("The referral's state does not allow this.")),
}


@extend_schema_view(
    list=extend_schema(summary="List the referrals you can see"),
    retrieve=extend_schema(summary="One referral with its deliveries"),
    create=extend_schema(
        summary="Refer a household (or a member) to a programme",
        request=ReferralCreateSerializer,
        responses={
            201: ReferralDetailSerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            403: OpenApiResponse(description=_("Your role does not permit this.")),
        },
    ),
)
class ReferralViewSet(
    NumericIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Referrals of households (or members) to agencies' programmes, in the user's scope."""

    queryset = Referral.objects.none()  # the model, for the schema; reads use get_queryset
    permission_classes = [ReferralAccess]
    http_method_names = ["get", "post", "head", "options"]
    filter_backends = FILTERS
    filterset_class = ReferralFilter
    ordering_fields = ["due_on", "referred_at", "id"]

    def get_queryset(self):
        qs = referral_list(self.request.user)
        if access_for(self.request.user).reads_personal_data:
            qs = qs.annotate(head_name=head_name_subquery())
        if self.action != "list":
            qs = qs.select_related("referred_by", "decided_by", "closed_by").prefetch_related(
                "deliveries__logged_by", "deliveries__funding"
            )
        return qs

    def get_serializer_class(self):
        return ReferralRowSerializer if self.action == "list" else ReferralDetailSerializer

    def _detail(self, pk) -> dict:
        """The referral as just written, read back like a GET of its detail."""
        try:
            referral = self.get_queryset().get(pk=pk)
        except Referral.DoesNotExist as exc:
            raise Http404 from exc
        return ReferralDetailSerializer(referral, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        data = valid_data(
            ReferralCreateSerializer, request.data, context=self.get_serializer_context()
        )
        if data.get("planned_value") is None:
            data.pop("planned_value", None)
        referral = services.referral_create(actor=request.user, **data)
        return Response(self._detail(referral.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Accept a referral (the owning agency's officers; quota and budget checked)",
        request=None,
        responses=REFERRAL_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        referral = services.referral_accept(actor=request.user, referral=self.get_object())
        return Response(self._detail(referral.pk))

    @extend_schema(
        summary="Reject a referral with a reason (the owning agency's officers)",
        request=ReferralReasonSerializer,
        responses=REFERRAL_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        referral = self.get_object()
        data = valid_data(ReferralReasonSerializer, request.data)
        referral = services.referral_reject(
            actor=request.user, referral=referral, reason=data["reason"]
        )
        return Response(self._detail(referral.pk))

    @extend_schema(
        summary="Complete a referral after its deliveries (the household is recalculated)",
        request=None,
        responses=REFERRAL_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        referral = services.referral_complete(actor=request.user, referral=self.get_object())
        return Response(self._detail(referral.pk))

    @extend_schema(
        summary="Cancel an open referral with a reason",
        request=ReferralReasonSerializer,
        responses=REFERRAL_ACTION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        referral = self.get_object()
        data = valid_data(ReferralReasonSerializer, request.data)
        referral = services.referral_cancel(
            actor=request.user, referral=referral, reason=data["reason"]
        )
        return Response(self._detail(referral.pk))


@extend_schema_view(
    list=extend_schema(summary="List deliveries on the referrals you can see"),
    retrieve=extend_schema(summary="One delivery"),
    create=extend_schema(
        summary="Log a delivery on an accepted referral (the owning agency's officers)",
        request={
            "multipart/form-data": DeliveryCreateSerializer,
            "application/json": DeliveryCreateSerializer,
        },
        responses={
            201: DeliverySerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            403: OpenApiResponse(description=_("Your role does not permit this.")),
        },
    ),
)
class DeliveryViewSet(
    NumericIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """What agencies delivered on the referrals in the user's scope."""

    queryset = Delivery.objects.none()  # the model, for the schema; reads use get_queryset
    serializer_class = DeliverySerializer
    permission_classes = [ReferralAccess]
    http_method_names = ["get", "post", "head", "options"]
    filter_backends = FILTERS
    filterset_class = DeliveryFilter
    ordering_fields = ["delivered_on", "logged_at", "id"]

    def get_queryset(self):
        return (
            deliveries_visible_to(self.request.user)
            .select_related("logged_by", "funding")
            .order_by("-delivered_on", "-id")
        )

    def create(self, request, *args, **kwargs):
        data = valid_data(
            DeliveryCreateSerializer, request.data, context=self.get_serializer_context()
        )
        delivery = services.delivery_log(actor=request.user, **data)
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(
            DeliverySerializer(delivery, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Download a delivery's evidence (photo or PDF)",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description=_("No such delivery or no evidence.")),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def evidence(self, request, pk=None):
        delivery = self.get_object()
        if not delivery.evidence:
            raise Http404
        name = delivery.evidence.name.rsplit("/", 1)[-1]
        return FileResponse(delivery.evidence.open("rb"), as_attachment=True, filename=name)
