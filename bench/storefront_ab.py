"""
Storefront before and after a change, in paired rounds of one run.

Serves two checkouts of the project (say, a commit before a change and the
change itself) side by side with gunicorn, on one seeded PostgreSQL
database, and drives each catalogue page with wrk, anonymously and with a
session holding a cart. In every round each page is measured on both
servers, in alternating order, so a slow moment of the machine costs both;
the figure is the median of the per-round ratios after / before.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/storefront_ab.py --before /tmp/before --after .

The schema is the newer checkout's (it migrates the database); both serve
only reads and session writes, which any recent schema holds.
"""

import argparse
import http.cookiejar
import re
import statistics
import subprocess
import sys
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PYTHON,
    bench_env,
    gunicorn,
    recreate_database,
    wrk,
)

PAGES = ("home", "category", "product", "search")


def manage(tree: Path, env: dict, *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def page_paths(tree: Path, env: dict) -> dict:
    """Real paths of a category, a product and an in-stock variant's id."""
    script = (
        "from shop.models import Category, Product\n"
        "c = Category.objects.filter(parent__isnull=True).order_by('position').first()\n"
        "p = Product.objects.filter(in_stock=True).order_by('pk')[100]\n"
        "v = p.variants.filter(stock__gt=5).first()\n"
        "print(c.get_absolute_url(), p.get_absolute_url(), v.pk)\n"
    )
    output = manage(tree, env, "shell", "-c", script).strip().splitlines()
    category, product, variant = output[-1].split()
    return {
        "home": "/",
        "category": category,
        "product": product,
        "search": "/search/?q=linen+shirt",
        "variant": variant,
    }


def session_with_cart(base: str, product: str, variant: str) -> str:
    """A session cookie whose cart holds one item, made through the site."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + product).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"variant": variant, "quantity": 1, "csrfmiddlewaretoken": token}
    ).encode()
    opener.open(urllib.request.Request(base + "/cart/add/", data=body))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def cookie_script(cookie: str) -> str:
    return f'wrk.headers["Cookie"] = "{cookie}"\n' if cookie else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="shop_bench_ab")
    parser.add_argument("--reuse", action="store_true", help="Keep a seeded database.")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}

    env = bench_env(args.database, BENCH_REDIS_URL="redis://127.0.0.1:6379/7")
    if not args.reuse:
        recreate_database(args.database)
        manage(trees["after"], env, "migrate", "-v0")
        manage(
            trees["after"],
            env,
            "seed_demo",
            "--products",
            str(args.products),
            "--orders",
            "500",
            "--no-events",
            "-v0",
        )
    for tree in trees.values():
        manage(tree, env, "collectstatic", "--noinput", "-v0")
    paths = page_paths(trees["after"], env)

    ratios = {(page, who): [] for page in PAGES for who in ("anonymous", "session")}
    figures = {key: {"before": [], "after": []} for key in ratios}
    with ExitStack() as stack:
        bases = {}
        for port, (name, tree) in enumerate(trees.items(), start=8091):
            bases[name] = stack.enter_context(gunicorn(env, port, root=tree))
        cookies = {
            name: session_with_cart(base, paths["product"], paths["variant"])
            for name, base in bases.items()
        }
        for round_no in range(args.rounds):
            order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
            for page in PAGES:
                for who in ("anonymous", "session"):
                    result = {}
                    for name in order:
                        script = cookie_script(
                            cookies[name] if who == "session" else ""
                        )
                        result[name] = wrk(
                            bases[name] + paths[page],
                            seconds=args.seconds,
                            connections=8,
                            script=script,
                        )
                        figures[(page, who)][name].append(result[name]["rps"])
                    ratios[(page, who)].append(
                        result["after"]["rps"] / result["before"]["rps"]
                    )
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)

    print(
        f"\nStorefront before ({trees['before']}) and after ({trees['after']}), "
        f"{args.products} products, wrk -t2 -c8 -d{args.seconds}s, gunicorn -w3 each; "
        f"{args.rounds} paired rounds\n"
    )
    print(
        "| page | visitor | before req/s | after req/s | after / before (median, min–max) |"
    )
    print("|---|---|---:|---:|---:|")
    for (page, who), values in ratios.items():
        before = statistics.median(figures[(page, who)]["before"])
        after = statistics.median(figures[(page, who)]["after"])
        print(
            f"| {page} | {who} | {before:.0f} | {after:.0f} | "
            f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f}) |"
        )


if __name__ == "__main__":
    main()
