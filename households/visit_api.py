"""REST API of field visits: ``/api/v1/visits/``.

Thin over ``households.visits`` (every write) and ``households.visit_selectors`` (every read,
scoped by area): a household or a visit outside the user's area is 404.

- create: idempotent by the client's ``uuid``: 201 the first time, 200 with the stored visit
  when the same visit is sent again, 409 when the UUID was used for different content.
  multipart/form-data (with ``photos``; ``member_changes`` as a JSON text) or JSON (no photos).
- list (lean, constant queries; filters household, worker, kecamatan, desa, conflict, far,
  visited_at) and retrieve (with changes before/after, conflicts and photos).
- ``resolve``: provincial or district staff settle a visit's conflicts.
"""

import json

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from povertycase.api import JSONParser, is_storable_id
from povertycase.limits import ID_MAX

from . import choices as c
from . import visit_selectors as selectors
from . import visits as services
from .api import (
    CoordinateField,
    NamedChoiceField,
    RegisterPermission,
    RupiahField,
    valid_data,
)
from .models import Household, Visit

# --- input ------------------------------------------------------------------------------------


class VisitTimeField(serializers.DateTimeField):
    """A date and time; one too close to year 1 to move to UTC is refused, not a 500."""

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss][+HH:MM|-HH:MM|Z]")


@extend_schema_field({"type": "array", "items": {"type": "object"}})
class JsonListField(serializers.Field):
    """A list given as JSON (in a JSON body) or as a JSON text (in a multipart form)."""

    default_error_messages = {"invalid": _("Give a list (JSON).")}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else []
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, list):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class MemberChangeSerializer(serializers.Serializer):
    """One change to the members; which fields count depends on `change`."""

    change = NamedChoiceField(enum_name="MemberChangeEnum", choices=c.MemberChange.choices)
    member = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text=_("Id of the member (death, moved out, school, work)."),
    )
    on = serializers.DateField(required=False, help_text=_("Date of the death or the move."))
    nik = serializers.CharField(required=False, max_length=16, help_text=_("Birth: the NIK."))
    name = serializers.CharField(required=False, max_length=150, help_text=_("Birth: the name."))
    sex = serializers.ChoiceField(required=False, choices=c.Sex.choices)
    birth_date = serializers.DateField(required=False)
    relationship = serializers.ChoiceField(required=False, choices=c.Relationship.choices)
    school_enrolment = serializers.ChoiceField(required=False, choices=c.SchoolEnrolment.choices)
    work_status = serializers.ChoiceField(required=False, choices=c.WorkStatus.choices)
    occupation = serializers.CharField(required=False, allow_blank=True, max_length=100)


class VisitCreateSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text=_("Made by the phone when the visit is recorded."))
    household = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    visited_at = VisitTimeField(help_text=_("When the visit took place; not future."))
    household_version = serializers.IntegerField(
        min_value=0,
        max_value=2_147_483_647,
        help_text=_("The household's version the phone loaded (to detect conflicts)."),
    )
    met = NamedChoiceField(enum_name="VisitMetEnum", choices=c.VisitMet.choices)
    lat = CoordinateField(help_text=_("GPS latitude from the phone."))
    lng = CoordinateField(help_text=_("GPS longitude from the phone."))
    gps_accuracy_m = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=1_000_000
    )
    monthly_expenditure = RupiahField()
    monthly_income = RupiahField()
    unmet_needs = serializers.MultipleChoiceField(
        choices=c.BasicNeed.choices, required=False, help_text=_("Basic needs not met.")
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    member_changes = JsonListField(required=False, default=list)
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        required=False,
        default=list,
        help_text=_("Photos (JPEG, PNG or WebP); multipart/form-data only."),
    )

    def validate_member_changes(self, value):
        nested = MemberChangeSerializer(data=value, many=True)
        if not nested.is_valid():
            raise serializers.ValidationError(nested.errors)
        return [dict(item) for item in nested.validated_data]


class VisitResolveSerializer(serializers.Serializer):
    accept = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        help_text=_(
            "Keys of the conflicts that take the visit's value; the rest keep the server's."
        ),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# --- output -----------------------------------------------------------------------------------


class VisitRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    uuid = serializers.UUIDField(read_only=True)
    household = serializers.IntegerField(source="household_id", read_only=True)
    desa = serializers.CharField(source="household.desa.code", read_only=True)
    desa_name = serializers.CharField(source="household.desa.name", read_only=True)
    worker = serializers.CharField(source="worker.username", read_only=True)
    visited_at = serializers.DateTimeField(read_only=True)
    met = NamedChoiceField(enum_name="VisitMetEnum", choices=c.VisitMet.choices, read_only=True)
    distance_m = serializers.IntegerField(read_only=True, allow_null=True)
    is_far = serializers.BooleanField(read_only=True)
    conflict_status = NamedChoiceField(
        enum_name="VisitConflictEnum", choices=c.VisitConflict.choices, read_only=True
    )
    verified_household = serializers.BooleanField(read_only=True)


class VisitPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    width = serializers.IntegerField(read_only=True)
    height = serializers.IntegerField(read_only=True)
    size_bytes = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, photo) -> str:
        path = reverse("visits:photo", args=[photo.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class VisitDetailSerializer(VisitRowSerializer):
    lat = serializers.DecimalField(max_digits=9, decimal_places=6, read_only=True, allow_null=True)
    lng = serializers.DecimalField(max_digits=9, decimal_places=6, read_only=True, allow_null=True)
    gps_accuracy_m = serializers.IntegerField(read_only=True, allow_null=True)
    monthly_expenditure = serializers.IntegerField(read_only=True, allow_null=True)
    monthly_income = serializers.IntegerField(read_only=True, allow_null=True)
    unmet_needs = serializers.ListField(child=serializers.CharField(), read_only=True)
    notes = serializers.CharField(read_only=True)
    member_changes = serializers.JSONField(read_only=True)
    household_version = serializers.IntegerField(read_only=True)
    changes = serializers.JSONField(
        read_only=True, help_text=_("What the visit changed: key, before, after.")
    )
    conflicts = serializers.JSONField(
        read_only=True, help_text=_("Changes held for a supervisor: key, server, visit.")
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True
    )
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolution_note = serializers.CharField(read_only=True)
    photos = VisitPhotoSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


# --- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the visits you can see"),
    retrieve=extend_schema(summary="One visit with its changes, conflicts and photos"),
)
class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Field visits to the households in the user's area."""

    queryset = Visit.objects.none()  # the model, for the schema; reads use get_queryset
    permission_classes = [RegisterPermission]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "head", "options"]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = selectors.VisitFilter
    ordering_fields = ["visited_at", "id"]

    def get_queryset(self):
        return selectors.visit_list(self.request.user)

    def get_serializer_class(self):
        return VisitRowSerializer if self.action == "list" else VisitDetailSerializer

    def get_object(self) -> Visit:
        text = str(self.kwargs.get("pk", ""))
        if not is_storable_id(text):
            raise Http404
        try:
            return selectors.visit_detail(self.request.user, int(text))
        except Visit.DoesNotExist as exc:
            raise Http404 from exc

    def _detail(self, visit: Visit) -> dict:
        return VisitDetailSerializer(
            selectors.visit_detail(self.request.user, visit.pk),
            context=self.get_serializer_context(),
        ).data

    @extend_schema(
        summary="Record a visit (idempotent by uuid)",
        request={
            "multipart/form-data": VisitCreateSerializer,
            "application/json": VisitCreateSerializer,
        },
        responses={
            200: VisitDetailSerializer,
            201: VisitDetailSerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            403: OpenApiResponse(description=_("Your role does not permit this.")),
            404: OpenApiResponse(description=_("No such household in your area.")),
            409: OpenApiResponse(description=_("The uuid was used for a different visit.")),
        },
    )
    def create(self, request, *args, **kwargs):
        data = valid_data(VisitCreateSerializer, request.data)
        try:
            household = Household.objects.visible_to(request.user).get(pk=data.pop("household"))
        except Household.DoesNotExist as exc:
            raise Http404 from exc
        visit, created = services.visit_record(actor=request.user, household=household, **data)
        return Response(
            self._detail(visit), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Resolve a visit's conflicts (provincial or district staff)",
        request=VisitResolveSerializer,
        responses={
            200: VisitDetailSerializer,
            400: OpenApiResponse(description=_("Field errors; nothing written.")),
            403: OpenApiResponse(description=_("Your role does not permit this.")),
            404: OpenApiResponse(description=_("No such visit in your area.")),
            409: OpenApiResponse(description=_("The visit has no open conflict.")),
        },
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        visit = self.get_object()
        data = valid_data(VisitResolveSerializer, request.data)
        visit = services.visit_resolve(actor=request.user, visit=visit, **data)
        return Response(self._detail(visit))
