"""REST API of tier 3: ``/api/v1/groups/``, ``/api/v1/kur-applications/``,
``/api/v1/repayments/``, ``/api/v1/graduations/`` and ``/api/v1/follow-ups/``.

Thin over the services (``groups``, ``kur``, ``graduation``: every write) and
``group_selectors`` (every read, scoped: outside a user's scope an object is 404). Input
serializers check the shape only (400 with field names); the services apply the rules (400 with
field names, 409 for state conflicts, 403 for the wrong role) and write nothing on any error.
People's names appear only for roles that read personal data; never a NIK.
"""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
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
from households.models import Member
from opd.access import access_for
from opd.models import Organisation, OrganisationKind
from povertycase.api import NumericIdMixin
from regions.models import Level, Region

from . import graduation as graduation_services
from . import groups as group_services
from . import kur as kur_services
from .group_selectors import (
    FollowUpFilter,
    GraduationFilter,
    GroupFilter,
    KurFilter,
    RepaymentFilter,
    follow_up_list,
    graduation_list,
    group_list,
    groups_visible_to,
    kur_list,
    kur_visible_to,
    reads_groups,
    repayment_list,
)
from .models import (
    BusinessGroup,
    FollowUp,
    FollowUpKind,
    Graduation,
    GraduationStatus,
    GroupKind,
    GroupMembership,
    GroupRole,
    GroupStatus,
    KurApplication,
    KurScheme,
    KurStatus,
    Repayment,
)

FILTERS = [filters.DjangoFilterBackend, OrderingFilter]
PERSONAL_HELP = _("Only for roles that read personal data; null otherwise.")
ERRORS = {
    400: OpenApiResponse(description=_("Field errors; nothing written.")),
    403: OpenApiResponse(description=_("Your role does not permit this.")),
    404: OpenApiResponse(description=_("Not in your scope.")),
    409: OpenApiResponse(description=_("The current state does not allow this.")),
}


class Tier3Access(BasePermission):
    message = _("Your role does not permit access to groups and loans.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return reads_groups(access_for(request.user))


def _personal(context) -> bool:
    request = context.get("request")
    return bool(request and access_for(request.user).reads_personal_data)


# --- output -----------------------------------------------------------------------------------


class GroupRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = NamedChoiceField(enum_name="GroupKindEnum", choices=GroupKind.choices, read_only=True)
    sector = serializers.CharField(read_only=True)
    desa = serializers.CharField(source="desa.code", read_only=True)
    desa_name = serializers.CharField(source="desa.name", read_only=True)
    founded_on = serializers.DateField(read_only=True)
    status = NamedChoiceField(
        enum_name="GroupStatusEnum", choices=GroupStatus.choices, read_only=True
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    facilitator = serializers.CharField(
        source="facilitator.username", read_only=True, allow_null=True
    )
    member_count = serializers.IntegerField(read_only=True, help_text=_("Open members."))
    last_record = serializers.DateField(
        read_only=True, allow_null=True, help_text=_("Month of the latest business record.")
    )


class GroupMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    member = serializers.IntegerField(source="member_id", read_only=True)
    name = serializers.SerializerMethodField(help_text=PERSONAL_HELP)
    household = serializers.IntegerField(source="member.household_id", read_only=True)
    role = NamedChoiceField(enum_name="GroupRoleEnum", choices=GroupRole.choices, read_only=True)
    joined_on = serializers.DateField(read_only=True)
    left_on = serializers.DateField(read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    def get_name(self, obj) -> str | None:
        return obj.member.name if _personal(self.context) else None


class BusinessRecordSerializer(serializers.Serializer):
    month = serializers.DateField(read_only=True)
    revenue = serializers.IntegerField(read_only=True)
    costs = serializers.IntegerField(read_only=True)
    profit = serializers.IntegerField(read_only=True)
    profit_per_member = serializers.IntegerField(read_only=True)
    note = serializers.CharField(read_only=True)


class GroupStatusChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True)


class GroupDetailSerializer(GroupRowSerializer):
    members = GroupMemberSerializer(source="memberships.all", many=True, read_only=True)
    business_records = BusinessRecordSerializer(many=True, read_only=True)
    status_changes = GroupStatusChangeSerializer(many=True, read_only=True)


class KurRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    group = serializers.IntegerField(source="group_id", read_only=True, allow_null=True)
    group_name = serializers.CharField(source="group.name", read_only=True, allow_null=True)
    member = serializers.IntegerField(source="member_id", read_only=True, allow_null=True)
    desa = serializers.CharField(source="desa.code", read_only=True)
    scheme = serializers.CharField(source="scheme.code", read_only=True)
    scheme_name = serializers.CharField(source="scheme.name", read_only=True)
    bank = serializers.CharField(source="bank.short_name", read_only=True)
    amount = serializers.IntegerField(read_only=True, help_text=_("Rupiah."))
    tenor_months = serializers.IntegerField(read_only=True)
    rate_bp = serializers.IntegerField(
        read_only=True, help_text=_("Interest a year in basis points (300 = 3%).")
    )
    loan_number = serializers.IntegerField(read_only=True)
    purpose = serializers.CharField(read_only=True)
    status = NamedChoiceField(enum_name="KurStatusEnum", choices=KurStatus.choices, read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    disbursed_on = serializers.DateField(read_only=True, allow_null=True)
    paid = serializers.IntegerField(read_only=True, help_text=_("Rupiah repaid so far."))
    created_at = serializers.DateTimeField(read_only=True)


class InstalmentSerializer(serializers.Serializer):
    number = serializers.IntegerField(read_only=True)
    due_on = serializers.DateField(read_only=True)
    principal = serializers.IntegerField(read_only=True)
    interest = serializers.IntegerField(read_only=True)
    amount = serializers.IntegerField(read_only=True)


class KurMoveSerializer(serializers.Serializer):
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)
    note = serializers.CharField(read_only=True)


class RepaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    application = serializers.IntegerField(source="application_id", read_only=True)
    paid_on = serializers.DateField(read_only=True)
    amount = serializers.IntegerField(read_only=True)
    note = serializers.CharField(read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    recorded_at = serializers.DateTimeField(read_only=True)


class ArrearsSerializer(serializers.Serializer):
    amount = serializers.IntegerField(help_text=_("Due by today and not paid (rupiah)."))
    days = serializers.IntegerField(help_text=_("Days since the oldest unpaid instalment."))
    since = serializers.DateField(allow_null=True)
    due = serializers.IntegerField()
    paid = serializers.IntegerField()
    outstanding = serializers.IntegerField()


class KurDetailSerializer(KurRowSerializer):
    instalments = InstalmentSerializer(many=True, read_only=True)
    repayments = RepaymentSerializer(many=True, read_only=True)
    moves = KurMoveSerializer(source="status_changes.all", many=True, read_only=True)
    arrears = serializers.SerializerMethodField()

    @extend_schema_field(ArrearsSerializer)
    def get_arrears(self, obj) -> dict:
        return ArrearsSerializer(kur_services.application_arrears(obj).__dict__).data


class GraduationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    household = serializers.IntegerField(source="household_id", read_only=True)
    desa = serializers.CharField(source="household.desa.code", read_only=True)
    graduated_on = serializers.DateField(read_only=True)
    monitoring_until = serializers.DateField(read_only=True)
    status = NamedChoiceField(
        enum_name="GraduationStatusEnum", choices=GraduationStatus.choices, read_only=True
    )
    evidence = serializers.JSONField(
        read_only=True,
        help_text=_("Qualifying assessments [date, spending], the assessment, groups, loans."),
    )
    relapsed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class FollowUpSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    household = serializers.IntegerField(source="household_id", read_only=True)
    desa = serializers.CharField(source="household.desa.code", read_only=True)
    kind = NamedChoiceField(
        enum_name="FollowUpKindEnum", choices=FollowUpKind.choices, read_only=True
    )
    group = serializers.IntegerField(source="group_id", read_only=True, allow_null=True)
    application = serializers.IntegerField(source="application_id", read_only=True, allow_null=True)
    graduation = serializers.IntegerField(source="graduation_id", read_only=True, allow_null=True)
    detail = serializers.JSONField(read_only=True)
    raised_at = serializers.DateTimeField(read_only=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True
    )
    resolution = serializers.CharField(read_only=True)


# --- input (shape only: the services apply the rules) -----------------------------------------


class GroupCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    kind = NamedChoiceField(enum_name="GroupKindEnum", choices=GroupKind.choices)
    sector = serializers.CharField(max_length=100)
    desa = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.filter(level=Level.VILLAGE),
        help_text=_("Code of the desa/kelurahan, e.g. 36.02.01.2002."),
    )
    founded_on = serializers.DateField()
    facilitator = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Username of a field worker or OPD officer."),
    )


class GroupUpdateSerializer(GroupCreateSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class GroupMemberAddSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(
        queryset=Member.objects.none(), help_text=_("Id of the person (a household member).")
    )
    role = NamedChoiceField(
        enum_name="GroupRoleEnum", choices=GroupRole.choices, default=GroupRole.MEMBER
    )
    joined_on = serializers.DateField(required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["member"].queryset = Member.objects.visible_to(request.user)


class GroupMemberLeaveSerializer(serializers.Serializer):
    membership = serializers.IntegerField(min_value=1, help_text=_("Id of the membership."))
    left_on = serializers.DateField(required=False, allow_null=True)


class GroupStatusSerializer(serializers.Serializer):
    to_status = NamedChoiceField(enum_name="GroupStatusEnum", choices=GroupStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class BusinessRecordInputSerializer(serializers.Serializer):
    month = serializers.RegexField(
        r"^\d{4}-\d{2}(-\d{2})?$", help_text=_("The month, YYYY-MM (or any date in it).")
    )
    revenue = RupiahField(required=True, allow_null=False)
    costs = RupiahField(required=True, allow_null=False)
    profit_per_member = RupiahField(required=False, allow_null=False, default=0)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class KurCreateSerializer(serializers.Serializer):
    group = serializers.PrimaryKeyRelatedField(
        queryset=BusinessGroup.objects.none(), required=False, allow_null=True
    )
    member = serializers.PrimaryKeyRelatedField(
        queryset=Member.objects.none(), required=False, allow_null=True
    )
    scheme = serializers.SlugRelatedField(
        slug_field="code",
        queryset=KurScheme.objects.all(),
        help_text=_("super-mikro, mikro or kecil."),
    )
    bank = serializers.SlugRelatedField(
        slug_field="short_name",
        queryset=Organisation.objects.filter(kind=OrganisationKind.BANK),
        help_text=_("Short name of the distributing bank, e.g. BRI."),
    )
    amount = RupiahField(required=True, allow_null=False)
    tenor_months = serializers.IntegerField(min_value=1, max_value=360)
    purpose = serializers.CharField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["group"].queryset = groups_visible_to(request.user)
            self.fields["member"].queryset = Member.objects.visible_to(request.user)


class KurMoveInputSerializer(serializers.Serializer):
    to_status = NamedChoiceField(enum_name="KurStatusEnum", choices=KurStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    disbursed_on = serializers.DateField(required=False, allow_null=True)


class RepaymentCreateSerializer(serializers.Serializer):
    application = serializers.PrimaryKeyRelatedField(queryset=KurApplication.objects.none())
    paid_on = serializers.DateField()
    amount = RupiahField(required=True, allow_null=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["application"].queryset = kur_visible_to(request.user)


class FollowUpResolveSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("What was done.")
    )


# --- viewsets ---------------------------------------------------------------------------------


class _Base(NumericIdMixin, viewsets.GenericViewSet):
    permission_classes = [Tier3Access]
    filter_backends = FILTERS

    def _detail(self, pk):
        try:
            obj = self.get_queryset().get(pk=pk)
        except self.queryset.model.DoesNotExist as exc:
            raise Http404 from exc
        serializer = self.detail_serializer(obj, context=self.get_serializer_context())
        return serializer.data


@extend_schema_view(
    list=extend_schema(summary="List the business groups you can see"),
    retrieve=extend_schema(summary="One group with its members, business records and status log"),
    create=extend_schema(
        summary="Form a group (forming)",
        request=GroupCreateSerializer,
        responses={201: GroupDetailSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change a group's name, kind, sector, village, founding date or facilitator",
        request=GroupUpdateSerializer,
        responses={200: GroupDetailSerializer, **ERRORS},
    ),
)
class GroupViewSet(
    _Base,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
):
    """Business groups (KUBE, UMKM, cooperatives) in the user's scope."""

    queryset = BusinessGroup.objects.none()
    filterset_class = GroupFilter
    ordering_fields = ["name", "founded_on", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    detail_serializer = GroupDetailSerializer

    def get_queryset(self):
        qs = group_list(self.request.user)
        if self.action != "list":
            qs = qs.prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=GroupMembership.objects.select_related("member").order_by(
                        "-is_open", "joined_on", "pk"
                    ),
                ),
                "business_records",
                "status_changes__actor",
            )
        return qs

    def get_serializer_class(self):
        return GroupRowSerializer if self.action == "list" else GroupDetailSerializer

    def create(self, request, *args, **kwargs):
        data = valid_data(GroupCreateSerializer, request.data)
        group = group_services.group_create(actor=request.user, **data)
        return Response(self._detail(group.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        group = self.get_object()
        data = valid_data(GroupUpdateSerializer, request.data)
        group_services.group_update(actor=request.user, group=group, **data)
        return Response(self._detail(group.pk))

    @extend_schema(
        summary="Add a person to the group (tier 2/3 household, in no other open group)",
        request=GroupMemberAddSerializer,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        group = self.get_object()
        data = valid_data(
            GroupMemberAddSerializer, request.data, context=self.get_serializer_context()
        )
        group_services.group_member_add(actor=request.user, group=group, **data)
        return Response(self._detail(group.pk))

    @extend_schema(
        summary="A person leaves the group",
        request=GroupMemberLeaveSerializer,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        group = self.get_object()
        data = valid_data(GroupMemberLeaveSerializer, request.data)
        membership = group.memberships.filter(pk=data["membership"]).first()
        if membership is None:
            raise serializers.ValidationError({"membership": [_("Not a member of this group.")]})
        group_services.group_member_leave(
            actor=request.user, membership=membership, left_on=data.get("left_on")
        )
        return Response(self._detail(group.pk))

    @extend_schema(
        summary="Change the group's status (active needs the minimum size; a reason for "
        "dormant and dissolved)",
        request=GroupStatusSerializer,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        group = self.get_object()
        data = valid_data(GroupStatusSerializer, request.data)
        group_services.group_status_change(actor=request.user, group=group, **data)
        return Response(self._detail(group.pk))

    @extend_schema(
        summary="Record (or correct) the group's business of one month",
        request=BusinessRecordInputSerializer,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def records(self, request, pk=None):
        group = self.get_object()
        data = valid_data(BusinessRecordInputSerializer, request.data)
        group_services.business_record_save(actor=request.user, group=group, **data)
        return Response(self._detail(group.pk))


@extend_schema_view(
    list=extend_schema(summary="List the KUR applications you can see (a bank: its own)"),
    retrieve=extend_schema(summary="One application: schedule, repayments, arrears, moves"),
    create=extend_schema(
        summary="Prepare a KUR application for a group or a member",
        request=KurCreateSerializer,
        responses={201: KurDetailSerializer, **ERRORS},
    ),
)
class KurApplicationViewSet(
    _Base, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    """KUR applications through their pipeline, in the user's scope."""

    queryset = KurApplication.objects.none()
    filterset_class = KurFilter
    ordering_fields = ["created_at", "amount", "id"]
    http_method_names = ["get", "post", "head", "options"]
    detail_serializer = KurDetailSerializer

    def get_queryset(self):
        qs = kur_list(self.request.user)
        if self.action != "list":
            qs = qs.prefetch_related(
                "instalments", "repayments__recorded_by", "status_changes__actor"
            )
        return qs

    def get_serializer_class(self):
        return KurRowSerializer if self.action == "list" else KurDetailSerializer

    def create(self, request, *args, **kwargs):
        data = valid_data(KurCreateSerializer, request.data, context=self.get_serializer_context())
        application = kur_services.kur_application_create(actor=request.user, **data)
        return Response(self._detail(application.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Move the application (submitted; the bank: approved, rejected, disbursed, "
        "in arrears when it has arrears, defaulted; a note for rejected, in arrears, defaulted)",
        request=KurMoveInputSerializer,
        responses={200: KurDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        application = self.get_object()
        data = valid_data(KurMoveInputSerializer, request.data)
        kur_services.kur_application_move(actor=request.user, application=application, **data)
        return Response(self._detail(application.pk))


@extend_schema_view(
    list=extend_schema(summary="List repayments on the loans you can see"),
    retrieve=extend_schema(summary="One repayment"),
    create=extend_schema(
        summary="Record a repayment on a disbursed loan",
        request=RepaymentCreateSerializer,
        responses={201: RepaymentSerializer, **ERRORS},
    ),
)
class RepaymentViewSet(
    _Base, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    queryset = Repayment.objects.none()
    serializer_class = RepaymentSerializer
    detail_serializer = RepaymentSerializer
    filterset_class = RepaymentFilter
    ordering_fields = ["paid_on", "id"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return repayment_list(self.request.user)

    def create(self, request, *args, **kwargs):
        data = valid_data(
            RepaymentCreateSerializer, request.data, context=self.get_serializer_context()
        )
        repayment = kur_services.repayment_record(actor=request.user, **data)
        return Response(self._detail(repayment.pk), status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List graduations (and their monitoring) in your area"),
    retrieve=extend_schema(summary="One graduation with its evidence"),
)
class GraduationViewSet(_Base, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Graduation.objects.none()
    serializer_class = GraduationSerializer
    filterset_class = GraduationFilter
    ordering_fields = ["graduated_on", "monitoring_until", "id"]

    def get_queryset(self):
        return graduation_list(self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List follow-ups (relapse alerts) in your area, open first"),
    retrieve=extend_schema(summary="One follow-up"),
)
class FollowUpViewSet(_Base, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = FollowUp.objects.none()
    serializer_class = FollowUpSerializer
    detail_serializer = FollowUpSerializer
    filterset_class = FollowUpFilter
    ordering_fields = ["raised_at", "id"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return follow_up_list(self.request.user)

    @extend_schema(
        summary="Resolve a follow-up with a note",
        request=FollowUpResolveSerializer,
        responses={200: FollowUpSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        follow_up = self.get_object()
        data = valid_data(FollowUpResolveSerializer, request.data)
        graduation_services.follow_up_resolve(
            actor=request.user, follow_up=follow_up, note=data["note"]
        )
        return Response(self._detail(follow_up.pk))
