from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """A ledger or an attempt log shown under its parent: read-only, never added to or deleted."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False
