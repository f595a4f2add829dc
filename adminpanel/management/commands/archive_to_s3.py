"""
Archive the shop's tables to S3 as JSON Lines that Athena reads (CSV with
``--excel``), one file per day for time-based tables. Files whose MD5 matches archive_info.json are not uploaded again, so
a run with nothing changed makes no PUT request at all.
"""

from django.core.management.base import BaseCommand, CommandError

from adminpanel.archive import TABLES, archive_run


class Command(BaseCommand):
    help = "Archive tables to S3 as JSON Lines with MD5 checksums (only changed files)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--tables",
            help=f"Comma-separated tables to archive (default all: {', '.join(t.name for t in TABLES)}).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Upload every file, changed or not."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be uploaded; upload nothing.",
        )
        parser.add_argument("--bucket", help="S3 bucket (default AWS_ARCHIVE_BUCKET).")
        parser.add_argument(
            "--prefix", help="Key prefix in the bucket (default AWS_ARCHIVE_PREFIX)."
        )
        parser.add_argument(
            "--excel",
            action="store_true",
            help="Write CSV for Excel instead (a BOM, formula cells neutralised); Athena does not read it.",
        )

    def handle(self, *args, tables, force, dry_run, bucket, prefix, excel, **options):
        verbosity = options["verbosity"]
        names = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
        try:
            result = archive_run(
                bucket=bucket,
                prefix=prefix,
                tables=names,
                force=force,
                dry_run=dry_run,
                excel=excel,
                progress=(lambda m: self.stdout.write(m)) if verbosity >= 1 else None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        failed = [t for t in result.tables if t.status != "ok"]
        if failed:
            raise CommandError(
                "archive failed for "
                + "; ".join(f"{t.name} ({t.error})" for t in failed)
                + " — the other tables were archived"
            )
        if verbosity >= 1:
            uploaded = sum(t.files_uploaded for t in result.tables)
            if dry_run:
                msg = f"Dry run: {uploaded} files would be uploaded; nothing was."
            elif uploaded or result.info_written:
                msg = f"Archived {result.rows} rows to s3://{result.bucket}/{result.prefix}: {uploaded} files uploaded."
            else:
                msg = "Nothing changed since the last archive; nothing was uploaded."
            self.stdout.write(self.style.SUCCESS(msg))
