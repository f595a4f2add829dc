"""
Clickstream benchmarks (never part of the test run).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop_analytics_bench \
    REDIS_URL=redis://127.0.0.1:6379/3 DJANGO_SECRET_KEY=bench \
    .venv/bin/python bench/clickstream.py

1. Middleware overhead: one gunicorn on 127.0.0.1, the same page with
   tracking on (consent given) and off (consent declined, with
   ANALYTICS_PRIVATE_MODE=off), alternating wrk rounds in the same run; the
   CPU each request costs is also counted from /proc, split into the
   workers' request threads, their analytics flushers and PostgreSQL.
2. Ingest into PostgreSQL: DatabaseSink (COPY, 5,000 events a batch) vs
   one INSERT per event, in rounds; medians are reported.
3. /analytics/collect: events per second accepted end to end (wrk, 50/batch).

4. The flusher's CPU to prepare a page view for the sinks, for one visitor
   (as part 1 replays) and for a visitor each, and to format its COPY line
   (BENCH_PARTS=prepare only).

BENCH_PARTS picks the parts (ingest,middleware,collect,prepare), BENCH_PAGES the
middleware's pages (cached,rendered), BENCH_ROUNDS and BENCH_DURATION the
rounds.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
PORT = int(os.environ.get("BENCH_PORT", "8121"))
DURATION = os.environ.get("BENCH_DURATION", "8s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SETTLE = float(os.environ.get("BENCH_SETTLE", "2.5"))  # > ANALYTICS_FLUSH_INTERVAL


def wrk(url, *, headers=(), script=None, threads=2, conns=8):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return (
        rps,
        float(p50.group(1)) * scale,
        int(non2xx.group(1)) if non2xx else 0,
        requests,
    )


def serve():
    env = {
        **os.environ,
        "ANALYTICS_PRIVATE_MODE": "off",
        "ANALYTICS_COLLECT_RATE": "1000000000",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            "2",
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return proc
        except Exception:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def middleware_overhead(workers, path="/", cookie=""):
    url = f"http://127.0.0.1:{PORT}{path}"
    # The same page for both: a consent cookie either way hides the banner
    # (which would otherwise add a CSRF token to one side only). "on" is a
    # returning visitor in an open session; "off" declined, and with
    # ANALYTICS_PRIVATE_MODE=off nothing is recorded for them.
    ua = "User-Agent: Mozilla/5.0 Chrome/130"

    def on():
        # A browser keeps the session cookie the server rewrites (at most
        # once a minute); wrk replays one header, so the cookie is stamped
        # afresh for each run (shorter than a minute) as a browser's would be.
        # The cookie holds what the server writes (SessionState.dump()).
        session = (
            f"s=benchsession0001&t={int(time.time())}&ch=direct&src=&med=&cmp=&ref="
        )
        return [
            f"Cookie: {cookie}nw_consent=granted; nw_vid=benchvisitor0001; "
            f"nw_sess={session}",
            ua,
        ]

    def off():
        return [f"Cookie: {cookie}nw_consent=denied", ua]

    wrk(url, headers=on())  # warm caches and connections
    wrk(url, headers=off())
    results = {"on": [], "off": []}
    cpu = {"on": [], "off": []}
    # Interleaved rounds, alternating which goes first, so that load from
    # elsewhere on the machine hits both sides alike; the ratio and the
    # added p50 are taken per round (neighbours in time), then the median.
    # After each round the flusher gets SETTLE seconds to write what that
    # round buffered, so the CPU it costs is counted with its own round.
    for i in range(ROUNDS):
        order = (("off", off), ("on", on)) if i % 2 == 0 else (("on", on), ("off", off))
        for mode, headers in order:
            before = cpu_snapshot(workers)
            result = wrk(url, headers=headers())
            time.sleep(SETTLE)
            after = cpu_snapshot(workers)
            results[mode].append(result)
            cpu[mode].append({k: (after[k] - before[k]) / result[3] for k in after})
        print(
            f"  round {i + 1}/{ROUNDS}: ratio "
            f"{results['on'][-1][0] / results['off'][-1][0]:.3f}",
            file=sys.stderr,
            flush=True,
        )
    ratios = [a[0] / b[0] for a, b in zip(results["on"], results["off"], strict=True)]
    added = [a[1] - b[1] for a, b in zip(results["on"], results["off"], strict=True)]
    print(
        "middleware rounds: ratio "
        + ", ".join(f"{r:.3f}" for r in ratios)
        + "; added p50 ms "
        + ", ".join(f"{d:+.2f}" for d in added)
    )
    for mode in ("off", "on"):
        print(
            f"  CPU per request, tracking {mode} (median): "
            + ", ".join(
                f"{k} {statistics.median(r[k] for r in cpu[mode]) * 1e6:.0f} us"
                for k in cpu[mode][0]
            )
        )
    return (
        statistics.median(r[0] for r in results["on"]),
        statistics.median(r[0] for r in results["off"]),
        statistics.median(r[1] for r in results["on"]),
        statistics.median(r[1] for r in results["off"]),
        statistics.median(ratios),
        statistics.median(added),
    )


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stat_path: str) -> float:
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def cpu_snapshot(workers) -> dict:
    """
    CPU seconds used so far by the web workers' request threads, their
    analytics flushers, PostgreSQL (every process) and the whole machine.
    """
    out = {"request threads": 0.0, "flushers": 0.0, "postgres": 0.0}
    for pid in workers:
        for tid in os.listdir(f"/proc/{pid}/task"):
            key = "request threads" if tid == str(pid) else "flushers"
            out[key] += _cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            out["postgres"] += _cpu_seconds(f"/proc/{pid}/stat")
        except OSError:  # gone meanwhile
            continue
    with open("/proc/stat") as f:
        user, nice, system, _, _, irq, softirq = map(int, f.readline().split()[1:8])
    out["machine"] = (user + nice + system + irq + softirq) / TICK
    return out


def collect_rate():
    body = json.dumps(
        {
            "events": [
                {
                    "event_id": str(uuid.uuid4()),
                    "name": "scroll",
                    "ts": int(time.time() * 1000),
                    "path": "/",
                    "properties": {"depth": 50},
                }
                for _ in range(50)
            ]
        }
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = {json.dumps(body)}\n")
        f.write('wrk.headers["Content-Type"] = "text/plain"\n')
        f.write(f'wrk.headers["Origin"] = "http://127.0.0.1:{PORT}"\n')
        script = f.name
    rps, p50, errors, _ = wrk(
        f"http://127.0.0.1:{PORT}/analytics/collect", script=script
    )
    os.unlink(script)
    return rps * 50, p50, errors


def ingest(n=200_000, naive_n=2_000, batch_size=5_000):
    import django

    django.setup()
    from django.db import connection

    from analytics.models import Event
    from analytics.services import TrackedEvent, events_prepare
    from analytics.sinks import DatabaseSink

    assert connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL"

    def batch(k):
        now = datetime.now(UTC)
        return events_prepare(
            [
                TrackedEvent(
                    "page_view",
                    {
                        "event_id": uuid.uuid4(),
                        "occurred_at": now,
                        "visitor_id": "bench",
                        "session_id": f"bench-{i % 500}",
                        "path": f"/products/p-{i % 300}/",
                        "route": "shop:product",
                        "device": "desktop",
                        "browser": "Chrome",
                        "os": "Windows",
                        "status_code": 200,
                        "duration_ms": 12,
                        "properties": {"i": i},
                    },
                )
                for i in range(k)
            ]
        )

    def tidy():
        # Remove this run's rows and their dead index entries, so every round
        # (and every run) starts from the same table, not a bloated one.
        Event.objects.filter(visitor_id="bench").delete()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE analytics_event")

    tidy()
    sink = DatabaseSink()
    naive_sql = None
    copy_rates, naive_rates = [], []
    # Rounds, each COPY then naive, so machine load hits both alike.
    for _ in range(ROUNDS):
        events = batch(n)
        started = time.perf_counter()
        for i in range(0, n, batch_size):
            sink.write(events[i : i + batch_size])
        copy_rates.append(n / (time.perf_counter() - started))
        naive = batch(naive_n)
        if naive_sql is None:
            fields = {f.attname for f in Event._meta.fields}
            cols = [c for c in naive[0] if c in fields]
            naive_sql = (
                f"INSERT INTO analytics_event ({', '.join(cols)}) "
                f"VALUES ({', '.join(['%s'] * len(cols))})"
            )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for e in naive:
                cursor.execute(
                    naive_sql,
                    [json.dumps(e[c]) if c == "properties" else e[c] for c in cols],
                )
        naive_rates.append(naive_n / (time.perf_counter() - started))
        tidy()
    copy_rate = statistics.median(copy_rates)
    naive_rate = statistics.median(naive_rates)
    print(
        "ingest rounds: COPY "
        + ", ".join(f"{r:,.0f}" for r in copy_rates)
        + "; naive "
        + ", ".join(f"{r:,.0f}" for r in naive_rates)
    )
    return copy_rate, naive_rate


def prepare(n=5_000):
    """
    The flusher's CPU a page view (services.events_prepare): page views as
    the middleware buffers them (raw cookie, headers and time), from one
    visitor, as the middleware part replays, and from a visitor and session
    each, as a busy shop's batch mostly holds; then formatting the COPY
    lines of the one visitor's batch (DatabaseSink, without the database).
    """
    import django

    django.setup()
    from analytics.context import RequestFacts
    from analytics.services import TrackedEvent, events_prepare
    from analytics.sinks import _copy_lines

    agent = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
    )

    def events(visitors):
        now = time.time()
        return [
            TrackedEvent(
                "page_view",
                {
                    "visitor_id": f"visitor{i % visitors:09d}",
                    "user_id": None,
                    "path": f"/products/p-{i % 300}/",
                    "route": "shop:product",
                    "status_code": 200,
                    "duration_ms": 3,
                },
                now + i / 1000,
                RequestFacts(
                    agent,
                    "",
                    "en-GB,en;q=0.9",
                    "GB",
                    session_cookie=f"s=session{i % visitors:09d}&t={int(now)}"
                    "&ch=direct&src=&med=&cmp=&ref=",
                ),
            )
            for i in range(n)
        ]

    costs = {}
    formatting = []
    for label, visitors in (("one visitor", 1), ("a visitor each", n)):
        runs = []
        for _ in range(ROUNDS):
            batch = events(visitors)
            started = time.thread_time()
            prepared = events_prepare(batch)
            runs.append((time.thread_time() - started) / n * 1e6)
            if visitors == 1:
                started = time.thread_time()
                "".join(_copy_lines(prepared))
                formatting.append((time.thread_time() - started) / n * 1e6)
        costs[label] = statistics.median(runs)
    costs["COPY line"] = statistics.median(formatting)
    return costs


def main():
    parts = os.environ.get("BENCH_PARTS", "ingest,middleware,collect").split(",")
    if "prepare" in parts:
        costs = prepare()
        print(
            f"flusher, preparing a page view (median of {ROUNDS}): "
            + ", ".join(f"{label} {cost:.1f} us" for label, cost in costs.items())
        )
    if "ingest" in parts:
        copy_rate, naive_rate = ingest()
        print(
            f"ingest (median of {ROUNDS}): COPY {copy_rate:,.0f} events/s, "
            f"one INSERT per event {naive_rate:,.0f} events/s, "
            f"ratio {copy_rate / naive_rate:.1f}x"
        )
    if "middleware" not in parts and "collect" not in parts:
        return
    proc = serve()
    workers = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    try:
        # Two pages: the home page as an anonymous visitor gets it (from the
        # whole-page cache, ~0.3 ms of work), and the same page rendered for
        # a visitor with a Django session (a cart, say), as most shop pages
        # are for shoppers who have started to buy.
        cases = {
            "cached": ("cached page", "/", ""),
            "rendered": ("rendered page", "/", "sessionid=benchnosuchsession; "),
        }
        pages = os.environ.get("BENCH_PAGES", "cached,rendered").split(",")
        for label, path, cookie in (
            [cases[page] for page in pages] if "middleware" in parts else ()
        ):
            rps_on, rps_off, p50_on, p50_off, ratio, added = middleware_overhead(
                workers, path, cookie
            )
            print(
                f"middleware, {label}: tracking on {rps_on:,.0f} req/s p50 {p50_on:.2f} ms; "
                f"off {rps_off:,.0f} req/s p50 {p50_off:.2f} ms"
            )
            print(
                f"middleware, {label} (median of {ROUNDS} paired rounds): throughput "
                f"ratio {ratio:.3f}, added p50 {added:+.2f} ms"
            )
        if "collect" in parts:
            rate, p50, errors = collect_rate()
            print(
                f"collect: {rate:,.0f} events/s accepted "
                f"(batches of 50, p50 {p50:.2f} ms, non-2xx {errors})"
            )
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
