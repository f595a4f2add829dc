"""
Rebuild session summaries and hourly rollups from raw events, then the
dashboards' daily rollups (as the periodic `analytics_rollup` job does).

Incremental and idempotent: each run rebuilds from the last rolled hour
minus ANALYTICS_ROLLUP_LOOKBACK_HOURS (to absorb late events) up to now, so
running it again for the same hours gives the same numbers.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import rollup_window, rollups_build
from analytics.sessions import sessions_build


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
        if since:
            start = _date(since)
            end = _date(until) if until else datetime.now(UTC) + timedelta(hours=1)
        else:
            window = rollup_window(
                lookback_hours=settings.ANALYTICS_ROLLUP_LOOKBACK_HOURS
                if lookback is None
                else lookback
            )
            if window is None:
                if verbosity:
                    self.stdout.write("No events to roll up.")
                return
            start, end = window
        if end <= start:
            raise CommandError("--until must be after --since")
        if dry_run:
            self.stdout.write(
                f"Would rebuild {start:%Y-%m-%d %H:00} to {end:%Y-%m-%d %H:00} UTC."
            )
            return
        # The dashboards read daily rollups built from these: refreshed as the
        # periodic job does, so a re-roll shows on them at once.
        from adminpanel.cache import analytics_version_bump
        from adminpanel.rollups import daily_rollups_refresh

        sessions = sessions_build(since=start, until=end)
        cells = rollups_build(since=start, until=end)
        daily = daily_rollups_refresh()
        analytics_version_bump()
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Rolled up {start:%Y-%m-%d %H:00} to {end:%Y-%m-%d %H:00} UTC: "
                    f"{sessions} sessions, {cells} rollup cells; dashboards' daily "
                    f"rollups rebuilt from {daily['sessions_from']}."
                )
            )
