from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from povertycase.admin import ReadOnlyMixin

from .models import Household, KkChange, Member, PersonalDataAccess, Visit, VisitPhoto


class ReadOnlyAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    """The register: records, their change history and who viewed them."""


class MemberInline(admin.TabularInline):
    model = Member
    fields = ("name", "relationship", "sex", "birth_date", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("id", "desa", "status", "desil", "monthly_expenditure", "updated_at")
    list_filter = ("status", "registration_source", "desil")
    search_fields = ("no_kk", "members__nik", "members__name")
    list_select_related = ("desa",)
    inlines = [MemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("name", "household", "relationship", "sex", "birth_date", "status")
    list_filter = ("status", "relationship", "sex")
    search_fields = ("nik", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


@admin.register(KkChange)
class KkChangeAdmin(ReadOnlyAdmin):
    list_display = ("household", "old_no_kk", "new_no_kk", "reason", "changed_at", "changed_by")
    list_filter = ("reason",)


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "household", "action", "channel")
    list_filter = ("action", "channel")
    date_hierarchy = "at"


class VisitPhotoInline(admin.TabularInline):
    model = VisitPhoto
    fields = ("image", "width", "height", "size_bytes")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = (
        "visited_at",
        "household",
        "worker",
        "met",
        "conflict_status",
        "distance_m",
        "verified_household",
    )
    list_filter = ("conflict_status", "met", "verified_household")
    search_fields = ("uuid", "worker__username")
    date_hierarchy = "visited_at"
    list_select_related = ("household", "worker")
    inlines = [VisitPhotoInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


@admin.register(VisitPhoto)
class VisitPhotoAdmin(ReadOnlyAdmin):
    list_display = ("visit", "width", "height", "size_bytes")

    def get_queryset(self, request):
        return (
            super().get_queryset(request).filter(visit__in=Visit.objects.visible_to(request.user))
        )
