from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from povertycase.admin import ReadOnlyMixin

from .models import (
    Assessment,
    BusinessGroup,
    BusinessRecord,
    Case,
    Delivery,
    DeliveryFunding,
    Disbursement,
    FollowUp,
    Graduation,
    GroupMembership,
    GroupStatusChange,
    Instalment,
    KurApplication,
    KurScheme,
    KurStatusChange,
    Pledge,
    Programme,
    ProgrammePeriod,
    RecalculationJob,
    Referral,
    Repayment,
    RuleSet,
    Transition,
    VerdictLayout,
)


class ScopedMixin:
    def get_queryset(self, request):
        from households.models import Household

        visible = Household.objects.visible_to(request.user)
        return super().get_queryset(request).filter(household__in=visible)


@admin.register(RuleSet)
class RuleSetAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("version", "name", "status", "published_at", "published_by")
    list_filter = ("status",)


@admin.register(Case)
class CaseAdmin(ReadOnlyMixin, ScopedMixin, admin.ModelAdmin):
    list_display = ("household", "state", "since", "is_overridden")
    list_filter = ("state", "is_overridden")
    raw_id_fields = ("household", "latest_assessment")


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyMixin, ScopedMixin, admin.ModelAdmin):
    list_display = ("household", "assessed_at", "rule_set", "extreme_poor", "recommended_tier")
    list_filter = ("extreme_poor", "recommended_tier", "meets_graduation")
    list_select_related = ("rule_set",)
    date_hierarchy = "assessed_at"


@admin.register(VerdictLayout)
class VerdictLayoutAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The per-rule-set part of stored verdicts (written by the batch, never changed)."""

    list_display = ("key",)


@admin.register(Transition)
class TransitionAdmin(ReadOnlyMixin, ScopedMixin, admin.ModelAdmin):
    list_display = ("household", "from_state", "to_state", "at", "actor", "kind")
    list_filter = ("kind", "to_state")
    list_select_related = ("actor",)
    date_hierarchy = "at"


@admin.register(RecalculationJob)
class RecalculationJobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "trigger", "region", "status", "processed", "total", "created_at")
    list_filter = ("status", "trigger")


# --- programme catalogue: edited through its pages and API (the services check every rule) ----


class ProgrammePeriodInline(admin.TabularInline):
    model = ProgrammePeriod
    fields = ("name", "starts_on", "ends_on", "quota", "budget")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Programme)
class ProgrammeAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "owner", "tier", "strategy", "unit_value", "is_active")
    list_filter = ("tier", "strategy", "is_active", "owner")
    list_select_related = ("owner",)
    search_fields = ("code", "name")
    inlines = [ProgrammePeriodInline]


@admin.register(ProgrammePeriod)
class ProgrammePeriodAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("programme", "name", "starts_on", "ends_on", "quota", "budget")
    list_select_related = ("programme",)
    search_fields = ("programme__code", "name")


# --- referrals and deliveries: written by interventions.referrals only --------------------------


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("delivered_on", "quantity", "value", "evidence", "logged_by", "logged_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Referral)
class ReferralAdmin(ReadOnlyMixin, ScopedMixin, SimpleHistoryAdmin):
    list_display = ("id", "household", "programme", "need", "status", "due_on", "referred_at")
    list_filter = ("status", "need", "programme__owner")
    list_select_related = ("programme",)
    raw_id_fields = ("household", "member")
    search_fields = ("programme__code",)
    date_hierarchy = "referred_at"
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        from .referral_selectors import referrals_visible_to

        return super().get_queryset(request).filter(pk__in=referrals_visible_to(request.user))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("id", "referral", "delivered_on", "quantity", "value", "logged_by")
    list_select_related = ("referral", "logged_by")
    raw_id_fields = ("referral",)
    date_hierarchy = "delivered_on"

    def get_queryset(self, request):
        from .referral_selectors import referrals_visible_to

        visible = referrals_visible_to(request.user)
        return super().get_queryset(request).filter(referral__in=visible)


# --- CSR pledges: written by interventions.pledges only ------------------------------------------


class DisbursementInline(admin.TabularInline):
    model = Disbursement
    fields = ("disbursed_on", "amount", "note", "recorded_by", "recorded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PledgeScopedMixin:
    pledge_field = "pledge"

    def get_queryset(self, request):
        from .pledge_selectors import pledges_visible_to

        visible = pledges_visible_to(request.user)
        return super().get_queryset(request).filter(**{f"{self.pledge_field}__in": visible})


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("id", "title", "company", "amount", "starts_on", "ends_on", "status")
    list_filter = ("status", "tier", "company")
    list_select_related = ("company",)
    search_fields = ("title", "company__name", "company__short_name")
    date_hierarchy = "starts_on"
    inlines = [DisbursementInline]

    def get_queryset(self, request):
        from .pledge_selectors import pledges_visible_to

        return super().get_queryset(request).filter(pk__in=pledges_visible_to(request.user))


@admin.register(Disbursement)
class DisbursementAdmin(ReadOnlyMixin, PledgeScopedMixin, SimpleHistoryAdmin):
    list_display = ("id", "pledge", "disbursed_on", "amount", "recorded_by")
    list_select_related = ("pledge", "recorded_by")
    raw_id_fields = ("pledge",)
    date_hierarchy = "disbursed_on"


@admin.register(DeliveryFunding)
class DeliveryFundingAdmin(ReadOnlyMixin, PledgeScopedMixin, SimpleHistoryAdmin):
    list_display = ("delivery", "pledge", "amount", "recorded_by", "recorded_at")
    list_select_related = ("pledge", "recorded_by")
    raw_id_fields = ("delivery", "pledge")


# --- tier 3: groups, KUR, graduations, follow-ups (written by their services only) ------------


def _scoped(selector_name: str):
    class Scoped:
        def get_queryset(self, request):
            from . import group_selectors

            visible = getattr(group_selectors, selector_name)(request.user)
            return super().get_queryset(request).filter(pk__in=visible.values("pk"))

    return Scoped


class GroupMembershipInline(admin.TabularInline):
    model = GroupMembership
    fields = ("member", "role", "joined_on", "left_on", "is_open")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BusinessGroup)
class BusinessGroupAdmin(ReadOnlyMixin, _scoped("groups_visible_to"), SimpleHistoryAdmin):
    list_display = ("name", "kind", "sector", "desa", "status", "founded_on", "facilitator")
    list_filter = ("status", "kind")
    list_select_related = ("desa", "facilitator")
    search_fields = ("name", "sector")
    inlines = [GroupMembershipInline]


@admin.register(GroupMembership)
class GroupMembershipAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("group", "member", "role", "joined_on", "left_on", "is_open")
    list_filter = ("role", "is_open")
    list_select_related = ("group", "member")
    raw_id_fields = ("group", "member")

    def get_queryset(self, request):
        from .group_selectors import groups_visible_to

        visible = groups_visible_to(request.user)
        return super().get_queryset(request).filter(group__in=visible)


@admin.register(GroupStatusChange)
class GroupStatusChangeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("group", "from_status", "to_status", "at", "actor")
    list_select_related = ("group", "actor")

    def get_queryset(self, request):
        from .group_selectors import groups_visible_to

        visible = groups_visible_to(request.user)
        return super().get_queryset(request).filter(group__in=visible)


@admin.register(BusinessRecord)
class BusinessRecordAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("group", "month", "revenue", "costs", "profit_per_member", "recorded_by")
    list_select_related = ("group", "recorded_by")
    date_hierarchy = "month"

    def get_queryset(self, request):
        from .group_selectors import groups_visible_to

        visible = groups_visible_to(request.user)
        return super().get_queryset(request).filter(group__in=visible)


@admin.register(KurScheme)
class KurSchemeAdmin(SimpleHistoryAdmin):
    """Configurable data: ceilings, interest by loan number and loan limits (DOMAIN.md)."""

    list_display = ("name", "code", "min_amount", "max_amount", "rates_bp", "max_loans")
    list_filter = ("is_active",)

    def has_delete_permission(self, request, obj=None):
        return False  # applications keep their scheme; retire a scheme with "active" instead


class InstalmentInline(admin.TabularInline):
    model = Instalment
    fields = ("number", "due_on", "principal", "interest")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(KurApplication)
class KurApplicationAdmin(ReadOnlyMixin, _scoped("kur_visible_to"), SimpleHistoryAdmin):
    list_display = ("id", "group", "member", "scheme", "bank", "amount", "status", "created_at")
    list_filter = ("status", "scheme", "bank")
    list_select_related = ("group", "member", "scheme", "bank")
    raw_id_fields = ("group", "member")
    inlines = [InstalmentInline]


@admin.register(KurStatusChange)
class KurStatusChangeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("application", "from_status", "to_status", "at", "actor")
    list_select_related = ("application", "actor")

    def get_queryset(self, request):
        from .group_selectors import kur_visible_to

        visible = kur_visible_to(request.user)
        return super().get_queryset(request).filter(application__in=visible)


@admin.register(Instalment)
class InstalmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("application", "number", "due_on", "principal", "interest")
    list_select_related = ("application",)

    def get_queryset(self, request):
        from .group_selectors import kur_visible_to

        visible = kur_visible_to(request.user)
        return super().get_queryset(request).filter(application__in=visible)


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyMixin, _scoped("repayments_visible_to"), SimpleHistoryAdmin):
    list_display = ("application", "paid_on", "amount", "recorded_by")
    list_select_related = ("application", "recorded_by")
    date_hierarchy = "paid_on"


@admin.register(Graduation)
class GraduationAdmin(ReadOnlyMixin, ScopedMixin, admin.ModelAdmin):
    list_display = ("household", "graduated_on", "monitoring_until", "status", "relapsed_at")
    list_filter = ("status",)
    raw_id_fields = ("household", "transition", "assessment", "relapse_transition")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyMixin, _scoped("follow_ups_visible_to"), SimpleHistoryAdmin):
    list_display = ("household", "kind", "raised_at", "resolved_at", "resolved_by")
    list_filter = ("kind",)
    raw_id_fields = ("household", "group", "application", "graduation")
