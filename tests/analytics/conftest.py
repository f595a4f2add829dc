import pytest

from analytics.models import Event
from analytics.services import Recorder, events_flush, recorder_reset
from config.aws import _session, aws_client
from tests.aws_local import moto_running


@pytest.fixture(autouse=True)
def recorder(settings):
    """A fresh recorder per test, drained only by explicit flushes."""
    settings.ANALYTICS_BACKGROUND_FLUSH = False
    settings.ANALYTICS_SINKS = ["analytics.sinks.DatabaseSink"]
    settings.ANALYTICS_REQUIRE_CONSENT = False
    settings.ANALYTICS_PRIVATE_MODE = "hash"
    recorder = recorder_reset(recorder=Recorder(background=False))
    yield recorder
    recorder_reset(recorder=None)


@pytest.fixture
def flushed(db):
    """Flush the buffer and return the stored events, oldest first."""

    def flush():
        events_flush()
        return list(Event.objects.order_by("occurred_at", "id"))

    return flush


BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def browser(client):
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    return client


@pytest.fixture(scope="session")
def moto_server():
    """moto's server on 127.0.0.1 over real HTTP (the local AWS stand-in)."""
    with moto_running() as url:
        yield url


@pytest.fixture
def aws(moto_server, settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.AWS_ENDPOINT_URL = moto_server
    settings.AWS_REGION = "eu-west-2"
    _session.cache_clear()
    yield aws_client
    _session.cache_clear()
