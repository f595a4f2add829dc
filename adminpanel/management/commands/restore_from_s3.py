"""
Rebuild an empty database from the S3 archive: reference tables in full,
time-based tables for a window of days around today. Every file's MD5 is
checked before anything is written, and the whole restore is one
transaction. A database that already holds data is refused; --add widens an
earlier restore of the same archive.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from adminpanel.restore import RestoreError, restore_run


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date like 2024-05-01") from None


class Command(BaseCommand):
    help = "Restore the database from the S3 archive (windowed, MD5-verified)."

    def add_arguments(self, parser):
        parser.add_argument("--bucket", help="S3 bucket (default AWS_ARCHIVE_BUCKET).")
        parser.add_argument(
            "--prefix", help="Key prefix in the bucket (default AWS_ARCHIVE_PREFIX)."
        )
        parser.add_argument(
            "--tables", help="Comma-separated tables to restore (default all)."
        )
        parser.add_argument(
            "--days-before",
            type=int,
            default=1,
            help="Days before today to load (default 1).",
        )
        parser.add_argument(
            "--days-after",
            type=int,
            default=1,
            help="Days after today to load (default 1).",
        )
        parser.add_argument(
            "--since", help="First day to load, YYYY-MM-DD (overrides --days-before)."
        )
        parser.add_argument(
            "--until", help="Last day to load, YYYY-MM-DD (overrides --days-after)."
        )
        parser.add_argument(
            "--add",
            action="store_true",
            help="Add to an earlier restore of this same archive (a wider window); "
            "rows already present must equal the archived ones.",
        )

    def handle(
        self,
        *args,
        bucket,
        prefix,
        tables,
        days_before,
        days_after,
        since,
        until,
        add,
        **options,
    ):
        if days_before < 0 or days_after < 0:
            raise CommandError("--days-before and --days-after cannot be negative")
        names = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
        try:
            result = restore_run(
                bucket=bucket,
                prefix=prefix,
                tables=names,
                days_before=days_before,
                days_after=days_after,
                since=_date(since) if since else None,
                until=_date(until) if until else None,
                add=add,
                progress=(lambda m: self.stdout.write(m))
                if options["verbosity"] >= 1
                else None,
            )
        except RestoreError as exc:
            raise CommandError(str(exc)) from None
        failed = [t for t in result.tables if t.status == "error"]
        if failed:
            raise CommandError("; ".join(f"{t.name}: {t.error}" for t in failed))
        if options["verbosity"] >= 1:
            added = sum(t.rows_added for t in result.tables)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Restored {added} new rows (window {result.since} to {result.until})."
                    if added
                    else "Nothing to add: the database already holds the archive's rows."
                )
            )
