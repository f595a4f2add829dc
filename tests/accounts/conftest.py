"""
Fixtures for accounts: moto's server as the local Cognito over real HTTP,
and a small JWKS server for tokens signed with a key pair made here.
"""

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts import services
from accounts.cognito import jwks_cache_clear
from config.aws import aws_client
from tests.aws_local import moto_running


@pytest.fixture(scope="session")
def moto_url():
    with moto_running() as url:
        yield url


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Only break-glass accounts have local passwords; hashing speed is moot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def aws_local(moto_url, settings, monkeypatch, tmp_path):
    """A fresh stand-in for each test, reached through AWS_ENDPOINT_URL."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=5)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.AWS_ENDPOINT_URL = moto_url
    settings.COGNITO_USER_POOL_ID = ""
    settings.COGNITO_CLIENT_ID = ""
    settings.COGNITO_CLIENT_SECRET = ""
    settings.COGNITO_DOMAIN = ""
    settings.COGNITO_ISSUER = ""
    settings.COGNITO_LOCAL_CONFIG = tmp_path / "cognito.json"
    settings.COGNITO_DEMO_PASSWORDS = tmp_path / "demo-passwords.json"
    jwks_cache_clear()
    yield moto_url
    jwks_cache_clear()


@pytest.fixture
def cognito(aws_local):
    """The pool, client, groups and demo accounts that cognito_bootstrap makes."""
    return services.cognito_bootstrap()


@pytest.fixture
def cognito_secret(aws_local):
    """As `cognito`, with an app client that has a secret."""
    return services.cognito_bootstrap(with_secret=True)


@pytest.fixture
def cognito_admin(cognito):
    return aws_client("cognito-idp")


PASSWORD = "Corr3ct-Horse!"


@pytest.fixture
def make_cognito_user(cognito, cognito_admin):
    """Create a confirmed Cognito user with a verified email, in `groups`."""

    def make(
        email="ada@example.com", name="Ada Lovelace", groups=(), password=PASSWORD
    ):
        cognito_admin.admin_create_user(
            UserPoolId=cognito.user_pool_id,
            Username=email,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": name},
            ],
        )
        cognito_admin.admin_set_user_password(
            UserPoolId=cognito.user_pool_id,
            Username=email,
            Password=password,
            Permanent=True,
        )
        for group in groups:
            cognito_admin.admin_add_user_to_group(
                UserPoolId=cognito.user_pool_id, Username=email, GroupName=group
            )
        return email

    return make


# ---------------------------------------------------------------------------
# Forged tokens: our own RSA key pair, served as a JWKS by a local server.
# ---------------------------------------------------------------------------


@functools.cache
def _rsa_key(n: int):
    # Key generation is slow; each test still gets a fresh JWKS server.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class KeyServer:
    def __init__(self):
        self.key = _rsa_key(1)
        self.kid = "test-key-1"
        self.hits = 0
        self.keys = [self._jwk(self.key, self.kid)]
        # Set to 503 to take the key endpoint down; `delay` makes it slow.
        self.status = 200
        self.delay = 0.0

    @staticmethod
    def _jwk(key, kid):
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        return {**data, "kid": kid, "alg": "RS256", "use": "sig"}

    def rotate(self):
        """A new signing key appears in the JWKS (key rotation)."""
        self.key = _rsa_key(2)
        self.kid = "test-key-2"
        self.keys.append(self._jwk(self.key, self.kid))


@pytest.fixture
def key_server(settings):
    state = KeyServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state.hits += 1
            time.sleep(state.delay)
            body = json.dumps({"keys": state.keys}).encode()
            if state.status != 200:
                body = b"down"
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{server.server_port}"
    settings.COGNITO_USER_POOL_ID = "eu-west-2_TestPool"
    settings.COGNITO_CLIENT_ID = "test-client"
    settings.COGNITO_CLIENT_SECRET = ""
    settings.COGNITO_ISSUER = ""
    jwks_cache_clear()
    yield state
    server.shutdown()
    server.server_close()
    jwks_cache_clear()


@pytest.fixture
def failing_endpoint():
    """
    A local endpoint that answers every request with 503 and counts them: an
    AWS endpoint or JWKS URL that is down, where retries would show as hits.
    """

    class State:
        hits = 0
        url = ""

    state = State()

    class Handler(BaseHTTPRequestHandler):
        def _fail(self):
            state.hits += 1
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = b'{"__type": "ServiceUnavailableException", "message": "down"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _fail

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()
