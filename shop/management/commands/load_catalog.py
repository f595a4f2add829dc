"""
Load a product catalogue: the project's CSV or JSON Lines, or a WooCommerce or
Shopify product export. Every row is checked before anything is written, and
products are upserted by SKU, so loading the same file twice changes nothing.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.catalogue_import import FORMATS, CatalogFileError, LoadResult, catalog_load

MAX_ERRORS_SHOWN = 200


class Command(BaseCommand):
    help = "Validate and load a product catalogue file (upsert by SKU)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV or JSON Lines file to load.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="Force the format instead of detecting it from the header.",
        )
        parser.add_argument(
            "--encoding",
            default="utf-8",
            help="The file's text encoding (default utf-8; a BOM is accepted).",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Write the valid rows and list the invalid ones, instead of writing nothing.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change without writing anything.",
        )
        parser.add_argument(
            "--no-fetch-images",
            action="store_true",
            help="Keep image URLs as they are instead of copying the images into "
            "media storage.",
        )
        parser.add_argument(
            "--image-timeout",
            type=float,
            default=10.0,
            help="Seconds to fetch one image before keeping only its URL (default 10).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(
        self,
        *args,
        path,
        format,
        encoding,
        skip_invalid,
        dry_run,
        no_fetch_images,
        image_timeout,
        no_progress,
        **options,
    ):
        verbosity = options["verbosity"]
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        show_bar = self._bar_wanted(
            file=file, verbosity=verbosity, no_progress=no_progress
        )
        try:
            result = catalog_load(
                path=file,
                format=format,
                encoding=encoding,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                fetch_images=not no_fetch_images,
                image_timeout=image_timeout,
                progress=self._bar if show_bar else None,
            )
        except CatalogFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        finally:
            if show_bar:
                self.stderr.write("")
        self._errors_report(path=path, result=result, skip_invalid=skip_invalid)
        if verbosity >= 1:
            self._summary_write(result=result, dry_run=dry_run)

    def _bar_wanted(self, *, file: Path, verbosity: int, no_progress: bool) -> bool:
        """A bar only for a large file, and only where someone watches."""
        return (
            not no_progress
            and verbosity >= 1
            and file.stat().st_size > 1 << 20
            and (self.stderr.isatty() or verbosity >= 2)
        )

    def _errors_report(
        self, *, path: str, result: LoadResult, skip_invalid: bool
    ) -> None:
        """List the invalid rows; raise unless they were to be skipped."""
        if result.error_count:
            shown = result.errors[:MAX_ERRORS_SHOWN]
            for error in shown:
                self.stderr.write(f"{path}: {error}")
            if result.error_count > len(shown):
                self.stderr.write(
                    f"... and {result.error_count - len(shown)} more errors"
                )
            if not skip_invalid:
                raise CommandError(
                    f"{result.error_count} errors in {result.skipped_rows} rows; "
                    "nothing was written (fix them, or pass --skip-invalid)"
                )
        for error in result.image_errors[:MAX_ERRORS_SHOWN]:
            self.stderr.write(f"{path}: image kept as a URL only: {error}")

    def _summary_write(self, *, result: LoadResult, dry_run: bool) -> None:
        summary = (
            f"{result.format}: {result.rows} variant rows read. Products: "
            f"{result.products_created} created, {result.products_updated} updated, "
            f"{result.products_unchanged} unchanged. Variants: {result.variants_created} "
            f"created, {result.variants_updated} updated, {result.variants_unchanged} "
            f"unchanged. Categories created: {result.categories_created}. Image sets "
            f"replaced: {result.images_replaced}; images copied: "
            f"{result.images_fetched}."
        )
        self.stdout.write(summary)
        if result.error_count:
            self.stdout.write(
                self.style.WARNING(f"{result.skipped_rows} invalid rows were skipped.")
            )
        if not result.changed:
            self.stdout.write(
                self.style.SUCCESS(
                    "Nothing to change: the catalogue already matches the file."
                )
            )
        elif dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    "Dry run: the changes above would be written; nothing was."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("Changes were written."))

    def _bar(self, done: int, total: int) -> None:
        width = 40
        filled = int(width * done / total) if total else width
        percent = 100 * done / total if total else 100
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}%")
        sys.stderr.flush()
