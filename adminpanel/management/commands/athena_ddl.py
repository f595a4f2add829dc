"""
Print the Glue/Athena DDL for the S3 archive and the clickstream, derived
from the models so that queries and tables never drift apart.
"""

from django.core.management.base import BaseCommand

from adminpanel.athena import athena_ddl


class Command(BaseCommand):
    help = "Print CREATE EXTERNAL TABLE statements for the archive and clickstream."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bucket", help="Archive bucket (default AWS_ARCHIVE_BUCKET)."
        )
        parser.add_argument(
            "--prefix", help="Archive prefix (default AWS_ARCHIVE_PREFIX)."
        )
        parser.add_argument(
            "--database", help="Glue database (default ATHENA_DATABASE)."
        )

    def handle(self, *args, bucket, prefix, database, **options):
        self.stdout.write(
            athena_ddl(bucket=bucket, prefix=prefix, database=database), ending=""
        )
