"""
Rebuild session summaries and hourly rollups from raw events, then the
dashboards' daily rollups (as the periodic `analytics_rollup` job does).

Incremental and idempotent: each run rebuilds from the last rolled hour
minus ANALYTICS_ROLLUP_LOOKBACK_HOURS (to absorb late events) up to now, so
running it again for the same hours gives the same numbers.
"""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from adminpanel.pipeline import analytics_rollup_run, analytics_rollup_window


def _date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"not an ISO date or datetime: {value!r}") from None


class Command(BaseCommand):
    help = "Rebuild session summaries and hourly rollups (incremental, idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--lookback",
            type=int,
            default=None,
            help="Hours before the last rolled hour to rebuild (default: setting).",
        )
        parser.add_argument("--since", help="Rebuild from this UTC date/time (ISO).")
        parser.add_argument("--until", help="Rebuild up to this UTC date/time (ISO).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show the window; write nothing."
        )

    def handle(self, *args, lookback, since, until, dry_run, verbosity, **options):
        if lookback is not None and lookback < 0:
            raise CommandError("--lookback must be zero or more hours")
        if until and not since:
            raise CommandError("--until needs --since")
        start = _date(since) if since else None
        end = _date(until) if until else None
        if start and end and end <= start:
            raise CommandError("--until must be after --since")
        window = analytics_rollup_window(
            since=start, until=end, lookback_hours=lookback
        )
        if dry_run:
            if window is None:
                self.stdout.write("No events to roll up.")
            else:
                self.stdout.write(
                    f"Would rebuild {window[0]:%Y-%m-%d %H:00} to "
                    f"{window[1]:%Y-%m-%d %H:00} UTC."
                )
            return
        run = analytics_rollup_run(since=start, until=end, lookback_hours=lookback)
        if not verbosity:
            return
        if run.since is None:
            self.stdout.write("No events to roll up.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Rolled up {run.since:%Y-%m-%d %H:00} to "
                    f"{run.until:%Y-%m-%d %H:00} UTC: {run.sessions} sessions, "
                    f"{run.cells} rollup cells."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Dashboards' daily rollups rebuilt from {run.daily['sessions_from']}."
            )
        )
