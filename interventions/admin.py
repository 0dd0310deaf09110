from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from povertycase.admin import ReadOnlyMixin

from .models import (
    Assessment,
    Case,
    Delivery,
    DeliveryFunding,
    Disbursement,
    Pledge,
    Programme,
    ProgrammePeriod,
    RecalculationJob,
    Referral,
    RuleSet,
    Transition,
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
