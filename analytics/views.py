from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.net import client_ip

from . import services
from .collect import CollectError, collect_parse
from .context import CONSENT_COOKIE, VISITOR_COOKIE


def _same_origin(request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        # Beacons from this site carry Origin; without it, fall back to
        # the fetch metadata or referrer a browser sends.
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site == "same-origin"
        referer = request.headers.get("Referer")
        if not referer:
            return False
        try:
            parts = urlsplit(referer)
        except ValueError:
            return False
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin == "null":
        return False
    allowed = {
        f"{request.scheme}://{request.get_host()}",
        *settings.CSRF_TRUSTED_ORIGINS,
    }
    return origin in allowed


def _url_path(url: str) -> str:
    """The path of `url`, or "" when it cannot be parsed (`http://[x/`)."""
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _route(path: str) -> str:
    try:
        return resolve(_url_path(path)).view_name
    except Resolver404:
        return ""


# Exempt from CSRF by design: sendBeacon cannot carry the CSRF token, and the
# endpoint only appends anonymous analytics rows. Cross-site requests are
# refused by the Origin check instead, and floods by the rate limit.
@csrf_exempt
@require_POST
def collect(request):
    if not _same_origin(request):
        return JsonResponse(
            {"error": "requests from other origins are refused"}, status=403
        )
    allowed, flagged = services.collect_rate_check(ip=client_ip(request))
    if not allowed:
        return JsonResponse({"error": "too many requests, slow down"}, status=429)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > 64 * 1024:
        return JsonResponse({"error": "body is over 64 KB"}, status=400)
    try:
        events = collect_parse(body=request.body)
    except CollectError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    fallback = _url_path(request.headers.get("Referer", ""))
    for event in events:
        event.setdefault("path", fallback)
        event["route"] = _route(event["path"]) if event["path"] else ""
    accepted = services.events_collect(events=events, flagged=flagged)
    return JsonResponse({"accepted": accepted}, status=202)


@require_POST
def consent(request):
    """Remember the visitor's choice; declining also forgets the visitor ID."""
    choice = request.POST.get("choice")
    if choice not in {"accept", "decline"}:
        return JsonResponse({"error": "choice must be accept or decline"}, status=400)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie(
        CONSENT_COOKIE,
        "granted" if choice == "accept" else "denied",
        max_age=settings.ANALYTICS_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    if choice == "decline":
        response.delete_cookie(VISITOR_COOKIE)
        response.delete_cookie("nw_sess")
    return response


@never_cache
@staff_member_required
def status(request):
    """Buffer and sink counters for staff: recorded, dropped, errors."""
    return JsonResponse(services.analytics_health())
