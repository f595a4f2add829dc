"""
Catalogue listings rendered afresh, at several catalogue sizes in one run.

A listing page is cached per catalogue version, so what a shopper waits for
after a catalogue change, or on any new combination of filter, sort and
page, is a page rendered from the database. This serves one seeded database
per size with `CATALOGUE_CACHE=false` (no page cache, no catalogue fragment
cache: every request renders the page, through the same code as production)
and drives a leaf category, a top category and a search with wrk, each run
right after a run of the bare view on the same server, in rounds that take
every size in turn, so the sizes' figures come from the same minutes.

    .venv/bin/python bench/storefront.py --uncached --products 10000 100000
    .venv/bin/python bench/storefront.py --uncached --products 10000 100000 --reuse

Each size's database is `<--database>_<size>` (shop_bench_10000, ...);
seeding 100,000 products takes about 8 minutes, so seed once and `--reuse`.
"""

import statistics
import subprocess
from contextlib import ExitStack

from bench.common import bench_env, gunicorn, manage, recreate_database, wrk

GZIP = 'wrk.headers["Accept-Encoding"] = "gzip"\n'
CONNECTIONS = 8
PAGES = ("leaf category", "top category", 'search "shirt"')


def _sql(database: str, query: str) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc", query],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def listing_urls(database: str) -> dict[str, str]:
    """The leaf and the top category with the most active products, and a search."""
    per_category = (
        "SELECT c.slug, c.path, c.parent_id, count(p.id) AS n"
        " FROM shop_category c JOIN shop_category d"
        " ON d.path = c.path OR d.path LIKE c.path || '/%'"
        " JOIN shop_product p ON p.category_id = d.id AND p.is_active"
        " GROUP BY c.id"
    )
    leaf = _sql(
        database,
        f"SELECT slug FROM ({per_category}) t WHERE NOT EXISTS"
        " (SELECT 1 FROM shop_category k WHERE k.path LIKE t.path || '/%')"
        " ORDER BY n DESC, slug LIMIT 1",
    )
    top = _sql(
        database,
        f"SELECT slug FROM ({per_category}) t WHERE parent_id IS NULL"
        " ORDER BY n DESC, slug LIMIT 1",
    )
    return {
        "leaf category": f"/c/{leaf}/",
        "top category": f"/c/{top}/",
        'search "shirt"': "/search/?q=shirt",
    }


def prepare(database: str, products: int, *, reuse: bool) -> None:
    env = bench_env(database)
    if not reuse:
        recreate_database(database)
    manage(env, "migrate", "-v0")
    if not reuse:
        manage(
            env,
            "seed_demo",
            "--products",
            str(products),
            "--orders",
            "2000",
            "--no-events",
            "-v0",
        )
    # What autovacuum does soon after a bulk load in production (the seed
    # rewrites each product row a few times); it may be off on a bench host.
    _sql(database, "VACUUM (ANALYZE) shop_product, shop_productvariant")


def measure(
    servers: dict[int, str], urls: dict[int, dict], seconds: int, rounds: int
) -> dict:
    """
    runs[size][page]: the wrk results of each round; bare[size] likewise.
    In each round, each page is driven at every size in turn, each run
    right after the bare view on the same server.
    """
    for size, base in servers.items():  # warm connections and imports
        wrk(base + "/bench/bare", seconds=1, connections=CONNECTIONS, script=GZIP)
        for url in urls[size].values():
            wrk(base + url, seconds=1, connections=CONNECTIONS, script=GZIP)
    runs = {size: {page: [] for page in PAGES} for size in servers}
    bare = {size: {page: [] for page in PAGES} for size in servers}
    for _ in range(rounds):
        for page in PAGES:
            for size, base in servers.items():
                bare[size][page].append(
                    wrk(
                        base + "/bench/bare",
                        seconds=seconds,
                        connections=CONNECTIONS,
                        script=GZIP,
                    )
                )
                runs[size][page].append(
                    wrk(
                        base + urls[size][page],
                        seconds=seconds,
                        connections=CONNECTIONS,
                        script=GZIP,
                    )
                )
    return {"runs": runs, "bare": bare}


def report(results: dict, sizes: list[int], seconds: int, rounds: int) -> None:
    runs, bare = results["runs"], results["bare"]
    smallest = sizes[0]
    print(
        f"\nListings uncached (CATALOGUE_CACHE=false), wrk -t2 -c{CONNECTIONS} "
        f"-d{seconds}s with Accept-Encoding: gzip, gunicorn -w3 on 127.0.0.1; "
        f"medians of {rounds} rounds, each run right after the bare view\n"
    )
    print(
        "| page | products | req/s | p50 ms | p95 ms | errors | ratio to bare "
        f"| cost vs {smallest:,} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for page in ("bare view", *PAGES):
        for size in sizes:
            if page == "bare view":
                series = [r for p in PAGES for r in bare[size][p]]
                ratio, growth = 1.0, "–"
            else:
                series = runs[size][page]
                ratio = statistics.median(
                    r["rps"] / b["rps"]
                    for r, b in zip(series, bare[size][page], strict=True)
                )
                # Paired by round: the same minutes at both sizes.
                growth = statistics.median(
                    small["rps"] / r["rps"]
                    for small, r in zip(runs[smallest][page], series, strict=True)
                )
                growth = f"{growth:.2f}×"
            med = {k: statistics.median(r[k] for r in series) for k in series[0]}
            print(
                f"| {page} | {size:,} | {med['rps']:.0f} | {med['p50']:.1f} | "
                f"{med['p95']:.1f} | {sum(r['errors'] for r in series)} | "
                f"{ratio:.3f} | {growth} |"
            )


def run(args) -> None:
    """`bench/storefront.py --uncached`: every size in `args.products`."""
    sizes = sorted(args.products)
    databases = {size: f"{args.database}_{size}" for size in sizes}
    for size, database in databases.items():
        prepare(database, size, reuse=args.reuse)
    manage(bench_env(databases[sizes[0]]), "collectstatic", "--noinput", "-v0")
    # The same pages at every size: the largest catalogue's biggest ones.
    pages = listing_urls(databases[sizes[-1]])
    urls = dict.fromkeys(sizes, pages)
    print(f"{', '.join(databases.values())}: {pages}")
    with ExitStack() as stack:
        servers = {
            size: stack.enter_context(
                gunicorn(
                    bench_env(databases[size], CATALOGUE_CACHE="false"),
                    args.port + index,
                )
            )
            for index, size in enumerate(sizes)
        }
        results = measure(servers, urls, args.seconds, args.rounds)
    report(results, sizes, args.seconds, args.rounds)
