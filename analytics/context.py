"""
The request context that events inherit, carried in a contextvar.

The middleware sets a `TrackingContext` for each request, so services can
call `event_record(...)` without ever taking an HTTP object. Everything is
computed lazily on the first event and without I/O: the request's raw values
travel with its events as `RequestFacts`, and user-agent parsing, referrer
scrubbing and cookieless sessions are left to the flusher thread.
"""

import string
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import SESSION_KEY

from config import net

from . import tracking
from .conf import conf

VISITOR_COOKIE = "nw_vid"
SESSION_COOKIE = "nw_sess"
CONSENT_COOKIE = "nw_consent"
SESSION_REFRESH_SECONDS = 60

_current: ContextVar["TrackingContext | None"] = ContextVar(
    "analytics_context", default=None
)


def context_current() -> "TrackingContext | None":
    return _current.get()


def context_activate(ctx: "TrackingContext | None"):
    return _current.set(ctx)


def context_deactivate(token) -> None:
    _current.reset(token)


class RequestFacts(NamedTuple):
    """
    A tracked request's raw header and cookie values, gathered once and
    shared by every event it records; the flusher reads them
    (`services.events_prepare`).
    """

    user_agent: str
    referrer: str
    language: str
    country: str
    # Cookieless visitors only: the flusher attributes their channel.
    host: str | None = None
    # A session cookie written within the minute: the flusher reads the
    # session's ID and attribution from it.
    session_cookie: str | None = None


def privacy_requested(request) -> bool:
    """DNT, GPC or a declined (or, when required, missing) consent."""
    meta = request.META
    if meta.get("HTTP_DNT") == "1" or meta.get("HTTP_SEC_GPC") == "1":
        return True
    consent = request.COOKIES.get(CONSENT_COOKIE)
    if consent == "denied":
        return True
    return conf().require_consent and consent != "granted"


# What a page view without a query string carries: no campaign at all.
_NO_UTM = dict.fromkeys(tracking.UTM_KEYS, "")
# What tracking.new_id() draws from (URL-safe base64).
_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def _session_fresh(raw: str, *, now: float) -> bool:
    """
    Whether the session in cookie value `raw` goes on at `now` with its
    cookie as it is: written less than a minute ago, today.

    Such a session has not timed out, and the caller has checked that no
    new campaign arrives, so the cookie needs no parsing on the request.
    """
    # Only what SessionState.load() reads back the same: the flusher reads
    # it, and must find this session there.
    if len(raw) > tracking.SESSION_COOKIE_MAX:
        return False
    head, found, rest = raw.partition("&t=")
    if not found or len(head) < 3 or not head.startswith("s=") or "&" in head:
        return False
    last = tracking.epoch_seconds(rest.partition("&")[0])
    if last is None:
        return False
    settings_ = conf()
    # A session this fresh has not timed out (with the usual 30 minutes).
    if not 0 <= now - last < min(SESSION_REFRESH_SECONDS, settings_.session_timeout):
        return False
    start, _ = tracking.local_day(ts=now, zone_name=settings_.time_zone)
    return last >= start


class TrackingContext:
    """
    Per-request tracking state: `base()` holds the Event columns every event
    of the request inherits, `facts` the raw values the flusher reads.
    """

    __slots__ = (
        "request",
        "_base",
        "facts",
        "cookie_mode",
        "session_state",
        "new_visitor",
        "refresh_session",
    )

    def __init__(self, request):
        self.request = request
        self._base = None
        self.facts: RequestFacts | None = None
        self.cookie_mode = False
        self.session_state = None
        self.new_visitor = False
        self.refresh_session = True

    @property
    def enabled(self) -> bool:
        return self.base() is not None

    def base(self) -> dict | None:
        if self._base is None:
            self._base = self._resolve() or {}
        return self._base or None

    def _resolve(self) -> dict | None:
        # Runs for every tracked page view, in the middle of a request whose
        # own code has pushed this out of the CPU's caches, so it only
        # gathers raw header and cookie values. Scrubbing, parsing and
        # cleaning them is left to the flusher, which runs through a whole
        # batch in one tight loop (services.events_prepare).
        request = self.request
        private = privacy_requested(request)
        if private and conf().private_mode == "off":
            return None
        meta = request.META
        user_agent = meta.get("HTTP_USER_AGENT", "")
        referrer = meta.get("HTTP_REFERER", "")
        language = meta.get("HTTP_ACCEPT_LANGUAGE", "")
        country = meta.get("HTTP_CLOUDFRONT_VIEWER_COUNTRY", "")
        query = meta.get("QUERY_STRING")
        if private:
            # Cookieless: a daily-rotating salted hash; the flusher assigns
            # the session from a shared cache, off the request path.
            self.facts = RequestFacts(
                user_agent, referrer, language, country, host=meta.get("HTTP_HOST", "")
            )
            return {
                "visitor_id": tracking.visitor_hash(
                    # The address only feeds this hash; it is never stored.
                    ip=net.client_ip(request),
                    user_agent=user_agent[:512],
                    day=datetime.now(UTC).date().isoformat(),
                ),
                "session_id": "",
                **(tracking.utm_parse(request.GET) if query else _NO_UTM),
            }
        self.cookie_mode = True
        cookies = request.COOKIES
        visitor = cookies.get(VISITOR_COOKIE, "")
        if not (8 <= len(visitor) <= 64 and _ID_CHARS.issuperset(visitor)):
            visitor = tracking.new_id()
            self.new_visitor = True
        raw = cookies.get(SESSION_COOKIE)
        now = time.time()
        if raw and not query and _session_fresh(raw, now=now):
            # Most page views: the session goes on, its cookie was written
            # within the minute and stays as it is. The flusher reads the
            # session's ID and attribution from the cookie's value.
            self.refresh_session = False
            self.facts = RequestFacts(
                user_agent, referrer, language, country, session_cookie=raw
            )
            return {"visitor_id": visitor}
        self.facts = RequestFacts(user_agent, referrer, language, country)
        utm = tracking.utm_parse(request.GET) if query else _NO_UTM
        campaign = utm["utm_campaign"]
        state = tracking.SessionState.load(raw)
        if not tracking.session_continues(state=state, now=now, campaign=campaign):
            state = tracking.SessionState(
                session_id=tracking.new_id(),
                last_seen=0,
                channel=tracking.channel_classify(
                    source=utm["utm_source"],
                    medium=utm["utm_medium"],
                    referrer=referrer,
                    host=meta.get("HTTP_HOST", ""),
                ),
                source=utm["utm_source"],
                medium=utm["utm_medium"],
                campaign=campaign,
                referrer=tracking.url_scrub(referrer),
            )
        # The session cookie is rewritten at most once a minute: activity is
        # kept to the minute, and most page views then set no cookie at all.
        now = int(now)
        self.refresh_session = now - state.last_seen >= SESSION_REFRESH_SECONDS
        if self.refresh_session:
            state.last_seen = now
        self.session_state = state
        return {
            "visitor_id": visitor,
            "session_id": state.session_id,
            "channel": state.channel,
            "utm_source": state.source,
            "utm_medium": state.medium,
            "utm_campaign": state.campaign,
            "utm_term": utm["utm_term"],
            "utm_content": utm["utm_content"],
        }

    def user_id(self) -> int | None:
        # Only a user or session the request already loaded: never a query
        # of our own. A cached page reads no user, but a signed-in
        # session's check has read the session, which names the user.
        user = self.request.__dict__.get("_cached_user")
        if user is not None:
            return user.pk if user.is_authenticated else None
        session = getattr(self.request, "session", None)
        if session is None or not session.accessed:
            return None
        try:
            return int(session.get(SESSION_KEY))
        except (TypeError, ValueError):
            return None

    def set_cookies(self, response) -> None:
        if not self.cookie_mode:
            return
        secure = settings.SESSION_COOKIE_SECURE
        if self.new_visitor:
            response.set_cookie(
                VISITOR_COOKIE,
                self._base["visitor_id"],
                max_age=settings.ANALYTICS_COOKIE_AGE,
                secure=secure,
                httponly=True,
                samesite="Lax",
            )
        if not self.refresh_session or self.session_state is None:
            return
        response.set_cookie(
            SESSION_COOKIE,
            self.session_state.dump(),
            max_age=settings.ANALYTICS_SESSION_TIMEOUT,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
