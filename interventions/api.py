"""REST API of the eligibility engine and the tier pathway (thin: services write, scopes read).

- ``/rulesets/``: read by everyone who reads the register; provincial admins create and edit
  drafts and publish them (``rule_set_create`` / ``rule_set_update`` / ``rule_set_publish``).
- ``/assessments/``, ``/transitions/``, ``/cases/``: visible exactly when their household is
  (``households.scoping.household_q``); outside that scope an object is 404. Cases take the staff
  moves ``verify`` and ``change`` (``case_verify`` / ``case_change``).
- ``/jobs/``: recalculation jobs with their progress, for provincial admins, district staff and
  auditors; POST starts one (``job_start``).

Words (summaries, criterion lines, reasons, labels) come in the request's language; every other
value is the same in both languages. ``household_pathway`` is the household detail's "where does
it stand and why" block.
"""

from django.db.models import F
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from households.models import Household
from opd.access import access_for
from opd.models import Role
from povertycase.api import NumericIdMixin
from povertycase.filters import DateFromToRangeFilter
from povertycase.limits import ID_MAX
from regions.models import Region

from . import services
from .models import (
    Assessment,
    Case,
    JobStatus,
    RecalculationJob,
    RuleSet,
    RuleSetStatus,
    Transition,
    TransitionKind,
)
from .pathway import REGISTERED, ExitReason, State
from .selectors import JOB_READERS, JOB_STARTERS, jobs_visible_to, scoped

# --- permissions ------------------------------------------------------------------------------


class ReadsRegister(permissions.BasePermission):
    """Rule sets are read by the register's readers (not OPD officers or CSR partners)."""

    def has_permission(self, request, view):
        return access_for(request.user).reads_register


class EditsRulesOrReadOnly(permissions.BasePermission):
    """Writes to rule sets: provincial administrators only (the services check it again)."""

    message = _("Only provincial administrators may change the rules.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return access_for(request.user).has_role(Role.PROVINCIAL_ADMIN)


class ReadsPersonalData(permissions.BasePermission):
    """Case data is personal: never for CSR partners or users without a role.

    OPD officers pass and see what the household scope gives them (later: households referred
    to their agency).
    """

    def has_permission(self, request, view):
        return access_for(request.user).reads_personal_data


class JobAccess(permissions.BasePermission):
    message = _("Your role may not see or start recalculations.")

    def has_permission(self, request, view):
        access = access_for(request.user)
        if request.method in permissions.SAFE_METHODS:
            return access.has_role(*JOB_READERS)
        return access.has_role(*JOB_STARTERS)


# --- serializers ------------------------------------------------------------------------------


class StateField(serializers.ChoiceField):
    """A pathway state (``State``); documented once, as the ``PathwayStateEnum`` component."""

    def __init__(self, **kwargs):
        super().__init__(choices=State.choices, **kwargs)


class StateFieldSchema(OpenApiSerializerFieldExtension):
    """One named enum for every state field (from_state, to_state, state): without it the
    schema would name the same choice set three times, which ``--fail-on-warn`` refuses."""

    target_class = StateField

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name="PathwayStateEnum",
            type=ResolvedComponent.SCHEMA,
            object="PathwayStateEnum",
            schema={
                "type": "string",
                "enum": list(State.values),
                "description": "\n".join(f"* `{v}` - {label}" for v, label in State.choices),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class JobSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    region_name = serializers.CharField(source="region.name", read_only=True, allow_null=True)
    trigger_label = serializers.CharField(source="get_trigger_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = RecalculationJob
        fields = [
            "id",
            "region",
            "region_name",
            "trigger",
            "trigger_label",
            "status",
            "status_label",
            "total",
            "processed",
            "percent",
            "assessed",
            "moved",
            "created_at",
            "created_by",
            "started_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields


class JobStartSerializer(serializers.Serializer):
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Region code (e.g. 36.02); empty: the whole province or your district."),
    )


class RuleSetSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    rules = serializers.DictField(read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    published_by = serializers.CharField(
        source="published_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = RuleSet
        fields = [
            "version",
            "name",
            "status",
            "status_label",
            "rules",
            "notes",
            "created_at",
            "created_by",
            "published_at",
            "published_by",
        ]
        read_only_fields = fields


class RuleSetWriteSerializer(serializers.Serializer):
    """Shape only; the service validates the rules (errors keyed "rules.<path>")."""

    name = serializers.CharField(max_length=120, allow_blank=True)
    rules = serializers.DictField(
        required=False,
        help_text=_("The rule set; on creation, empty copies the set in force."),
    )
    notes = serializers.CharField(required=False, allow_blank=True)


class CriterionSerializer(serializers.Serializer):
    """One criterion line of a verdict, worded in the request's language."""

    code = serializers.CharField()
    need = serializers.CharField(allow_null=True)
    text = serializers.CharField()
    passed = serializers.BooleanField()
    value = serializers.JSONField(allow_null=True)
    threshold = serializers.JSONField(allow_null=True)


class AssessmentSerializer(serializers.ModelSerializer):
    household = serializers.IntegerField(source="household_id", read_only=True)
    rule_set_version = serializers.IntegerField(read_only=True)
    summary = serializers.CharField(read_only=True)
    criteria = CriterionSerializer(source="result.lines", many=True, read_only=True)
    unmet_needs = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "household",
            "rule_set_version",
            "assessed_at",
            "extreme_poor",
            "spending_per_person",
            "unmet_needs",
            "recommended_tier",
            "meets_graduation",
            "summary",
            "criteria",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.ModelSerializer):
    household = serializers.IntegerField(source="household_id", read_only=True)
    from_state = StateField(read_only=True)
    to_state = StateField(read_only=True)
    from_state_label = serializers.CharField(source="get_from_state_display", read_only=True)
    to_state_label = serializers.CharField(source="get_to_state_display", read_only=True)
    actor = serializers.CharField(
        source="actor.username",
        read_only=True,
        allow_null=True,
        help_text=_("Username of the staff member; null when the system made the move."),
    )
    is_override = serializers.BooleanField(read_only=True)
    reason_text = serializers.CharField(read_only=True)
    assessment = serializers.IntegerField(source="assessment_id", read_only=True, allow_null=True)
    evidence = serializers.DictField(read_only=True)

    class Meta:
        model = Transition
        fields = [
            "id",
            "household",
            "from_state",
            "from_state_label",
            "to_state",
            "to_state_label",
            "at",
            "actor",
            "kind",
            "is_override",
            "reason_text",
            "exit_reason",
            "assessment",
            "evidence",
        ]
        read_only_fields = fields


class CaseSerializer(serializers.ModelSerializer):
    household = serializers.IntegerField(source="household_id", read_only=True)
    state = StateField(read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    latest_assessment = serializers.IntegerField(
        source="latest_assessment_id", read_only=True, allow_null=True
    )
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "household",
            "state",
            "state_label",
            "since",
            "is_overridden",
            "latest_assessment",
            "summary",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_summary(self, case: Case) -> str | None:
        assessment = case.latest_assessment
        return assessment.summary if assessment is not None else None


class CaseVerifySerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CaseChangeSerializer(serializers.Serializer):
    """Shape only; the service checks the move (errors keyed "reason", "to_state", ...)."""

    to_state = StateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    exit_reason = serializers.ChoiceField(
        choices=ExitReason.choices, required=False, allow_blank=True, default=""
    )


class PathwaySerializer(serializers.Serializer):
    """Where a household stands on the pathway and why (the household detail's block)."""

    state = StateField()
    state_label = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    is_overridden = serializers.BooleanField()
    explanation = serializers.CharField(allow_null=True)
    criteria = CriterionSerializer(many=True)


def household_pathway(household: Household, request=None) -> dict:
    """The pathway block of a household: state, since when, and the latest "why" in words.

    The caller has already checked that the household is visible. Two queries at most; none
    when the household was read with ``select_related("case__latest_assessment")``. A household
    never assessed reads as registered, with no explanation and no criteria.
    """
    try:
        case = household.case
    except Case.DoesNotExist:
        case = None
    assessment = case.latest_assessment if case is not None else None
    state = case.state if case is not None else REGISTERED
    data = {
        "state": state,
        "state_label": str(State(state).label),
        "since": case.since if case is not None else None,
        "is_overridden": bool(case and case.is_overridden),
        "explanation": assessment.summary if assessment is not None else None,
        "criteria": list(assessment.result.lines) if assessment is not None else [],
    }
    return PathwaySerializer(data, context={"request": request}).data


# --- filters ----------------------------------------------------------------------------------


class RuleSetFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RuleSetStatus.choices)

    class Meta:
        model = RuleSet
        fields = ["status"]


class AssessmentFilter(filters.FilterSet):
    household = filters.NumberFilter(
        field_name="household", label=_("Household"), min_value=1, max_value=ID_MAX
    )
    rule_set = filters.NumberFilter(
        field_name="rule_set__version", label=_("Rule-set version"), min_value=1, max_value=ID_MAX
    )
    extreme_poor = filters.BooleanFilter()
    recommended_tier = filters.TypedChoiceFilter(
        choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int, label=_("Recommended tier")
    )
    assessed_at = DateFromToRangeFilter(
        label=_("Assessed between (assessed_at_after, assessed_at_before; dates, inclusive)")
    )

    class Meta:
        model = Assessment
        fields = ["household", "rule_set", "extreme_poor", "recommended_tier", "assessed_at"]


class TransitionFilter(filters.FilterSet):
    household = filters.NumberFilter(
        field_name="household", label=_("Household"), min_value=1, max_value=ID_MAX
    )
    from_state = filters.ChoiceFilter(choices=State.choices)
    to_state = filters.ChoiceFilter(choices=State.choices)
    kind = filters.ChoiceFilter(choices=TransitionKind.choices)
    at = DateFromToRangeFilter(label=_("Between (at_after, at_before; dates, inclusive)"))
    is_override = filters.BooleanFilter(method="filter_is_override", label=_("Manual override"))

    class Meta:
        model = Transition
        fields = ["household", "from_state", "to_state", "kind", "at", "is_override"]

    def filter_is_override(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(kind=TransitionKind.OVERRIDE)
        return queryset.exclude(kind=TransitionKind.OVERRIDE)


class CaseFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=State.choices)
    is_overridden = filters.BooleanFilter()

    class Meta:
        model = Case
        fields = ["state", "is_overridden"]


class JobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=JobStatus.choices)
    trigger = filters.ChoiceFilter(choices=RecalculationJob.Trigger.choices)

    class Meta:
        model = RecalculationJob
        fields = ["status", "trigger"]


FILTERS = [filters.DjangoFilterBackend, OrderingFilter]


# --- viewsets ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List rule sets (newest version first)"),
    retrieve=extend_schema(summary="One rule set by version"),
    create=extend_schema(
        summary="Create a draft rule set (provincial admins)",
        request=RuleSetWriteSerializer,
        responses={201: RuleSetSerializer},
    ),
    partial_update=extend_schema(
        summary="Edit a draft rule set (provincial admins; 409 once published)",
        request=RuleSetWriteSerializer,
        responses={200: RuleSetSerializer},
    ),
)
class RuleSetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RuleSetSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsRegister, EditsRulesOrReadOnly]
    lookup_field = "version"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = FILTERS
    filterset_class = RuleSetFilter
    ordering_fields = ["version", "created_at", "published_at"]

    def get_queryset(self):
        return RuleSet.objects.select_related("created_by", "published_by").order_by("-version")

    def create(self, request, *args, **kwargs):
        data = RuleSetWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule_set = services.rule_set_create(actor=request.user, **data.validated_data)
        return Response(RuleSetSerializer(rule_set).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        rule_set = self.get_object()
        data = RuleSetWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule_set = services.rule_set_update(
            actor=request.user, rule_set=rule_set, **data.validated_data
        )
        return Response(RuleSetSerializer(rule_set).data)

    def update(self, request, *args, **kwargs):  # PUT is not offered: PATCH edits a draft
        return self.http_method_not_allowed(request, *args, **kwargs)

    @extend_schema(
        summary="Publish a draft (provincial admins): it comes into force and the province is "
        "recalculated",
        request=None,
        responses={202: JobSerializer},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, version=None):
        rule_set = self.get_object()
        job = services.rule_set_publish(actor=request.user, rule_set=rule_set)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List assessments of the households you can see"),
    retrieve=extend_schema(summary="One assessment with its criteria in words"),
)
class AssessmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AssessmentSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsPersonalData]
    filter_backends = FILTERS
    filterset_class = AssessmentFilter
    ordering_fields = ["assessed_at", "id"]

    def get_queryset(self):
        return (
            scoped(Assessment.objects.all(), self.request.user)
            .annotate(rule_set_version=F("rule_set__version"))
            .defer("inputs", "fingerprint")
            .order_by("-assessed_at", "-id")
        )


@extend_schema_view(
    list=extend_schema(summary="List pathway transitions of the households you can see"),
    retrieve=extend_schema(summary="One transition"),
)
class TransitionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TransitionSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsPersonalData]
    filter_backends = FILTERS
    filterset_class = TransitionFilter
    ordering_fields = ["at", "id"]

    def get_queryset(self):
        return (
            scoped(Transition.objects.all(), self.request.user)
            .select_related("actor")
            .order_by("-at", "-id")
        )


HOUSEHOLD_ID = OpenApiParameter(
    "household_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("Household id")
)


@extend_schema_view(
    list=extend_schema(summary="List cases (where each visible household stands)"),
    retrieve=extend_schema(summary="One household's case", parameters=[HOUSEHOLD_ID]),
)
class CaseViewSet(NumericIdMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CaseSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsPersonalData]
    lookup_field = "household_id"
    lookup_value_regex = r"\d+"
    filter_backends = FILTERS
    filterset_class = CaseFilter
    ordering_fields = ["since", "household"]

    def get_queryset(self):
        return (
            scoped(Case.objects.all(), self.request.user)
            .select_related("latest_assessment")
            .defer("recent", "latest_assessment__inputs", "latest_assessment__fingerprint")
            .order_by("-household_id")
        )

    def _household(self) -> Household:
        """The visible household of the URL (it may have no case yet): 404 otherwise."""
        households = Household.objects.visible_to(self.request.user).select_related("desa")
        return get_object_or_404(households, pk=self.kwargs["household_id"])

    @extend_schema(
        summary="Verify a registered household after a field check",
        parameters=[HOUSEHOLD_ID],
        request=CaseVerifySerializer,
        responses={201: TransitionSerializer},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request, household_id=None):
        household = self._household()
        data = CaseVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transition = services.case_verify(
            actor=request.user, household=household, note=data.validated_data["note"]
        )
        return Response(TransitionSerializer(transition).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Move a household with a reason (provincial and district staff; a move outside "
        "the regular paths is an override, flagged)",
        parameters=[HOUSEHOLD_ID],
        request=CaseChangeSerializer,
        responses={201: TransitionSerializer},
    )
    @action(detail=True, methods=["post"])
    def change(self, request, household_id=None):
        household = self._household()
        data = CaseChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transition = services.case_change(
            actor=request.user, household=household, **data.validated_data
        )
        return Response(TransitionSerializer(transition).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List recalculation jobs with their progress"),
    retrieve=extend_schema(summary="One recalculation job (poll it for progress)"),
    create=extend_schema(
        summary="Start a recalculation of the province or a region",
        request=JobStartSerializer,
        responses={202: JobSerializer},
    ),
)
class JobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = JobSerializer
    permission_classes = [permissions.IsAuthenticated, JobAccess]
    filter_backends = FILTERS
    filterset_class = JobFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return (
            jobs_visible_to(self.request.user)
            .select_related("region", "created_by")
            .order_by("-created_at", "-id")
        )

    def create(self, request, *args, **kwargs):
        data = JobStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.job_start(actor=request.user, region=data.validated_data.get("region"))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
