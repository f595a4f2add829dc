"""
Pure helpers that turn a request into tracking fields: URL scrubbing, UTM
parsing, channel attribution, privacy hashing and session boundaries.

Nothing here does I/O, so it is cheap to call on the request path.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import (
    parse_qsl,
    quote_plus,
    unquote_plus,
    urlencode,
    urlsplit,
    urlunsplit,
)

from django.conf import settings

from config.days import local_date, local_days_bounds

from .conf import conf

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.")
SOCIAL_SITES = (
    "facebook.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "pinterest.",
    "reddit.",
    "tiktok.",
    "youtube.",
)
PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid_search", "display", "cpm"}
SOCIAL_MEDIUMS = {"social", "social-network", "social_media", "sm"}


def url_scrub(url: str, *, limit: int = 500) -> str:
    """Drop sensitive query parameters (ANALYTICS_SENSITIVE_PARAMS) from a URL."""
    if not url or "?" not in url:
        return url[:limit]
    sensitive = {p.lower() for p in settings.ANALYTICS_SENSITIVE_PARAMS}
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x/?a=b": the query cannot be read safely
        return url.partition("?")[0][:limit]
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in sensitive
    ]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))[:limit]


def url_host(url: str) -> str:
    """The host of `url`; "" when it has none or cannot be parsed."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def utm_parse(query: dict) -> dict[str, str]:
    """The UTM parameters of a query dict, trimmed to their column sizes."""
    return {key: str(query.get(key, ""))[:100].strip() for key in UTM_KEYS}


def channel_classify(*, source: str, medium: str, referrer: str, host: str) -> str:
    """
    Attribute a visit to a marketing channel.

    One of: paid, email, social, organic, referral, direct.
    """
    medium = medium.lower()
    source = source.lower()
    if medium in PAID_MEDIUMS:
        return "paid"
    if medium == "email" or source in {"newsletter", "email"}:
        return "email"
    if medium in SOCIAL_MEDIUMS or any(s in source for s in SOCIAL_SITES):
        return "social"
    if medium == "organic":
        return "organic"
    ref_host = url_host(referrer) if referrer else ""
    if ref_host and ref_host != host.split(":")[0]:
        if any(engine in ref_host for engine in SEARCH_ENGINES):
            return "organic"
        if any(site in ref_host for site in SOCIAL_SITES):
            return "social"
        return "referral"
    if source or medium:
        return "referral"
    return "direct"


def visitor_hash(*, ip: str, user_agent: str, day: str) -> str:
    """
    A cookieless visitor ID: a salted hash that rotates every day.

    The raw IP never leaves this function; the salt is derived from the
    secret key, so the hash cannot be reversed by guessing IPs offline.
    """
    salt = hashlib.sha256(f"analytics:{settings.SECRET_KEY}:{day}".encode()).digest()
    digest = hashlib.blake2b(
        f"{ip}|{user_agent}".encode(), key=salt[:32], digest_size=16
    ).hexdigest()
    return f"h-{digest}"


def ip_hash(ip: str) -> str:
    """A short keyed hash of an IP for rate-limit keys, never stored."""
    return hashlib.blake2b(
        ip.encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=12
    ).hexdigest()


def new_id() -> str:
    return secrets.token_urlsafe(16)


_URL_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
)


def _q(value: str) -> str:
    if _URL_SAFE.issuperset(value):
        return value
    return quote_plus(value)


@dataclass(slots=True)
class SessionState:
    """What the visitor's current session carries between requests."""

    session_id: str
    last_seen: int  # epoch seconds
    channel: str = "direct"
    source: str = ""
    medium: str = ""
    campaign: str = ""
    referrer: str = ""

    def dump(self) -> str:
        # What urlencode() would give, without its per-value overhead: this
        # runs on every tracked request, and most values are empty or safe.
        return (
            f"s={_q(self.session_id)}&t={self.last_seen}&ch={_q(self.channel)}"
            f"&src={_q(self.source)}&med={_q(self.medium)}"
            f"&cmp={_q(self.campaign)}&ref={_q(self.referrer[:200])}"
        )

    @classmethod
    def load(cls, raw: str | None) -> "SessionState | None":
        """The state in a cookie value `dump()` wrote; None for anything else."""
        if not raw or len(raw) > SESSION_COOKIE_MAX:
            return None
        # What parse_qsl() gives for the cookie dump() writes, without its
        # per-pair overhead: this runs for every tracked page view.
        match = _DUMP.fullmatch(raw)
        if match is not None:
            values = match.groups()
        else:  # another order, or missing keys: read it the long way
            data = dict(pair.partition("=")[::2] for pair in raw.split("&"))
            values = [data.get(key[:-1], "") for key in _DUMP_KEYS]
        if "%" in raw or "+" in raw:
            values = [unquote_plus(v) if "%" in v or "+" in v else v for v in values]
        session_id, last_seen, channel, source, medium, campaign, referrer = values
        last_seen = epoch_seconds(last_seen)
        if not session_id or last_seen is None:
            return None
        return cls(
            session_id[:64],
            last_seen,
            channel[:30] or "direct",
            source[:100],
            medium[:100],
            campaign[:100],
            referrer[:500],
        )


_DUMP_KEYS = ("s=", "t=", "ch=", "src=", "med=", "cmp=", "ref=")
# What dump() writes: the seven pairs in its order, no "&" within a value.
_DUMP = re.compile("&".join(f"{key}([^&]*)" for key in _DUMP_KEYS))
# What a browser keeps of one cookie, about; dump() stays well below it.
SESSION_COOKIE_MAX = 4000


def epoch_seconds(value: str) -> int | None:
    """`value` as whole epoch seconds, or None ("²" is a digit to isdigit())."""
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


# The local day last looked up: (time zone, start, end) in epoch seconds.
_day = ("", 0.0, 0.0)


def local_day(*, ts: float, zone_name: str) -> tuple[float, float]:
    """The bounds [start, end) of the local day holding `ts`, in epoch seconds."""
    global _day
    name, start, end = _day
    if name == zone_name and start <= ts < end:
        return start, end
    day = local_date(datetime.fromtimestamp(ts, UTC))
    start, end = (moment.timestamp() for moment in local_days_bounds(day, day))
    _day = (zone_name, start, end)
    return start, end


def session_continues(
    *, state: SessionState | None, now: datetime | float, campaign: str
) -> bool:
    """
    Whether a hit at `now` (a datetime, or epoch seconds) belongs to the
    session in `state`.

    A session ends after ANALYTICS_SESSION_TIMEOUT (30 minutes) of
    inactivity, at midnight in the shop's time zone, or when a new campaign
    arrives.
    """
    if state is None:
        return False
    now_ts = now if isinstance(now, float | int) else now.timestamp()
    last = state.last_seen
    settings_ = conf()
    if now_ts - last > settings_.session_timeout or now_ts < last - 300:
        return False
    start, end = local_day(ts=now_ts, zone_name=settings_.time_zone)
    if not start <= last < end:
        return False
    return not (campaign and campaign != state.campaign)
