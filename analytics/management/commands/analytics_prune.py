"""
Delete raw events older than a cut-off, in batches.

Days not yet archived (no objects under the S3 clickstream partition
`dt=YYYY-MM-DD/`, see ANALYTICS_S3_BUCKET) are refused unless --archive
writes them first or --force says to delete anyway.
"""

import re
from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from analytics.models import Event
from analytics.services import events_archive_day, events_day_archived

AGE = re.compile(r"^(\d+)d$")


class Command(BaseCommand):
    help = "Delete raw clickstream events older than --older-than (e.g. 90d)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="Age like 90d.")
        parser.add_argument(
            "--batch-size", type=int, default=10000, help="Rows per DELETE."
        )
        parser.add_argument(
            "--archive",
            action="store_true",
            help="Archive unarchived days to S3 first.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Delete even days not archived."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count; delete nothing."
        )

    def handle(
        self, *args, older_than, batch_size, archive, force, dry_run, verbosity, **o
    ):
        match = AGE.match(older_than.strip())
        if not match:
            raise CommandError(f"--older-than must look like 90d, not {older_than!r}")
        if batch_size < 1:
            raise CommandError("--batch-size must be positive")
        cutoff_day = datetime.now(UTC).date() - timedelta(days=int(match.group(1)))
        cutoff = datetime.combine(cutoff_day, time.min, tzinfo=UTC)
        first = (
            Event.objects.order_by("occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        if first is None or first >= cutoff:
            if verbosity:
                self.stdout.write("Nothing to prune.")
            return
        days, day = [], first.astimezone(UTC).date()
        while day < cutoff_day:
            days.append(day)
            day += timedelta(days=1)
        refused = []
        for day in days:
            if force or events_day_archived(day=day):
                continue
            if archive and not dry_run:
                events_archive_day(day=day)
                continue
            refused.append(day)
        if refused:
            raise CommandError(
                f"{len(refused)} day(s) are not archived, e.g. {refused[0]:%Y-%m-%d}; "
                "run with --archive, or --force to delete them anyway."
            )
        total = 0
        for day in days:
            total += self._prune_day(day, batch_size=batch_size, dry_run=dry_run)
        if verbosity:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(
                self.style.SUCCESS(f"{verb} {total} events before {cutoff_day}.")
            )

    def _prune_day(self, day: date, *, batch_size: int, dry_run: bool) -> int:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        rows = Event.objects.filter(
            occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1)
        )
        if dry_run:
            return rows.count()
        total = 0
        while True:
            ids = list(rows.order_by().values_list("id", flat=True)[:batch_size])
            if not ids:
                return total
            total += Event.objects.filter(id__in=ids).delete()[0]
