"""
Run the periodic jobs that are due (settings.PERIODIC_JOBS), once. Cron or
EventBridge Scheduler calls it every minute; --loop keeps it going on a
single machine. Overlapping runs never run the same job twice.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from adminpanel.jobs import (
    UnknownJob,
    job_run_now,
    jobs_reap,
    jobs_run_due,
    jobs_state,
)


class Command(BaseCommand):
    help = "Run the periodic jobs that are due."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep running, checking every --every seconds.",
        )
        parser.add_argument(
            "--every",
            type=float,
            default=60,
            help="Seconds between checks with --loop (default 60).",
        )
        parser.add_argument(
            "--iterations",
            type=int,
            default=0,
            help="With --loop, stop after this many checks (0: never).",
        )
        parser.add_argument("--job", help="Run this one job now, due or not.")
        parser.add_argument(
            "--list",
            action="store_true",
            dest="list_jobs",
            help="List each job, its schedule, whether it is on and its last run; "
            "run nothing.",
        )

    def handle(self, *args, loop, every, iterations, job, list_jobs, **options):
        if list_jobs:
            self._list()
            return
        if job:
            try:
                run = job_run_now(name=job)
            except UnknownJob as exc:
                raise CommandError(str(exc)) from None
            if run is None:
                self.stdout.write(f"{job} is already running elsewhere; skipped.")
            else:
                self._report([run], options["verbosity"])
            return
        count = 0
        while True:
            runs = jobs_run_due()
            self._report(runs, options["verbosity"])
            count += 1
            if not loop:
                if any(r.status == "error" for r in runs):
                    raise CommandError("a job failed; see its JobRun for the error")
                break
            if iterations and count >= iterations:
                break
            time.sleep(every)

    def _list(self):
        # A run left "running" by a dead process shows as failed, not running.
        jobs_reap()
        rows = [("job", "every", "enabled", "last run")]
        for state in jobs_state():
            switch = "on" if state["enabled"] else "off"
            if state["enabled"] != state["default_enabled"]:
                switch += " (switched)"
            last = "never"
            if state["last_runs"]:
                run = state["last_runs"][0]
                last = f"{run['started_at']:%Y-%m-%d %H:%M:%S} {run['status']}"
                if run["duration_seconds"] is not None:
                    last += f" in {run['duration_seconds']:.1f}s"
                if run["error"]:
                    last += f": {run['error'].splitlines()[0][:80]}"
            rows.append((state["name"], f"{state['interval']}s", switch, last))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ]
            self.stdout.write("  ".join([*cells, row[3]]))

    def _report(self, runs, verbosity):
        failed = [r for r in runs if r.status == "error"]
        if verbosity >= 1:
            for r in runs:
                line = f"{r.name}: {r.status} in {r.duration_seconds:.2f}s {r.counts}"
                style = self.style.ERROR if r.status == "error" else self.style.SUCCESS
                self.stdout.write(style(line + (f" {r.error}" if r.error else "")))
            if not runs and verbosity >= 2:
                self.stdout.write("No job is due.")
        if failed:
            self.stderr.write(
                f"{len(failed)} job(s) failed: {', '.join(r.name for r in failed)}"
            )
