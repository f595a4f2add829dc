"""
Checkouts on the embedded SQLite database while the jobs loop writes.

Sets up a fresh SQLite file as `make run` does (migrate, a small demo store),
serves it with runserver beside `run_jobs --loop` (the rollups job, here
every few seconds rather than every minute) and drives whole purchases from
several buyers at once: product page, add to cart, checkout page, place the
order. Reports every answer of 500 or more; the run fails if there is one.

    .venv/bin/python bench/sqlite_checkouts.py [--orders 120] [--buyers 4] [--minutes 3]
"""

import argparse
import http.cookiejar
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHECKOUT_TOKEN = re.compile(r'name="checkout_token" value="([^"]+)"')


class Buyer:
    """One browser: its own cookies, a purchase at a time."""

    def __init__(self, base: str, statuses: Counter, lock: threading.Lock):
        self.base = base
        self.statuses = statuses
        self.lock = lock
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def fetch(self, path: str, form: dict | None = None) -> str:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)
        try:
            with self.opener.open(request, timeout=60) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode(errors="replace")
        with self.lock:
            self.statuses[status] += 1
        return body

    def buy(self, product_path: str, variant: str) -> None:
        page = self.fetch(product_path)
        self.fetch(
            "/cart/add/",
            {
                "variant": variant,
                "quantity": 1,
                "csrfmiddlewaretoken": TOKEN.search(page).group(1),
            },
        )
        page = self.fetch("/checkout/")
        self.fetch(
            "/checkout/",
            {
                "csrfmiddlewaretoken": TOKEN.search(page).group(1),
                "checkout_token": CHECKOUT_TOKEN.search(page).group(1),
                "email": "buyer@example.com",
                "full_name": "Load Buyer",
                "address_line1": "1 High Street",
                "city": "Leeds",
                "postcode": "LS1 1AA",
                "country": "GB",
                "shipping_method": "standard",
                "payment_method": "cod",
            },
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--buyers", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sqlite-checkouts-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'shop.sqlite3'}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "q" * 40,
        "DJANGO_SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
        "JOB_ANALYTICS_ROLLUP_INTERVAL": "5",
    }
    env.pop("REDIS_URL", None)  # as a newcomer's machine: no Redis
    for command in (
        ["migrate", "-v0"],
        ["seed_demo", "--products", "60", "--orders", "40", "--events", "4000", "-v0"],
        ["collectstatic", "--noinput", "-v0"],
    ):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)
    products = subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from shop.models import ProductVariant\n"
            "for v in ProductVariant.objects.filter(stock__gte=40)[:40]: "
            "print(v.product.get_absolute_url(), v.pk)",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    # The shell may print notices first; only the paths are products.
    products = [
        (path, variant)
        for path, variant in zip(products, products[1:], strict=False)
        if path.startswith("/p/") and variant.isdigit()
    ]

    servers = [
        subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [PYTHON, "manage.py", "run_jobs", "--loop", "--every", "2", "-v0"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        ),
    ]
    base = f"http://127.0.0.1:{args.port}"
    statuses, lock, failures = Counter(), threading.Lock(), []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz/live", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        gap = args.minutes * 60 * args.buyers / args.orders
        started = time.monotonic()

        def shop(count: int, seed: int):
            rng = random.Random(seed)
            buyer = Buyer(base, statuses, lock)
            for _ in range(count):
                began = time.monotonic()
                try:
                    buyer.buy(*rng.choice(products))
                except Exception as exc:  # reported below, with the 5xx count
                    failures.append(repr(exc))
                time.sleep(
                    max(0.0, rng.uniform(0.5, 1.5) * gap - (time.monotonic() - began))
                )

        share = [
            args.orders // args.buyers + (i < args.orders % args.buyers)
            for i in range(args.buyers)
        ]
        threads = [
            threading.Thread(target=shop, args=(n, i)) for i, n in enumerate(share)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        for process in servers:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    orders = subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from shop.models import Order; print(Order.objects.filter(email='buyer@example.com').count())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    errors = sum(n for status, n in statuses.items() if status >= 500)
    print(
        f"{args.orders} purchases by {args.buyers} buyers over {elapsed:.0f} s on SQLite, "
        f"rollup job every 5 s: orders placed {orders}, answers {dict(sorted(statuses.items()))}, "
        f"5xx {errors}, client errors {len(failures)}"
    )
    for failure in failures[:5]:
        print("  ", failure)
    sys.exit(1 if errors or failures else 0)


if __name__ == "__main__":
    main()
