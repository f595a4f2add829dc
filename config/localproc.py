"""
Running a command beside a local stand-in (`aws_local`, `stripe_local`):
the command gets the stand-in's settings in its environment, and its exit
status becomes the caller's.
"""

import subprocess
import sys

from django.core.management.base import CommandError


def command_run(*, argv: list[str], env: dict[str, str]) -> None:
    """
    Run `argv` with `env` until it ends; exit with its status if that is
    not 0. Ctrl-C stops it (status 130) without a traceback.
    """
    try:
        returncode = subprocess.call(argv, env=env)
    except KeyboardInterrupt:
        returncode = 130
    except OSError as exc:
        raise CommandError(f"Could not run {argv[0]}: {exc}") from exc
    if returncode:
        sys.exit(returncode)
