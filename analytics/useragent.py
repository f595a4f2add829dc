"""User-agent parsing and bot detection, cached per distinct user agent."""

import re
from functools import lru_cache

import ua_parser

# Crawlers, HTTP libraries, monitors and headless browsers. Bots are kept
# but flagged, so dashboards can exclude them and still show their share.
BOT_PATTERN = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrape|fetch|monitor|uptime|preview|"
    r"headless|phantomjs|puppeteer|playwright|selenium|lighthouse|"
    r"curl/|wget/|python-|requests/|httpx|aiohttp|go-http-client|java/|okhttp|"
    r"libwww|scrapy|wrk|apachebench|ab/|facebookexternalhit|bingpreview|"
    r"google-inspectiontool|mediapartners|adsbot|feedfetcher",
    re.IGNORECASE,
)
MOBILE_PATTERN = re.compile(r"mobi|iphone|ipod|android.+mobile|windows phone", re.I)
TABLET_PATTERN = re.compile(r"ipad|tablet|android(?!.*mobile)|kindle|silk", re.I)


@lru_cache(maxsize=4096)
def useragent_parse(user_agent: str) -> tuple[str, str, str, bool]:
    """Return (device, browser, os, is_bot) for a user-agent string."""
    if not user_agent:
        # Real browsers always send one; an empty user agent is a script.
        return "other", "", "", True
    is_bot = bool(BOT_PATTERN.search(user_agent))
    result = ua_parser.parse(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else ""
    os_name = result.os.family if result.os else ""
    if is_bot or (result.device and result.device.family == "Spider"):
        return "bot", browser[:40], os_name[:40], True
    if TABLET_PATTERN.search(user_agent):
        device = "tablet"
    elif MOBILE_PATTERN.search(user_agent):
        device = "mobile"
    else:
        device = "desktop"
    return device, browser[:40], os_name[:40], False
