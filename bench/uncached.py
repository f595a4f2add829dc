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
    .venv/bin/python -m bench.uncached expiry --database shop_bench_100000

Each size's database is `<--database>_<size>` (shop_bench_10000, ...);
seeding 100,000 products takes about 8 minutes, so seed once and `--reuse`.
`expiry` drives a cached search page whose entries expire every 2 s, with
and without expired entries served while one request renders them again.
"""

import os
import statistics
import subprocess
from contextlib import ExitStack
from pathlib import Path

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


def server_cpu(port: int, database: str) -> float:
    """
    CPU seconds used so far by the gunicorn serving `port` and by the
    PostgreSQL backends connected to `database`: a request's cost that
    other work on a shared machine does not change much, unlike req/s.
    """
    pids = [
        int(d.name)
        for d in Path("/proc").iterdir()
        if d.name.isdigit() and f"127.0.0.1:{port}".encode() in _read(d / "cmdline")
    ]
    pids += [
        int(pid)
        for pid in _sql(
            database,
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"
            " AND pid <> pg_backend_pid()",
        ).split()
    ]
    ticks = 0
    for pid in pids:
        fields = _read(Path(f"/proc/{pid}/stat")).rsplit(b")", 1)[-1].split()
        if fields:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def _driven(url: str, seconds: int, cpu) -> dict:
    """wrk's figures for `url`, and the server CPU ms per request (`cpu()`)."""
    before = cpu()
    result = wrk(url, seconds=seconds, connections=CONNECTIONS, script=GZIP)
    used = cpu() - before
    return result | {"cpu_ms": 1000 * used / max(1, result["rps"] * seconds)}


def measure(
    servers: dict[int, tuple[str, int, str]],
    urls: dict[int, dict],
    seconds: int,
    rounds: int,
) -> dict:
    """
    runs[size][page]: the wrk results of each round; bare[size] likewise.
    In each round, each page is driven at every size in turn, each run
    right after the bare view on the same server. `servers`: each size's
    base URL, port and database.
    """
    for size, (base, _, _) in servers.items():  # warm connections and imports
        wrk(base + "/bench/bare", seconds=1, connections=CONNECTIONS, script=GZIP)
        for url in urls[size].values():
            wrk(base + url, seconds=1, connections=CONNECTIONS, script=GZIP)
    runs = {size: {page: [] for page in PAGES} for size in servers}
    bare = {size: {page: [] for page in PAGES} for size in servers}
    for _ in range(rounds):
        for page in PAGES:
            for size, (base, port, database) in servers.items():

                def cpu(port=port, database=database):
                    return server_cpu(port, database)

                bare[size][page].append(_driven(base + "/bench/bare", seconds, cpu))
                runs[size][page].append(_driven(base + urls[size][page], seconds, cpu))
    return {"runs": runs, "bare": bare}


def report(
    results: dict, sizes: list[int], seconds: int, rounds: int, workers: int
) -> None:
    runs, bare = results["runs"], results["bare"]
    smallest = sizes[0]
    print(
        f"\nListings uncached (CATALOGUE_CACHE=false), wrk -t2 -c{CONNECTIONS} "
        f"-d{seconds}s with Accept-Encoding: gzip, gunicorn -w{workers} on 127.0.0.1; "
        f"medians of {rounds} rounds, each run right after the bare view\n"
    )
    print(
        "| page | products | req/s | p50 ms | p95 ms | errors | ratio to bare "
        f"| cost vs {smallest:,} | server CPU ms/request |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
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
                f"{ratio:.3f} | {growth} | {med['cpu_ms']:.1f} |"
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
        servers = {}
        for index, size in enumerate(sizes):
            port = args.port + index
            env = bench_env(databases[size], CATALOGUE_CACHE="false")
            base = stack.enter_context(gunicorn(env, port, workers=args.workers))
            servers[size] = (base, port, databases[size])
        results = measure(servers, urls, args.seconds, args.rounds)
    report(results, sizes, args.seconds, args.rounds, args.workers)


def expiry(database: str, port: int, seconds: int, rounds: int) -> None:
    """
    Cached pages that expire every 2 s: the search page driven with expired
    entries served while one request renders them again (the default), and
    with none served (SHOP_CACHE_STALE_SECONDS=0: every request that finds
    the entry expired renders it), in paired rounds.
    """
    url = "/search/?q=shirt"
    results = {"stale served": [], "none served": []}
    for _ in range(rounds):
        for name, stale in (("stale served", "60"), ("none served", "0")):
            env = bench_env(
                database, SHOP_CACHE_SECONDS="2", SHOP_CACHE_STALE_SECONDS=stale
            )
            with gunicorn(env, port) as base:
                wrk(base + url, seconds=1, connections=CONNECTIONS, script=GZIP)
                results[name].append(
                    wrk(
                        base + url,
                        seconds=seconds,
                        connections=CONNECTIONS,
                        script=GZIP,
                    )
                )
    print(
        f"\nSearch page cached for 2 s, {database}, wrk -t2 -c{CONNECTIONS} "
        f"-d{seconds}s, gunicorn -w3; medians of {rounds} rounds\n"
    )
    print("| expired entries | req/s | p50 ms | p95 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"| {name} | {med['rps']:.0f} | {med['p50']:.1f} | {med['p95']:.1f} | "
            f"{sum(r['errors'] for r in runs)} |"
        )


if __name__ == "__main__":
    # .venv/bin/python -m bench.uncached expiry --database shop_bench_100000
    import argparse

    parser = argparse.ArgumentParser(description="Expiring cached pages.")
    parser.add_argument("mode", choices=["expiry"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    expiry(args.database, args.port, args.seconds, args.rounds)
