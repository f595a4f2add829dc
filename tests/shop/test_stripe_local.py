"""manage.py stripe_local: a command run beside localstripe, as `make run` does."""

import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

# What the command under stripe_local checks: card payments point at a
# localstripe on loopback that answers with the local keys and sends its
# webhooks to this shop.
CHILD = """
import os, sys, requests
base = os.environ["STRIPE_API_BASE"]
assert base.startswith("http://127.0.0.1:"), base
assert os.environ["STRIPE_JS_URL"] == base + "/js.stripe.com/v3/"
assert os.environ["STRIPE_SECRET_KEY"] == "sk_test_local"
auth = {"Authorization": "Bearer " + os.environ["STRIPE_SECRET_KEY"]}
intent = requests.post(
    base + "/v1/payment_intents",
    data={"amount": 1000, "currency": "gbp"},
    headers=auth,
    timeout=5,
)
assert intent.status_code == 200, intent.text
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def local(settings):
    """No Stripe keys (so the stand-in starts), on a port the system picks."""
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_LOCAL_PORT = 0
    settings.SITE_URL = "http://127.0.0.1:8000"
    return settings


def test_the_command_runs_with_card_payments_against_localstripe(local):
    call_command("stripe_local", "--", sys.executable, "-c", CHILD, "0", verbosity=0)


def test_the_commands_failure_is_the_callers(local):
    with pytest.raises(SystemExit) as exited:
        call_command(
            "stripe_local", "--", sys.executable, "-c", CHILD, "3", verbosity=0
        )
    assert exited.value.code == 3


def test_with_stripe_keys_set_no_stand_in_starts(settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_real"
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    child = "import os, sys; sys.exit('STRIPE_API_BASE' in os.environ)"

    call_command("stripe_local", "--", sys.executable, "-c", child, verbosity=0)


def test_a_command_that_cannot_start_is_a_clear_error(local):
    with pytest.raises(CommandError, match="Could not run /no/such/program"):
        call_command("stripe_local", "--", "/no/such/program", verbosity=0)
