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
    readonly_fields = ["cognito_sub", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Cognito", {"fields": ["cognito_sub"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
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
