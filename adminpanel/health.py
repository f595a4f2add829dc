"""
Health answers for load balancers and container orchestrators.

`/healthz/live` says only that the process answers (liveness: restart me if
not). `/healthz` checks what serving needs (readiness: send me traffic).
"""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.cache import cache_control

from analytics.services import analytics_health


@cache_control(no_store=True)
def live(request):
    return JsonResponse({"status": "ok"})


@cache_control(no_store=True)
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("healthz", "1", timeout=5)
        checks["cache"] = (
            "ok" if cache.get("healthz") == "1" else "error: no round trip"
        )
    except Exception as exc:
        checks["cache"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks}
    # Clickstream counters are informative: a failing sink never fails health.
    body["analytics"] = analytics_health()
    return JsonResponse(body, status=200 if healthy else 503)


# Mounted at the site's root by config/urls.py, outside the dashboard's
# namespace: load balancers know these paths.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", live, name="healthz_live"),
]
