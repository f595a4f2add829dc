"""
Run a command with the local AWS stand-in (moto's server) beside it.

`make run` wraps runserver in this: unless AWS_ENDPOINT_URL already points
somewhere (LocalStack, a shared moto), moto's server starts on 127.0.0.1 at
AWS_LOCAL_PORT, `cognito_bootstrap` provisions the pool, and the command runs
with AWS_ENDPOINT_URL set. The stand-in stops when the command does.
"""

import logging
import os
import time

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from moto.server import ThreadedMotoServer

from config.localproc import command_run


class Command(BaseCommand):
    help = "Start moto's server (unless AWS_ENDPOINT_URL is set), bootstrap Cognito, run a command."

    def add_arguments(self, parser):
        parser.add_argument(
            "argv",
            nargs="+",
            help="The command to run beside the stand-in, after `--`.",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port for moto's server (default: settings.AWS_LOCAL_PORT).",
        )

    def handle(self, *args, argv, port, verbosity, **options):
        env = dict(os.environ)
        server = None
        if not settings.AWS_ENDPOINT_URL:
            port = port or settings.AWS_LOCAL_PORT
            url = f"http://127.0.0.1:{port}"
            # moto logs every request; keep the terminal for the shop's own.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            server = ThreadedMotoServer(
                ip_address="127.0.0.1", port=port, verbose=False
            )
            server.start()
            self._wait(url)
            env.update(AWS_ENDPOINT_URL=url)
            env.setdefault("AWS_ACCESS_KEY_ID", "local")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
            os.environ.update(
                AWS_ACCESS_KEY_ID=env["AWS_ACCESS_KEY_ID"],
                AWS_SECRET_ACCESS_KEY=env["AWS_SECRET_ACCESS_KEY"],
            )
            settings.AWS_ENDPOINT_URL = url
            if verbosity >= 1:
                self.stdout.write(self.style.SUCCESS(f"Local AWS stand-in at {url}"))
        try:
            if not settings.COGNITO_USER_POOL_ID:
                call_command(
                    "cognito_bootstrap", verbosity=verbosity, stdout=self.stdout
                )
            command_run(argv=argv, env=env)
        finally:
            if server is not None:
                server.stop()

    def _wait(self, url: str) -> None:
        for _ in range(100):
            try:
                requests.get(f"{url}/moto-api/", timeout=0.5)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise CommandError(f"moto's server did not start at {url}.")
