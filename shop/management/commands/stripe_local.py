"""
Run a command with localstripe, the local Stripe stand-in, beside it.

`make run` wraps the server in this: unless STRIPE_SECRET_KEY is set (real
Stripe, or a stand-in of your own), localstripe starts on 127.0.0.1 at
STRIPE_LOCAL_PORT, learns to send its webhooks to this shop's endpoint, and
the command runs with card payments switched on against it. The stand-in
stops when the command does.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from config.localproc import command_run
from shop.stripe_local import localstripe_running, localstripe_webhook_register

# localstripe accepts any key of the right shape; these name no account.
LOCAL_KEYS = {
    "STRIPE_SECRET_KEY": "sk_test_local",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
    "STRIPE_WEBHOOK_SECRET": "whsec_local",
}


class Command(BaseCommand):
    help = "Start localstripe (unless STRIPE_SECRET_KEY is set) and run a command."

    def add_arguments(self, parser):
        parser.add_argument(
            "argv", nargs="+", help="The command to run beside the stand-in."
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port for localstripe (default: settings.STRIPE_LOCAL_PORT; "
            "0 for any free port).",
        )

    def handle(self, *args, argv, port, verbosity, **options):
        if settings.STRIPE_SECRET_KEY:
            return command_run(argv=argv, env=dict(os.environ))
        port = settings.STRIPE_LOCAL_PORT if port is None else port
        with localstripe_running(port=port) as url:
            localstripe_webhook_register(
                url=url,
                target=settings.SITE_URL + reverse("shop:stripe_webhook"),
                secret=LOCAL_KEYS["STRIPE_WEBHOOK_SECRET"],
            )
            env = {
                **os.environ,
                **LOCAL_KEYS,
                "STRIPE_API_BASE": url,
                "STRIPE_JS_URL": f"{url}/js.stripe.com/v3/",
            }
            if verbosity >= 1:
                self.stdout.write(self.style.SUCCESS(f"Local Stripe stand-in at {url}"))
            command_run(argv=argv, env=env)
