"""Events and sessions in the admin: for looking, never for editing."""

from django.contrib import admin

from .collect import CLIENT_EVENTS
from .models import RARE_EVENTS, Event, SessionSummary

EVENT_NAMES = sorted({"page_view", "product_view", *RARE_EVENTS, *CLIENT_EVENTS})


class EventNameFilter(admin.SimpleListFilter):
    """The known event names, without a DISTINCT over every row to list them."""

    title = "name"
    parameter_name = "name"

    def lookups(self, request, model_admin):
        return [(name, name) for name in EVENT_NAMES]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(name=self.value())
        return queryset


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
    list_display = [
        "occurred_at",
        "name",
        "path",
        "device",
        "channel",
        "country",
        "is_bot",
    ]
    # No date_hierarchy: its list of months is a DISTINCT over the table.
    list_filter = [
        EventNameFilter,
        ("occurred_at", admin.DateFieldListFilter),
        "is_bot",
    ]
    search_fields = ["=session_id", "=visitor_id", "path"]


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
