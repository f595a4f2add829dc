"""
Storefront throughput, latency and page weight.

Seeds 10,000 products into a dedicated PostgreSQL database, serves the site
with gunicorn on 127.0.0.1, drives each page with wrk (`Accept-Encoding:
gzip`, as browsers ask) and reports it as a ratio of a bare Django view
served by the same server in the same run, with no cookie. Each catalogue
page is driven three ways: anonymous (no cookie), with a session and a
non-empty cart, and signed in (a Cognito session with a cart). Then loads
each page in headless Chromium (phone and laptop, cold cache) and reports
bytes transferred, JavaScript bytes, third-party requests, console errors,
LCP and layout shift.

    DATABASE=shop_bench .venv/bin/python bench/storefront.py [--products N]
"""

import argparse
import os
import shutil
import statistics
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import uncached  # noqa: E402
from bench.common import bench_env, gunicorn, manage, recreate_database, wrk  # noqa: E402

CSRF = "benchbenchbenchbenchbenchbench12"  # 32 characters: an unmasked secret
PAGES = ("home", "category", "product", "search")
GZIP = 'wrk.headers["Accept-Encoding"] = "gzip"\n'


def page_urls(base: str, env: dict) -> dict:
    """Real URLs of a category, a product and a variant, read from the site."""
    import django

    os.environ.update(env)
    django.setup()
    from shop.models import Category, Product

    category = Category.objects.filter(parent__isnull=True).order_by("position").first()
    product = Product.objects.filter(in_stock=True).order_by("pk")[500]
    variant = product.variants.filter(stock__gt=5).first()
    return {
        "home": "/",
        "category": category.get_absolute_url(),
        "product": product.get_absolute_url(),
        "search": "/search/?q=linen+shirt",
        "variant": variant.pk,
    }


def cart_add_script(variant_id: int, cookie: str = "") -> str:
    body = urllib.parse.urlencode(
        {"variant": variant_id, "quantity": 1, "csrfmiddlewaretoken": CSRF}
    )
    return (
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        + cookie_script(f"csrftoken={CSRF}" + (f"; {cookie}" if cookie else ""))
    )


def cookie_script(cookie: str = "") -> str:
    """A wrk script sending what a browser sends: gzip, and `cookie`."""
    return GZIP + (f'wrk.headers["Cookie"] = "{cookie}"\n' if cookie else "")


def shopper_cookie(base: str, variant_id: int) -> str:
    """The cookies of a shopper who has put `variant_id` in the cart."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/cart/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode(
        {"variant": variant_id, "quantity": 2, "csrfmiddlewaretoken": csrf}
    ).encode()
    opener.open(urllib.request.Request(base + "/cart/add/", data=body)).read()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise RuntimeError("adding to the cart set no session cookie")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def member_cookie(base: str, variant_id: int) -> str:
    """
    The cookies of a signed-in shopper with a cart: a session as a Cognito
    sign-in leaves it (tokens valid for a day), written through the
    project's session engine (page_urls has set Django up).
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    from accounts.middleware import (
        SESSION_SIGNED_IN_AT,
        SESSION_SYNCED_AT,
        SESSION_TOKENS,
    )
    from accounts.models import User
    from shop import services
    from shop.models import ProductVariant

    user, _ = User.objects.update_or_create(
        email="bench-member@example.com",
        defaults={"name": "Bench Member", "cognito_sub": "bench-member-sub"},
    )
    cart = services.cart_get(user=user, create=True)
    cart.lines.all().delete()
    services.cart_add(
        cart=cart, variant=ProductVariant.objects.get(pk=variant_id), quantity=2
    )
    session = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    now = time.time()
    session.update({
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        SESSION_TOKENS: {"access": "bench", "refresh": "bench", "expires_at": now + 86400},
        SESSION_SIGNED_IN_AT: now,
        SESSION_SYNCED_AT: now,
        services.CART_SESSION_KEY: cart.pk,
    })
    session.create()
    return browser_cookies(base, f"{settings.SESSION_COOKIE_NAME}={session.session_key}")


def browser_cookies(base: str, cookie: str) -> str:
    """`cookie` and what a browser would keep from a first page sent it."""
    response = urllib.request.urlopen(
        urllib.request.Request(base + "/cart/", headers={"Cookie": cookie})
    )
    kept = [header.split(";")[0] for header in response.headers.get_all("Set-Cookie") or []]
    return "; ".join([cookie, *kept])


def throughput(
    base: str, urls: dict, seconds: int, rounds: int, connections: int, *, only: str = ""
) -> list[tuple]:
    """
    Each page is measured right after the bare view, `rounds` times; its
    ratio is the median of those paired ratios, so load from elsewhere on the
    machine moves both sides of each pair alike.
    """
    shopper = shopper_cookie(base, urls["variant"])
    member = member_cookie(base, urls["variant"])
    targets = [("bare view, with a session", base + "/bench/bare", cookie_script(shopper))]
    for label, cookie in (("", ""), (", session + cart", shopper), (", signed in", member)):
        targets += [
            (name + label, base + urls[name], cookie_script(cookie)) for name in PAGES
        ]
    targets.append(
        ("cart add (POST)", base + "/cart/add/", cart_add_script(urls["variant"]))
    )
    targets = [target for target in targets if only in target[0]]
    return paired_throughput(base, targets, seconds, rounds, connections=connections)


def paired_throughput(
    base: str,
    targets,
    seconds: int,
    rounds: int,
    *,
    bare_script: str = GZIP,
    connections: int = 8,
) -> list[tuple]:
    """Each (name, url, wrk script) target right after the bare view, `rounds` times."""
    for _, url, script in targets:
        if "POST" not in script:
            wrk(url, seconds=1, script=script, connections=connections)  # warm
    bare_runs, rows = [], []
    for name, url, script in targets:
        runs, ratios = [], []
        for _ in range(rounds):
            bare = wrk(base + "/bench/bare", seconds=seconds, script=bare_script,
                       connections=connections)
            result = wrk(url, seconds=seconds, script=script, connections=connections)
            bare_runs.append(bare)
            runs.append(result)
            ratios.append(result["rps"] / bare["rps"])
        rows.append((name, _median_run(runs), statistics.median(ratios)))
    rows.insert(0, ("bare view", _median_run(bare_runs), 1.0))
    return rows


def _median_run(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def page_weight(base: str, urls: dict) -> list[dict]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if not chromium:
        return []
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        for label, viewport in (("phone", (390, 844)), ("laptop", (1366, 900))):
            for name in ("home", "category", "product", "search", "cart"):
                path = "/cart/" if name == "cart" else urls[name]
                results.append(_measure(browser, base, path, viewport) | {
                    "page": name, "viewport": label})
        browser.close()
    return results


def _measure(browser, base: str, path: str, viewport: tuple) -> dict:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes, types, urls_seen, errors = {}, {}, [], []
    cdp.on("Network.responseReceived", lambda e: types.__setitem__(
        e["requestId"], (e["type"], e["response"]["headers"])))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(
        e["requestId"], e["encodedDataLength"]))
    page.on("request", lambda r: urls_seen.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.add_init_script(
        "window.__lcp=0;window.__cls=0;"
        "new PerformanceObserver(l=>{for(const e of l.getEntries())"
        "window.__lcp=e.startTime}).observe({type:'largest-contentful-paint',buffered:true});"
        "new PerformanceObserver(l=>{for(const e of l.getEntries())"
        "if(!e.hadRecentInput)window.__cls+=e.value}).observe({type:'layout-shift',buffered:true});"
    )
    page.goto(base + path, wait_until="networkidle")
    page.wait_for_timeout(300)
    lcp, cls = page.evaluate("[window.__lcp, window.__cls]")
    context.close()
    js = sum(size for rid, size in sizes.items() if types.get(rid, ("",))[0] == "Script")
    uncompressed = [
        rid for rid, (kind, headers) in types.items()
        if kind in ("Document", "Stylesheet", "Script")
        and not {k.lower(): v for k, v in headers.items()}.get("content-encoding")
        and sizes.get(rid, 0) > 1024
    ]
    third = [u for u in urls_seen if not u.startswith(base) and not u.startswith("data:")]
    return {
        "kb": sum(sizes.values()) / 1024, "js_kb": js / 1024,
        "third_party": len(third), "console_errors": len(errors),
        "lcp_ms": lcp, "cls": cls, "uncompressed_text": len(uncompressed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--products", type=int, nargs="+", default=[10_000],
                        help="Catalogue size; with --uncached, one or more sizes.")
    parser.add_argument("--uncached", action="store_true",
                        help="Listings rendered afresh at each size (bench/uncached.py).")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--database", default=os.environ.get("DATABASE", "shop_bench"))
    parser.add_argument("--reuse", action="store_true", help="Keep an already seeded database.")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--only", default="",
                        help="Only the requests whose name holds this text (and the bare view).")
    parser.add_argument("--no-weight", action="store_true", help="Skip the browser's page weights.")
    args = parser.parse_args()
    if args.uncached:
        return uncached.run(args)
    args.products = args.products[0]

    env = bench_env(args.database)
    if not args.reuse:
        recreate_database(args.database)
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    if not args.reuse:
        manage(env, "seed_demo", "--products", str(args.products), "--orders", "2000",
               "--no-events", "-v0")
    with gunicorn(env, args.port, workers=args.workers) as base:
        urls = page_urls(base, env)
        rows = throughput(base, urls, args.seconds, args.rounds, args.connections,
                          only=args.only)
        weights = [] if args.no_weight else page_weight(base, urls)

    print(f"\nStorefront, {args.products} products, wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s with Accept-Encoding: gzip, gunicorn -w{args.workers} on "
          f"127.0.0.1; medians of {args.rounds} rounds, each request paired with a run "
          "of the bare view (no cookie)\n")
    print("| request | req/s | p50 ms | p95 ms | errors | ratio to bare |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r, ratio in rows:
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} | "
              f"{r['errors']} | {ratio:.2f} |")
    if weights:
        print("\n| page | viewport | KB transferred | JS KB | third-party | console errors "
              "| LCP ms | CLS | uncompressed text |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for w in weights:
            print(f"| {w['page']} | {w['viewport']} | {w['kb']:.1f} | {w['js_kb']:.1f} | "
                  f"{w['third_party']} | {w['console_errors']} | {w['lcp_ms']:.0f} | "
                  f"{w['cls']:.3f} | {w['uncompressed_text']} |")


if __name__ == "__main__":
    main()
