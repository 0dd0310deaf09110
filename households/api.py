"""REST API of the household register (/api/v1/households/, /api/v1/members/).

Thin like the HTML views: reads go through the scoped selectors (outside a user's scope a record
is 404, a user without the register sees an empty list), input serializers check the shape only
and the services apply every rule. NIK and No. KK are masked in lists; a detail shows them in
clear only to roles that need them, and each such view is logged (channel "api").
"""

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, InvalidOperation

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from opd.access import access_for
from povertycase.api import JSONParser
from povertycase.limits import RUPIAH_MAX
from regions.models import Level, Region

from . import choices as c
from . import selectors, services
from .filters import HouseholdFilter, MemberFilter
from .identity import mask
from .models import Household, KkChange, Member
from .services import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from .validation import nik_warnings

RUPIAH_TEXT = re.compile(r"-?\d+")
IDENTITY_HELP = _("In clear only for roles that need it (each view is logged); masked otherwise.")

# --- permissions and errors -------------------------------------------------------------------


class RegisterPermission(BasePermission):
    """Reads: any signed-in user (the selectors narrow what each sees, possibly to nothing).
    Writes: only the register's editors; read-only roles and everyone else get 403."""

    message = _("Your role does not permit changes to the household register.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or access_for(request.user).edits_register


def flat_errors(detail, prefix: str = "") -> dict:
    """DRF's nested errors keyed the way the services key theirs.

    {"members": [{}, {"nik": [...]}]} becomes {"members[1].nik": [...]}.
    """
    out: dict = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a list item's errors (DRF's dict format for lists)
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flat_errors(value, name))
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):
            out.update(flat_errors(item, f"{prefix}[{index}]"))
    elif detail:
        out[prefix or "non_field_errors"] = detail if isinstance(detail, list) else [detail]
    return out


def valid_data(serializer_class, data, **kwargs) -> dict:
    """Validate the shape of the input; refuse it (400) with flat field keys."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise serializers.ValidationError(flat_errors(serializer.errors))
    return dict(serializer.validated_data)


# --- filters ----------------------------------------------------------------------------------


# --- fields -----------------------------------------------------------------------------------


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose OpenAPI enum is a component with a fixed name.

    The household's and a member's "status" are different lists under one field name, which
    drf-spectacular's automatic enum naming cannot tell apart (see NamedChoiceFieldExtension).
    """

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": list(field.choices),
                "description": "\n".join(
                    f"* `{v}` - {label}" for v, label in field.choices.items()
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


def household_status_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(
        enum_name="HouseholdStatusEnum", choices=c.HouseholdStatus.choices, **kwargs
    )


def member_status_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="MemberStatusEnum", choices=c.MemberStatus.choices, **kwargs)


class MaskedField(serializers.CharField):
    """A NIK or No. KK as lists show it: "3601••••••••0001"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", _("Masked: the first and last 4 digits."))
        super().__init__(**kwargs)

    def to_representation(self, value):
        return mask(str(value)) if value else value


class IdentityField(serializers.CharField):
    """A NIK or No. KK in clear when the serializer context says so, masked otherwise."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", IDENTITY_HELP)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if not value or self.context.get("identity_clear"):
            return value
        return mask(value)


class RupiahField(serializers.IntegerField):
    """Whole rupiah, not negative. "1.000" or 1500.5 is refused rather than guessed at."""

    default_error_messages = {
        "invalid": _(
            "Enter whole rupiah as digits only, without decimals, dots or spaces "
            "(for example 1200000)."
        ),
        "min_value": _("An amount of rupiah cannot be negative."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", RUPIAH_MAX)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", _("Rupiah per month, whole number."))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float):
            if not data.is_integer():
                self.fail("invalid")
            data = int(data)
        elif isinstance(data, str):
            if not RUPIAH_TEXT.fullmatch(data.strip()):
                self.fail("invalid")
        elif not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class CoordinateField(serializers.DecimalField):
    """Latitude/longitude in degrees; phones send more than 6 decimals, which are rounded."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(
            max_digits=9,
            decimal_places=6,
            rounding=ROUND_HALF_UP,
            coerce_to_string=False,
            **kwargs,
        )

    def validate_precision(self, value):
        try:
            value = self.quantize(value)
        except InvalidOperation:
            self.fail("max_digits", max_digits=self.max_digits)
        return super().validate_precision(value)


# --- output serializers -----------------------------------------------------------------------


class HouseholdRowSerializer(serializers.Serializer):
    """One row of the list, read from `values()` (no model instances on the hot path)."""

    VALUES = (
        "id",
        "no_kk",
        "desa__code",
        "desa__name",
        "desa__parent__code",
        "desa__parent__name",
        "desa__parent__parent__code",
        "desa__parent__parent__name",
        "head_name",
        "member_count",
        "desil",
        "status",
        "monthly_expenditure",
        "updated_at",
    )

    id = serializers.IntegerField(read_only=True)
    no_kk = MaskedField()
    desa = serializers.CharField(source="desa__code", read_only=True)
    desa_name = serializers.CharField(source="desa__name", read_only=True)
    kecamatan = serializers.CharField(source="desa__parent__code", read_only=True)
    kecamatan_name = serializers.CharField(source="desa__parent__name", read_only=True)
    kabupaten = serializers.CharField(source="desa__parent__parent__code", read_only=True)
    kabupaten_name = serializers.CharField(source="desa__parent__parent__name", read_only=True)
    head_name = serializers.CharField(read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)
    desil = serializers.IntegerField(read_only=True, allow_null=True)
    status = household_status_field(read_only=True)
    monthly_expenditure = serializers.IntegerField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)


class MemberRowSerializer(serializers.Serializer):
    """One row of the member list, read from `values()`; the NIK is always masked here."""

    VALUES = (
        "id",
        "household_id",
        "nik",
        "name",
        "relationship",
        "sex",
        "birth_date",
        "status",
        "left_on",
        "updated_at",
    )

    id = serializers.IntegerField(read_only=True)
    household = serializers.IntegerField(source="household_id", read_only=True)
    nik = MaskedField()
    name = serializers.CharField(read_only=True)
    relationship = serializers.ChoiceField(choices=c.Relationship.choices, read_only=True)
    sex = serializers.ChoiceField(choices=c.Sex.choices, read_only=True)
    birth_date = serializers.DateField(read_only=True)
    status = member_status_field(read_only=True)
    left_on = serializers.DateField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)


class MemberDetailSerializer(serializers.ModelSerializer):
    nik = IdentityField()
    status = member_status_field(read_only=True)
    nik_warnings = serializers.SerializerMethodField(
        help_text=_("Warnings (not errors) about the NIK, e.g. an old kecamatan code.")
    )

    class Meta:
        model = Member
        fields = [
            "id",
            "household",
            *MEMBER_FIELDS,
            "nik_warnings",
            "status",
            "left_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_nik_warnings(self, member) -> list[str]:
        return nik_warnings(member.nik)


class KkChangeSerializer(serializers.ModelSerializer):
    old_no_kk = IdentityField()
    new_no_kk = IdentityField()

    class Meta:
        model = KkChange
        fields = ["old_no_kk", "new_no_kk", "reason", "changed_at"]
        read_only_fields = fields


# Sections a higher app adds to the household detail without this app importing it:
# interventions registers "pathway" (stage, since, the latest "why" in words and its criteria).
DETAIL_SECTIONS: dict[str, Callable[[Household, object], dict | None]] = {}


def register_detail_section(name: str, build: Callable[[Household, object], dict | None]):
    DETAIL_SECTIONS[name] = build


class HouseholdDetailSerializer(serializers.ModelSerializer):
    no_kk = IdentityField()
    desa = serializers.CharField(source="desa.code", read_only=True)
    desa_name = serializers.CharField(source="desa.name", read_only=True)
    kecamatan = serializers.CharField(source="desa.parent.code", read_only=True)
    kecamatan_name = serializers.CharField(source="desa.parent.name", read_only=True)
    kabupaten = serializers.CharField(source="desa.parent.parent.code", read_only=True)
    kabupaten_name = serializers.CharField(source="desa.parent.parent.name", read_only=True)
    lat = CoordinateField(read_only=True)
    lng = CoordinateField(read_only=True)
    status = household_status_field(read_only=True)
    head_name = serializers.CharField(read_only=True, allow_null=True)
    member_count = serializers.IntegerField(
        read_only=True, help_text=_("Members living in the household.")
    )
    members = MemberDetailSerializer(
        source="member_rows",
        many=True,
        read_only=True,
        help_text=_("Everyone who is or was in the household, the ones who left included."),
    )
    kk_changes = KkChangeSerializer(many=True, read_only=True)
    pathway = serializers.SerializerMethodField(
        help_text=_(
            "Stage on the tier pathway: state, state_label, since, is_overridden, explanation "
            "(the latest assessment in words) and criteria (one line per criterion)."
        )
    )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_pathway(self, household) -> dict | None:
        build = DETAIL_SECTIONS.get("pathway")
        return build(household, self.context.get("request")) if build else None

    class Meta:
        model = Household
        fields = [
            "id",
            "no_kk",
            "desa",
            "desa_name",
            "kecamatan",
            "kecamatan_name",
            "kabupaten",
            "kabupaten_name",
            *HOUSEHOLD_FIELDS,
            "head_name",
            "member_count",
            "version",
            "created_at",
            "updated_at",
            "members",
            "kk_changes",
            "pathway",
        ]
        read_only_fields = fields


# --- input serializers (shape only: the services apply the rules) -----------------------------


class MemberInputSerializer(serializers.ModelSerializer):
    nik = serializers.CharField(
        help_text=_("16 digits; checked against the birth date and sex by the register.")
    )

    class Meta:
        model = Member
        fields = list(MEMBER_FIELDS)
        validators = []  # uniqueness and identity are the service's rules


class MemberUpdateSerializer(MemberInputSerializer):
    household_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_(
            "The household version the change is based on; a stale one answers 409 "
            "(recommended for every client that may edit offline)."
        ),
    )

    class Meta(MemberInputSerializer.Meta):
        fields = [*MemberInputSerializer.Meta.fields, "household_version"]


class MemberCreateSerializer(MemberInputSerializer):
    household = serializers.PrimaryKeyRelatedField(
        queryset=Household.objects.none(), help_text=_("Id of the household.")
    )

    class Meta(MemberInputSerializer.Meta):
        fields = ["household", *MEMBER_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = selectors.household_list(request.user)


class MakeHeadSerializer(serializers.Serializer):
    previous_head_relationship = serializers.ChoiceField(
        choices=[(v, label) for v, label in c.Relationship.choices if v != c.Relationship.HEAD],
        help_text=_("The relationship the current head takes."),
    )


class LeaveSerializer(serializers.Serializer):
    status = NamedChoiceField(
        enum_name="LeaveStatusEnum",
        choices=[(v, label) for v, label in c.MemberStatus.choices if v != c.MemberStatus.ACTIVE],
        help_text=_("Why the person left the household."),
    )
    left_on = serializers.DateField()


class HouseholdInputSerializer(serializers.ModelSerializer):
    desa = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.filter(level=Level.VILLAGE),
        help_text=_("Code of the village (desa/kelurahan), e.g. 36.02.01.2002."),
    )
    no_kk = serializers.CharField(help_text=_("16 digits."))
    monthly_expenditure = RupiahField()
    monthly_income = RupiahField()
    lat = CoordinateField()
    lng = CoordinateField()
    status = household_status_field(required=False)

    class Meta:
        model = Household
        fields = ["desa", "no_kk", *HOUSEHOLD_FIELDS]
        validators = []  # uniqueness of the No. KK is the service's rule


class HouseholdCreateSerializer(HouseholdInputSerializer):
    members = MemberInputSerializer(
        many=True, help_text=_("The members; exactly one with the relationship 'head'.")
    )

    class Meta(HouseholdInputSerializer.Meta):
        fields = [
            "desa",
            "no_kk",
            *(f for f in HOUSEHOLD_FIELDS if f != "status"),
            "members",
        ]


class HouseholdUpdateSerializer(HouseholdInputSerializer):
    version = serializers.IntegerField(
        min_value=1,
        help_text=_(
            "Required: the version you last read. If the household changed since, the answer "
            "is 409 and nothing is saved."
        ),
    )
    kk_change_reason = serializers.ChoiceField(
        choices=[(v, label) for v, label in c.KkChangeReason.choices if v != "first"],
        required=False,
        allow_blank=True,
        help_text=_("Needed when the No. KK changes."),
    )

    class Meta(HouseholdInputSerializer.Meta):
        fields = ["version", "kk_change_reason", *HouseholdInputSerializer.Meta.fields]

    def validate(self, attrs):
        if "version" not in attrs:
            raise serializers.ValidationError({"version": [_("This field is required.")]})
        return attrs


# --- views ------------------------------------------------------------------------------------

CONFLICT = OpenApiResponse(description=_("The household changed since the given version."))


class DetailMixin:
    """Detail answers: identity numbers in clear only for the roles that need them, logged."""

    def detail_data(self, serializer_class, instance, household: Household) -> dict:
        user = self.request.user
        clear = access_for(user).reads_identity_numbers
        data = serializer_class(
            instance, context={"request": self.request, "identity_clear": clear}
        ).data
        if clear:
            services.personal_data_viewed(user=user, household=household, channel="api")
        return data


class JsonViewSet(viewsets.GenericViewSet):
    """The register's API speaks JSON (a registration nests its members)."""

    parser_classes = [JSONParser]
    permission_classes = [RegisterPermission]
    filter_backends = [DjangoFilterBackend, OrderingFilter]


class HouseholdViewSet(DetailMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, JsonViewSet):
    """The household register. Registration takes the members along; there is no delete (a
    household that moved or dissolved changes its status)."""

    queryset = Household.objects.none()  # the model, for the schema; reads use get_queryset
    filterset_class = HouseholdFilter
    ordering_fields = [
        "id",
        "updated_at",
        "monthly_expenditure",
        "desil",
        "member_count",
        "head_name",
    ]

    def get_queryset(self):
        return selectors.household_list(self.request.user)

    def get_serializer_class(self):
        if self.action == "list":
            return HouseholdRowSerializer
        return HouseholdDetailSerializer

    def get_object(self) -> Household:
        try:
            return selectors.household_detail(self.request.user, int(self.kwargs["pk"]))
        except (Household.DoesNotExist, ValueError) as exc:
            raise Http404 from exc

    def household_data(self, household: Household) -> dict:
        household.member_rows = list(selectors.household_members(household))
        return self.detail_data(HouseholdDetailSerializer, household, household)

    def list(self, request, *args, **kwargs):
        rows = self.filter_queryset(self.get_queryset()).values(*HouseholdRowSerializer.VALUES)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(HouseholdRowSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.household_data(self.get_object()))

    @extend_schema(request=HouseholdCreateSerializer, responses={201: HouseholdDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = valid_data(HouseholdCreateSerializer, request.data)
        household = services.household_register(
            actor=request.user,
            desa=data.pop("desa"),
            no_kk=data.pop("no_kk"),
            members=data.pop("members"),
            **data,
        )
        created = selectors.household_detail(request.user, household.pk)
        return Response(self.household_data(created), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=HouseholdUpdateSerializer,
        responses={200: HouseholdDetailSerializer, 409: CONFLICT},
    )
    def partial_update(self, request, *args, **kwargs):
        household = self.get_object()
        data = valid_data(HouseholdUpdateSerializer, request.data, partial=True)
        services.household_update(
            actor=request.user,
            household=household,
            expected_version=data.pop("version"),
            desa=data.pop("desa", None),
            no_kk=data.pop("no_kk", None),
            kk_change_reason=data.pop("kk_change_reason", "") or None,
            **data,
        )
        return Response(self.household_data(self.get_object()))  # as saved


class MemberViewSet(DetailMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, JsonViewSet):
    """People in the register. The head changes only through make-head; people leave, they are
    never deleted."""

    queryset = Member.objects.none()  # the model, for the schema; reads use get_queryset
    filterset_class = MemberFilter
    ordering_fields = ["id", "name", "birth_date", "updated_at"]

    def get_queryset(self):
        return selectors.member_list(self.request.user)

    def get_serializer_class(self):
        if self.action == "list":
            return MemberRowSerializer
        return MemberDetailSerializer

    def get_object(self) -> Member:
        try:
            return (
                self.get_queryset().select_related("household__desa").get(pk=int(self.kwargs["pk"]))
            )
        except (Member.DoesNotExist, ValueError) as exc:
            raise Http404 from exc

    def member_data(self, member: Member) -> dict:
        return self.detail_data(MemberDetailSerializer, member, member.household)

    def list(self, request, *args, **kwargs):
        rows = self.filter_queryset(self.get_queryset()).values(*MemberRowSerializer.VALUES)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(MemberRowSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.member_data(self.get_object()))

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = valid_data(MemberCreateSerializer, request.data, context={"request": request})
        member = services.member_add(actor=request.user, household=data.pop("household"), **data)
        return Response(self.member_data(member), status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        member = self.get_object()
        data = valid_data(MemberUpdateSerializer, request.data, partial=True)
        expected = data.pop("household_version", None)
        updated = services.member_update(
            actor=request.user, member=member, expected_version=expected, **data
        )
        return Response(self.member_data(updated))

    @extend_schema(request=MakeHeadSerializer, responses={200: MemberDetailSerializer})
    @action(detail=True, methods=["post"], url_path="make-head")
    def make_head(self, request, *args, **kwargs):
        """Make this member the head; the current head takes the given relationship."""
        member = self.get_object()
        data = valid_data(MakeHeadSerializer, request.data)
        head = services.member_make_head(actor=request.user, member=member, **data)
        return Response(self.member_data(head))

    @extend_schema(request=LeaveSerializer, responses={200: MemberDetailSerializer})
    @action(detail=True, methods=["post"])
    def leave(self, request, *args, **kwargs):
        """The person moved out, died or was registered in error (the head leaves last)."""
        member = self.get_object()
        data = valid_data(LeaveSerializer, request.data)
        left = services.member_leave(actor=request.user, member=member, **data)
        return Response(self.member_data(left))
