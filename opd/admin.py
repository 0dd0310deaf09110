from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user", "area")


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ("short_name", "name", "kind", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "organisation", "role", "area", "is_active")
    list_filter = ("role", "is_active", "organisation__kind")
    search_fields = ("user__username", "organisation__name")
    raw_id_fields = ("user", "area")
