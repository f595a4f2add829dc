"""
localstripe, the local Stripe stand-in, in a process of its own on loopback.

Used by `manage.py stripe_local` (so by `make run`) and by the tests. The
stand-in keeps its state in memory only: each run starts empty.
"""

import subprocess
import sys
import time
from contextlib import contextmanager

import requests

# Binds 127.0.0.1 (the stock `localstripe` command listens on every
# interface) on the given port, 0 for one the system picks, and prints it.
# localstripe also pickles its whole store to one shared /tmp file after
# every write, which slows as it grows and mixes runs: switched off here.
_LAUNCHER = """
import socket, sys
from aiohttp import web
from localstripe.resources import Store
from localstripe.server import app
Store.dump_to_disk = lambda self: None
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, print=None, access_log=None)
"""


@contextmanager
def localstripe_running(*, port: int = 0):
    """Run localstripe on 127.0.0.1 and yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError("localstripe did not start")
        url = f"http://127.0.0.1:{line}"
        for _ in range(100):
            try:
                requests.get(f"{url}/js.stripe.com/v3/", timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def localstripe_webhook_register(*, url: str, target: str, secret: str) -> None:
    """Have localstripe send its events to `target`, signed with `secret`."""
    response = requests.post(
        f"{url}/_config/webhooks/shop",
        data={"url": target, "secret": secret},
        timeout=5,
    )
    response.raise_for_status()
