"""Events and sessions in the admin: for looking, never for editing."""

from django.contrib import admin

from .models import Event, SessionSummary


class ReadOnlyAdmin(admin.ModelAdmin):
    # The events table holds millions of rows: no full COUNT(*) per page.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "name", "path", "device", "channel", "country", "is_bot"]
    list_filter = ["name", "is_bot", "device"]
    search_fields = ["=session_id", "=visitor_id", "path"]
    date_hierarchy = "occurred_at"


@admin.register(SessionSummary)
class SessionSummaryAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "channel",
        "device",
        "landing_path",
        "page_views",
        "converted",
        "revenue",
        "is_bot",
    ]
    list_filter = ["channel", "device", "converted", "is_bot"]
    search_fields = ["=session_id", "=visitor_id", "landing_path"]
    date_hierarchy = "started_at"
