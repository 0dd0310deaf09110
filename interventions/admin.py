from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Assessment, Case, RecalculationJob, RuleSet, Transition


class ReadOnlyMixin:
    """Pathway records are written by the services (pages, API, tasks) only; the admin reads."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
