"""
What each middleware costs a request, with and without a session.

Runs the project's middleware stack in this process (Django's test client
against the seeded benchmark database and Redis), with a timing mark
between every two middleware: a middleware's own cost is the time from its
mark to the next one on the way in, plus the time back on the way out. The
view's cost is what lies inside the last mark. Each visitor asks for the
bare view (`/bench/bare`) and for a cached catalogue page, `--requests`
times, after a warm-up; the table gives the median microseconds per
request of each part, and what the marks themselves cost is measured with
an empty stack and taken off.

    .venv/bin/python bench/storefront.py --reuse ...   # seeds shop_bench once
    .venv/bin/python bench/middleware_cost.py [--database shop_bench]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn  # noqa: E402

# Timestamps of the marks passed by the request being measured, in order:
# ("in", i, t) on the way in and ("out", i, t) on the way out.
_marks: list[tuple[str, int, float]] = []


def mark(index: int):
    """A middleware class that only notes when the request passes it."""

    class Mark:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            _marks.append(("in", index, time.perf_counter()))
            response = self.get_response(request)
            _marks.append(("out", index, time.perf_counter()))
            return response

    Mark.__qualname__ = Mark.__name__ = f"Mark{index}"
    return Mark


def timed_stack(middleware: list[str]) -> list[str]:
    """`middleware` with a mark before each, and one before the view."""
    module = sys.modules[__name__]
    stack = []
    for index, path in enumerate([*middleware, None]):
        setattr(module, f"Mark{index}", mark(index))
        stack.append(f"{__name__}.Mark{index}")
        if path:
            stack.append(path)
    return stack


def costs(client, url: str, count: int, parts: int) -> list[float]:
    """Median microseconds of each of `parts` middleware, then the view's."""
    for _ in range(50):
        client.get(url)
    samples = [[] for _ in range(parts + 1)]
    for _ in range(count):
        _marks.clear()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        ins = {i: t for kind, i, t in _marks if kind == "in"}
        outs = {i: t for kind, i, t in _marks if kind == "out"}
        for i in range(parts):
            own = (ins[i + 1] - ins[i]) + (outs[i] - outs[i + 1])
            samples[i].append(own * 1e6)
        samples[parts].append((outs[parts] - ins[parts]) * 1e6)
    return [statistics.median(s) for s in samples]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--database", default=os.environ.get("DATABASE", "shop_bench"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8096, help="for the cookies' server")
    args = parser.parse_args()

    env = bench_env(args.database, DJANGO_ALLOWED_HOSTS="*")
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings

    from bench.storefront import (
        member_cookie,
        page_urls,
        shopper_cookie,
    )

    middleware = list(settings.MIDDLEWARE)
    names = [path.rsplit(".", 1)[1] for path in middleware]
    urls = page_urls("", dict(os.environ))
    with override_settings(MIDDLEWARE=timed_stack(middleware)):
        visitors = {"no cookie": Client(HTTP_ACCEPT_ENCODING="gzip")}
        columns = {}
        with gunicorn(env, args.port) as base:  # sets the cookies, as a browser gets them
            cookies = {
                "session + cart": shopper_cookie(base, urls["variant"]),
                "signed in": member_cookie(base, urls["variant"]),
            }
        for label, cookie in cookies.items():
            client = Client(HTTP_ACCEPT_ENCODING="gzip")
            for pair in cookie.split("; "):
                name, _, value = pair.partition("=")
                client.cookies[name] = value
            visitors[label] = client
        for label, client in visitors.items():
            for page in ("bare", "category"):
                url = "/bench/bare" if page == "bare" else urls["category"]
                columns[(label, page)] = costs(client, url, args.requests, len(names))
    with override_settings(MIDDLEWARE=timed_stack([])):
        empty = costs(Client(), "/bench/bare", args.requests, 0)
    overhead = empty[0]  # the view of an empty stack: a mark pair and the view

    print(f"\nMicroseconds per request (median of {args.requests}), in-process, "
          f"marks' own cost taken off; gzip accepted\n")
    header = " | ".join(f"{label}: {page}" for label, page in columns)
    print(f"| middleware | {header} |")
    print("|---|" + "---:|" * len(columns))
    rows = [*names, "the view", "total"]
    for index, name in enumerate(rows):
        cells = []
        for values in columns.values():
            value = sum(values) if name == "total" else values[index]
            cells.append(f"{value:.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\n(an empty stack's bare view, marks included: {overhead:.0f} µs)")


if __name__ == "__main__":
    main()
