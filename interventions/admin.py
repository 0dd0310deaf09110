from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from povertycase.admin import ReadOnlyMixin

from .models import (
    Assessment,
    Case,
    Programme,
    ProgrammePeriod,
    RecalculationJob,
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
