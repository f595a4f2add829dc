"""
Pure helpers that turn a request into tracking fields: URL scrubbing, UTM
parsing, channel attribution, privacy hashing and session boundaries.

Nothing here does I/O, so it is cheap to call on the request path.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings

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
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in sensitive
    ]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))[:limit]


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
    ref_host = urlsplit(referrer).hostname or "" if referrer else ""
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
        if not raw or len(raw) > 1500:
            return None
        try:
            data = dict(parse_qsl(raw, keep_blank_values=True))
            return cls(
                session_id=data["s"][:64],
                last_seen=int(data["t"]),
                channel=data.get("ch", "direct")[:30],
                source=data.get("src", "")[:100],
                medium=data.get("med", "")[:100],
                campaign=data.get("cmp", "")[:100],
                referrer=data.get("ref", "")[:500],
            )
        except (KeyError, ValueError):
            return None


def session_continues(
    *, state: SessionState | None, now: datetime, campaign: str
) -> bool:
    """
    Whether a hit at `now` belongs to the session in `state`.

    A session ends after ANALYTICS_SESSION_TIMEOUT (30 minutes) of
    inactivity, at midnight in the shop's time zone, or when a new campaign
    arrives.
    """
    if state is None:
        return False
    timeout = settings.ANALYTICS_SESSION_TIMEOUT
    last = datetime.fromtimestamp(state.last_seen, tz=now.tzinfo)
    if now - last > timedelta(seconds=timeout) or now < last - timedelta(minutes=5):
        return False
    zone = ZoneInfo(settings.TIME_ZONE)
    if last.astimezone(zone).date() != now.astimezone(zone).date():
        return False
    return not (campaign and campaign != state.campaign)
