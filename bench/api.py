"""
JSON API throughput against the bare view, in paired rounds.

Seeds a catalogue into a dedicated PostgreSQL database, serves the project
with gunicorn on 127.0.0.1 and drives, with wrk, the product detail JSON (no
If-None-Match, so every answer is a full 200), a category's product list
and add-to-cart through the API (a new guest cart per request, as the
storefront bench's form post makes a new session cart). Each is measured
right after a run of `/bench/bare`; its ratio is the median of the paired
ratios. Loopback only; every run is bounded by --seconds and stops by itself.

    .venv/bin/python bench/api.py [--products N] [--reuse]
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn, manage, recreate_database  # noqa: E402
from bench.storefront import paired_throughput  # noqa: E402

TARGETS = {"product detail": 0.5, "product list": 0.4, "add to cart (POST)": 0.2}


def api_targets(base: str, env: dict) -> list[tuple[str, str, str]]:
    """(name, URL, wrk script) for each request, from the seeded catalogue."""
    import django

    os.environ.update(env)
    django.setup()
    from shop.models import Category, Product

    category = Category.objects.filter(parent__isnull=True).order_by("position").first()
    product = Product.objects.filter(in_stock=True).order_by("pk")[500]
    variant = product.variants.filter(stock__gt=5).first()
    body = json.dumps({"variant_id": variant.pk, "quantity": 1}).replace('"', '\\"')
    post = (
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    api = base + "/api/v1"
    return [
        ("product detail", f"{api}/products/{product.slug}", ""),
        ("product list", f"{api}/products?category={category.slug}", ""),
        ("add to cart (POST)", f"{api}/cart/lines", post),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument(
        "--database", default=os.environ.get("DATABASE", "shop_bench_api")
    )
    parser.add_argument(
        "--reuse", action="store_true", help="Keep an already seeded database."
    )
    args = parser.parse_args()

    env = bench_env(args.database)
    if not args.reuse:
        recreate_database(args.database)
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(
        env,
        "seed_demo",
        "--products",
        str(args.products),
        "--orders",
        "200",
        "--no-events",
        "-v0",
    )
    with gunicorn(env, args.port) as base:
        rows = paired_throughput(base, api_targets(base, env), args.seconds, args.rounds)

    print(
        f"\nJSON API, {args.products} products, wrk -t2 -c16 -d{args.seconds}s, "
        f"gunicorn -w3 on 127.0.0.1; medians of {args.rounds} rounds, each request "
        "paired with a bare-view run\n"
    )
    print("| request | req/s | p50 ms | p95 ms | errors | ratio to bare | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, r, ratio in rows:
        target = TARGETS.get(name)
        verdict = (
            ""
            if target is None
            else (f"≥ {target} {'reached' if ratio >= target else 'NOT reached'}")
        )
        print(
            f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} | "
            f"{r['errors']} | {ratio:.2f} | {verdict} |"
        )


if __name__ == "__main__":
    main()
