"""
The project's URLs. Apps are included by dotted path, so config, the bottom
layer, imports none of them.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("adminpanel.health")),
    path("accounts/", include("accounts.urls")),
    path("analytics/", include("analytics.urls")),
    path("dashboard/", include("adminpanel.urls")),
    path("api/", include("shop.api.urls")),
    path("", include("shop.urls")),
]

if not settings.STORAGES["default"]["BACKEND"].startswith("storages."):
    # Local media (generated demo images) are served by Django itself; with
    # S3 they come from the bucket or CloudFront instead.
    urlpatterns += [
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:path>",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

handler403 = "shop.views.permission_denied"
handler404 = "shop.views.page_not_found"
handler500 = "shop.views.server_error"
