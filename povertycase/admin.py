"""Admin building blocks shared by the apps."""


class ReadOnlyMixin:
    """Records with business rules are written by their services (pages, API, tasks) only, so
    the rules hold everywhere; the admin shows them and their change history."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
