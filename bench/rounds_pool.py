"""
Pool the paired middleware rounds of several bench/clickstream.py runs.

    for i in 1 2 3; do
        BENCH_PARTS=middleware BENCH_DURATION=5s BENCH_ROUNDS=16 \
        .venv/bin/python bench/clickstream.py | tee /tmp/clickstream-$i.txt
    done
    .venv/bin/python bench/rounds_pool.py /tmp/clickstream-*.txt

For each page: the median of every paired round's throughput ratio and
added p50, with a 95 % bootstrap interval for the ratio's median (5,000
resamples of the rounds).
"""

import random
import re
import statistics
import sys

ROUNDS = re.compile(r"^middleware rounds: ratio ([\d., ]+); added p50 ms ([-+\d., ]+)$")
PAGE = re.compile(r"^middleware, (\w+ page): tracking on")


def rounds_read(paths):
    """{page: ([ratios], [added p50 ms])} from the runs' output."""
    pages = {}
    for path in paths:
        with open(path) as f:
            lines = f.read().splitlines()
        # Each page prints its rounds, then its summary naming the page.
        pending = None
        for line in lines:
            if match := ROUNDS.match(line):
                pending = [
                    [float(v) for v in match.group(n).split(", ")] for n in (1, 2)
                ]
            elif (match := PAGE.match(line)) and pending:
                ratios, added = pages.setdefault(match.group(1), ([], []))
                ratios += pending[0]
                added += pending[1]
                pending = None
    return pages


def main():
    pages = rounds_read(sys.argv[1:])
    if not pages:
        raise SystemExit("no middleware rounds in those files")
    rng = random.Random(7)
    for page, (ratios, added) in pages.items():
        medians = sorted(
            statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(5000)
        )
        print(
            f"{page}: {len(ratios)} paired rounds, ratio {statistics.median(ratios):.3f} "
            f"(95 % interval {medians[125]:.3f} - {medians[4874]:.3f}), "
            f"added p50 {statistics.median(added):+.2f} ms"
        )


if __name__ == "__main__":
    main()
