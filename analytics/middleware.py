"""The clickstream middleware: request context for events, and page_view."""

import logging
import time

from django.conf import settings

from .conf import conf
from .context import TrackingContext, context_activate, context_deactivate
from .services import event_record

logger = logging.getLogger(__name__)


class ClickstreamMiddleware:
    """
    Set the tracking context for each request and record a `page_view` for
    HTML responses to GET requests.

    Static, media, admin, /healthz and the analytics endpoints get no
    page_view. Nothing here does I/O or raises into the request: the
    context is computed lazily and events only enter an in-memory buffer.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.skip = tuple(settings.ANALYTICS_SKIP_PREFIXES) + (
            settings.STATIC_URL,
            settings.MEDIA_URL,
        )

    def __call__(self, request):
        if not conf().enabled:
            return self.get_response(request)
        try:
            ctx = TrackingContext(request)
            token = context_activate(ctx)
        except Exception:
            logger.exception("analytics: no tracking context")
            return self.get_response(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            # Still inside the context: the page_view inherits it.
            try:
                if (
                    request.method == "GET"
                    and not request.path.startswith(self.skip)
                    and response.get("Content-Type", "").startswith("text/html")
                ):
                    event_record(
                        name="page_view",
                        status_code=response.status_code,
                        duration_ms=int((time.perf_counter() - started) * 1000),
                    )
                if ctx._base:
                    ctx.set_cookies(response)
            except Exception:
                logger.exception("analytics: page_view not recorded")
        finally:
            context_deactivate(token)
        return response
