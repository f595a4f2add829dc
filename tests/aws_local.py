"""moto's server, the local AWS stand-in, for the test suites that use it."""

from contextlib import contextmanager

from moto.server import ThreadedMotoServer


@contextmanager
def moto_running():
    """
    Run moto's server on 127.0.0.1 over real HTTP and yield its URL.

    The port is the one the system hands out, so runs side by side never
    collide: with a fixed port, a second run's server could not bind, and
    ThreadedMotoServer.start() would wait for it forever. The socket listens
    before start() returns, so the first request needs no retry.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
