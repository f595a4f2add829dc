"""
Request IDs and JSON logs, for CloudWatch Logs Insights.

`RequestLogMiddleware` gives each request an ID (CloudFront's, the load
balancer's trace ID, or a new one), echoes it as `X-Request-ID`, and logs
one line per request. With `LOG_FORMAT=json`, `JsonFormatter` writes every
log record as one JSON object carrying that ID.
"""

import json
import logging
import time
import uuid
from contextvars import ContextVar

_request: ContextVar[dict | None] = ContextVar("request_log", default=None)
logger = logging.getLogger("config.requests")

# Set by CloudFront, then by the ALB; the first one present names the request.
ID_HEADERS = ("HTTP_X_AMZ_CF_ID", "HTTP_X_AMZN_TRACE_ID")


def request_id_of(meta: dict) -> str:
    for header in ID_HEADERS:
        value = meta.get(header, "")
        if value and len(value) <= 200 and value.isprintable():
            return value
    return uuid.uuid4().hex


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = {
            "request_id": request_id_of(request.META),
            "method": request.method,
            "path": request.path[:500],
        }
        token = _request.set(fields)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = fields["request_id"]
            logger.info(
                "%s %s %s",
                request.method,
                fields["path"],
                response.status_code,
                extra={
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            _request.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the request's ID."""

    EXTRA = ("status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **(_request.get() or {}),
        }
        for key in self.EXTRA:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return time.strftime(datefmt, time.gmtime(record.created))
