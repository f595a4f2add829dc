"""
Build the demo store so a fresh checkout has something to browse: the
catalogue, customers, and half a year of simulated visits that made its
orders and carts (shop), their clickstream (analytics) and the dashboards
built from them. Every dashboard preset, "Last 90 days" included, has a
recorded previous period. It lives in adminpanel, the one app that may use
all three.

Idempotent: a second run adds nothing. `--products` scales the catalogue up
to 100,000 products for benchmarks.
"""

import sys
import time
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from adminpanel.jobs import job_run_now
from adminpanel.models import JobRun
from adminpanel.pipeline import analytics_rollup_run
from analytics.demo import clickstream_generate
from shop.demo import demo_catalogue_build, demo_visits_build

# Twice the longest preset (90 days), and the day it started.
DEMO_DAYS = 182
VISITS_PER_DAY = 60
# About how many events a demo visit records, to turn --events into visits.
EVENTS_PER_VISIT = 9


class Command(BaseCommand):
    help = "Create the demo catalogue, customers, orders and clickstream."

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            type=int,
            default=240,
            help="Number of products (default 240).",
        )
        parser.add_argument(
            "--orders",
            type=int,
            default=600,
            help="Number of past orders, each from a simulated visit (default 600).",
        )
        parser.add_argument(
            "--events",
            type=int,
            default=None,
            help=(
                f"About how many clickstream events the simulated visits record "
                f"(default: {VISITS_PER_DAY} visits a day for {DEMO_DAYS} days)."
            ),
        )
        parser.add_argument(
            "--no-events",
            action="store_true",
            help="Make the visits' orders and carts, but record no clickstream.",
        )
        parser.add_argument("--seed", type=int, default=7, help="Random seed.")

    def handle(self, *args, **options):
        if not 1 <= options["products"] <= 100_000:
            raise CommandError("--products must be between 1 and 100000.")
        if options["orders"] < 0:
            raise CommandError("--orders cannot be negative.")
        started = time.monotonic()
        verbose = options["verbosity"] > 0
        progress = self._progress if verbose and sys.stdout.isatty() else self._quiet

        made = demo_catalogue_build(
            products=options["products"], seed=options["seed"], progress=progress
        )
        self._say(f"Products: {made} new.")
        events = options["events"]
        visits = demo_visits_build(
            visits=(
                DEMO_DAYS * VISITS_PER_DAY
                if events is None
                else max(events // EVENTS_PER_VISIT, 1)
            ),
            orders=options["orders"],
            days=DEMO_DAYS,
            seed=options["seed"],
            progress=progress,
        )
        self._say(f"Visits: {len(visits)}, making {options['orders']} orders.")
        if not options["no_events"]:
            self._clickstream(visits, options["seed"])
        self._dashboards()
        self._say(
            f"Demo store ready in {time.monotonic() - started:.1f}s.", success=True
        )

    def _clickstream(self, visits, seed):
        made = clickstream_generate(
            visits=visits,
            seed=seed,
            stdout=self.stdout if self.verbosity > 0 else None,
        )
        self._say(f"Clickstream: {made} new events.")
        now = datetime.now(UTC)
        analytics_rollup_run(
            since=now - timedelta(days=DEMO_DAYS + 1), until=now + timedelta(hours=1)
        )

    def _dashboards(self):
        """Run the dashboards' jobs once, so they tell a story straight away."""
        self._say("Dashboards: building rollups and customer statistics...")
        for name in ("analytics_rollup", "refresh_customer_stats"):
            run = job_run_now(name=name)
            if run is not None and run.status == JobRun.Status.ERROR:
                raise CommandError(f"The {name} job failed: {run.error}")
        self._say("Dashboards: rollups and customer statistics built.")

    def _say(self, message, success=False):
        if self.verbosity > 0:
            style = self.style.SUCCESS if success else (lambda text: text)
            self.stdout.write(style(message))

    def execute(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)

    def _progress(self, label, done, total):
        width = 30
        filled = int(width * done / max(total, 1))
        self.stdout.write(
            f"\r{label:>9} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            ending="\n" if done >= total else "",
        )
        self.stdout.flush()

    def _quiet(self, label, done, total):
        if done >= total and self.verbosity > 1:
            self.stdout.write(f"{label}: {done}/{total}")
