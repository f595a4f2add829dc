from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Address, User
from .views import admin_login


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name", "cognito_sub"]
    readonly_fields = ["cognito_sub", "cognito_groups", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Cognito", {"fields": ["cognito_sub", "cognito_groups"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]

    @admin.display(description="Cognito groups")
    def cognito_groups(self, obj):
        # Cognito owns group membership and rewrites it at every sign-in, so
        # it is shown here, never edited.
        names = [
            name
            for name, on in [("admin", obj.is_superuser), ("staff", obj.is_staff)]
            if on
        ]
        names += [
            name
            for name in obj.groups.order_by("name").values_list("name", flat=True)
            if name not in names
        ]
        return ", ".join(names) or "—"

    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "name", "password1", "password2"],
            },
        ),
    ]


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["user", "full_name", "city", "postcode", "is_default"]
    search_fields = ["user__email", "full_name", "postcode"]
    raw_id_fields = ["user"]


# Staff sign in to the admin through Cognito; /accounts/login/local/ keeps the
# password form for break-glass superusers.
admin.site.login = admin_login
