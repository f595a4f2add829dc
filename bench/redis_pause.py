"""
Pages while Redis hangs: p95 and errors with Redis answering, then paused.

Seeds a small demo store into a dedicated PostgreSQL database, starts a
private redis-server on a free loopback port, serves the site with gunicorn
(3 workers) and drives home, a category, a product and a search with wrk:
once with Redis answering, once with it stopped by SIGSTOP (a hung server:
connections open, no answers). The target (issue 14): with Redis paused,
page p95 within 2x of normal, with no 5xx.

    .venv/bin/python bench/redis_pause.py [--reuse] [--seconds 10]
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn, manage, recreate_database, wrk  # noqa: E402

DATABASE = os.environ.get("DATABASE", "shop_bench_faults")

# Each wrk connection walks the four pages in turn.
ROTATE = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page_paths(env: dict) -> list[str]:
    import django

    os.environ.update(env)
    django.setup()
    from shop.models import Category, Product

    category = Category.objects.filter(parent__isnull=True).order_by("position").first()
    product = Product.objects.filter(in_stock=True).order_by("pk").first()
    return [
        "/",
        category.get_absolute_url(),
        product.get_absolute_url(),
        "/search/?q=shirt",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reuse", action="store_true", help="Keep the seeded database."
    )
    parser.add_argument("--seconds", type=int, default=10, help="Seconds per wrk run.")
    args = parser.parse_args()

    redis_port = free_port()
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    redis = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        env = bench_env(DATABASE, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
        if not args.reuse:
            recreate_database(DATABASE)
            manage(env, "migrate", "--noinput", "-v0")
            manage(
                env,
                "seed_demo",
                "--products",
                "240",
                "--orders",
                "50",
                "--no-events",
                "-v0",
            )
        manage(env, "collectstatic", "--noinput", "-v0")
        paths = page_paths(env)
        script = ROTATE % ", ".join(f'"{p}"' for p in paths)
        with gunicorn(env, free_port()) as base:
            wrk(base + "/", seconds=3, script=script)  # warm every worker
            normal = wrk(base + "/", seconds=args.seconds, script=script)
            redis.send_signal(signal.SIGSTOP)
            try:
                paused = wrk(base + "/", seconds=args.seconds, script=script)
            finally:
                redis.send_signal(signal.SIGCONT)
            time.sleep(6)  # past the breaker's back-off: Redis is probed again
            after = wrk(base + "/", seconds=args.seconds, script=script)
    finally:
        redis.send_signal(signal.SIGCONT)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)

    print("| Redis | req/s | p50 ms | p95 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for label, run in (("answering", normal), ("paused", paused), ("resumed", after)):
        print(
            f"| {label} | {run['rps']:.0f} | {run['p50']:.2f} | {run['p95']:.2f} "
            f"| {run['errors']} |"
        )
    ratio = paused["p95"] / normal["p95"]
    verdict = "reached" if ratio <= 2 and not paused["errors"] else "not reached"
    print(f"\np95 paused / answering: {ratio:.2f} (target <= 2, no errors): {verdict}")


if __name__ == "__main__":
    main()
