"""
What tracking adds to one request, measured in one process (never part of
the test run).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop_analytics_bench \
    REDIS_URL=redis://127.0.0.1:6379/3 DJANGO_SECRET_KEY=bench \
    .venv/bin/python bench/tracking_request.py

Django's WSGI handler is called directly for the home page as an anonymous
visitor gets it (from the whole-page cache), without a server, a client or
the flusher (events are only buffered, and the buffer is emptied between
blocks). Three visitors take turns in interleaved blocks of BENCH_BLOCK
requests, BENCH_ROUNDS times, and the thread CPU of each block is counted:

- declined: the consent cookie alone, declined, so nothing is recorded;
- declined, with cookies: the same, also sending the visitor and session
  cookies a tracked visitor sends (what parsing them costs);
- tracked: consent granted, with those cookies (the page_view recorded).

The medians of the per-block differences are printed, in µs a request.
"""

import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.update(
    ANALYTICS_PRIVATE_MODE="off",
    ANALYTICS_BACKGROUND_FLUSH="false",
    DJANGO_ALLOWED_HOSTS="127.0.0.1",
    DJANGO_SECURE_COOKIES="false",
    LOG_LEVEL="WARNING",
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "80"))
BLOCK = int(os.environ.get("BENCH_BLOCK", "150"))


def main():
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from analytics.services import recorder_get

    app = WSGIHandler()

    def session():
        # What the server writes (SessionState.dump()), written just now.
        return f"s=benchsession0001&t={int(time.time())}&ch=direct&src=&med=&cmp=&ref="

    visitors = {
        "declined": lambda: "nw_consent=denied",
        "declined, with cookies": lambda: (
            f"nw_consent=denied; nw_vid=benchvisitor0001; nw_sess={session()}"
        ),
        "tracked": lambda: (
            f"nw_consent=granted; nw_vid=benchvisitor0001; nw_sess={session()}"
        ),
    }

    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    def block(cookie) -> float:
        started = time.thread_time()
        for _ in range(BLOCK):
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": "/",
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_USER_AGENT": "Mozilla/5.0 Chrome/130",
                "HTTP_COOKIE": cookie(),
                "REMOTE_ADDR": "127.0.0.1",
                "wsgi.input": io.BytesIO(b""),
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
            }
            body = app(environ, start_response)
            b"".join(body)
            body.close()
        return (time.thread_time() - started) / BLOCK * 1e6

    for cookie in visitors.values():  # warm the page cache and the code
        block(cookie)
    names = list(visitors)
    costs = {name: [] for name in names}
    for i in range(ROUNDS):
        # Each round in another order, so drift hits every visitor alike.
        for name in names[i % 3 :] + names[: i % 3]:
            costs[name].append(block(visitors[name]))
        recorder_get().buffer.clear()
        if (i + 1) % 10 == 0:
            print(f"  round {i + 1}/{ROUNDS}", file=sys.stderr, flush=True)

    def added(name, base):
        return statistics.median(
            a - b for a, b in zip(costs[name], costs[base], strict=True)
        )

    base = statistics.median(costs["declined"])
    print(f"request, declined: {base:.0f} us (median of {ROUNDS} blocks of {BLOCK})")
    print(
        f"visitor and session cookies, parsed: {added('declined, with cookies', 'declined'):+.1f} us"
    )
    print(
        f"recording the page view: {added('tracked', 'declined, with cookies'):+.1f} us"
    )
    print(f"tracking, all told: {added('tracked', 'declined'):+.1f} us")


if __name__ == "__main__":
    main()
