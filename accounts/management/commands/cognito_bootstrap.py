"""
Provision the Cognito user pool the shop signs people in with.

Against the local stand-in (`make run` calls this) the pool is rebuilt on
every start, so this runs each time and is a no-op when all is in place.
Against real AWS it can provision a pool too; the app then reads the IDs from
COGNITO_* environment variables.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.cognito import CognitoUnavailable
from accounts.services import cognito_bootstrap


class Command(BaseCommand):
    help = "Create the user pool, app client, groups and demo accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--with-secret",
            action="store_true",
            help="Give a newly created app client a secret (SECRET_HASH is then sent).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be created without creating anything.",
        )

    def handle(self, *args, with_secret, dry_run, verbosity, **options):
        try:
            result = cognito_bootstrap(with_secret=with_secret, dry_run=dry_run)
        except CognitoUnavailable as exc:
            endpoint = settings.AWS_ENDPOINT_URL or "real AWS"
            raise CommandError(
                f"Cognito at {endpoint} is not reachable ({exc})."
            ) from exc
        prefix = "Would create" if dry_run else "Created"
        if verbosity >= 1:
            for item in result.created:
                self.stdout.write(f"{prefix} {item}")
            if not result.created:
                self.stdout.write("Nothing to do: the pool is already provisioned.")
            if not dry_run:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"User pool {result.user_pool_id}, app client {result.client_id}"
                        f" (recorded in {settings.COGNITO_LOCAL_CONFIG})."
                    )
                )
        # The demo passwords are shown whatever the verbosity; the same ones
        # come back on every run, kept in COGNITO_DEMO_PASSWORDS.
        for email, password in result.passwords.items():
            self.stdout.write(f"Demo account {email} password: {password}")
        if result.passwords:
            self.stdout.write(
                f"(Kept in {settings.COGNITO_DEMO_PASSWORDS}; delete it for new ones.)"
            )
