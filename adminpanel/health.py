"""
Health answers for load balancers and container orchestrators.

`/healthz/live` says only that the process answers (liveness: restart me if
not). `/healthz` says whether it can serve (readiness: send me traffic),
which needs the database only: with Redis down or hung the shop serves
without it (config/cache.py), so Redis trouble reads "degraded" with a 200
and a load balancer keeps the instance.

Public answers carry states and counts, never error text; staff get the
details (breaker states, last sink errors).
"""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.cache import cache_control

from analytics.services import analytics_health
from config.breaker import breakers_all


@cache_control(no_store=True)
def live(request):
    return JsonResponse({"status": "ok"})


def _database_check() -> tuple[str, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return "error", exc.__class__.__name__
    return "ok", ""


def _cache_check() -> tuple[str, str]:
    # Behind its circuit breaker, a hung Redis costs this at most one
    # socket timeout per back-off.
    try:
        cache.set("healthz", "1", timeout=5)
        if cache.get("healthz") != "1":
            return "degraded", "no round trip"
    except Exception as exc:
        return "degraded", exc.__class__.__name__
    return "ok", ""


def _is_staff(request) -> bool:
    # Load balancers send no cookies: only a request with a session may
    # cost the query that loads its user.
    if not request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return bool(user and user.is_active and user.is_staff)


@cache_control(no_store=True)
def healthz(request):
    database, database_error = _database_check()
    cache_state, cache_error = _cache_check()
    if database != "ok":
        status = "error"
    elif cache_state != "ok":
        status = "degraded"
    else:
        status = "ok"
    analytics = analytics_health(details=False)
    body = {
        "status": status,
        "checks": {"database": database, "cache": cache_state},
        # Informative: a failing sink never fails readiness.
        "analytics": analytics,
    }
    if _is_staff(request):
        body["details"] = {
            "database": database_error,
            "cache": cache_error,
            "breakers": {
                b.name: {
                    "state": b.state,
                    "failures": b.failures,
                    "last_error": b.last_error,
                }
                for b in breakers_all()
            },
            "analytics": analytics_health(details=True),
        }
    return JsonResponse(body, status=503 if status == "error" else 200)


# Mounted at the site's root by config/urls.py, outside the dashboard's
# namespace: load balancers know these paths.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", live, name="healthz_live"),
]
