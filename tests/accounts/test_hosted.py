"""
The hosted UI (authorization code + PKCE). The stand-in has no hosted UI, so
a small local test double plays Cognito's /oauth2/token: it takes a code
issued for a user, checks the PKCE verifier, and returns that user's tokens
from the stand-in's pool. moto's ID tokens carry no `nonce`, so the double
re-signs the ID token's claims plus the nonce with the pool's own signing
key (moto's published key pair), as Cognito would.
"""

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.urls import reverse
from moto.utilities.utils import load_resource

from accounts.models import User
from accounts.services import account_authenticate
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


class TokenEndpoint:
    def __init__(self):
        self.codes = {}  # code -> (tokens, challenge, nonce)
        private = load_resource("cognitoidp/resources/jwks-private.json")
        self.key = jwt.PyJWK({**private, "alg": "RS256"}).key

    def issue(self, *, email, challenge, nonce, forge_nonce=None):
        tokens = account_authenticate(email=email, password=PASSWORD)
        claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
        claims["nonce"] = forge_nonce or nonce
        id_token = jwt.encode(
            claims, self.key, algorithm="RS256", headers={"kid": "dummy"}
        )
        code = f"code-{len(self.codes)}"
        self.codes[code] = (
            {
                "id_token": id_token,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_in": 3600,
                "token_type": "Bearer",
            },
            challenge,
        )
        return code


@pytest.fixture
def hosted(settings, make_cognito_user):
    endpoint = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            form = {
                k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()
            }
            entry = endpoint.codes.pop(form.get("code", ""), None)
            status, body = 400, {"error": "invalid_grant"}
            if entry and form.get("grant_type") == "authorization_code":
                tokens, challenge = entry
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge:
                    status, body = 200, tokens
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    settings.COGNITO_DOMAIN = f"http://127.0.0.1:{server.server_port}"
    make_cognito_user(email="hosted@example.com")
    yield endpoint
    server.shutdown()
    server.server_close()


def _start(client, next_url="/cart/"):
    response = client.get(reverse("accounts:hosted_start"), {"next": next_url})
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}
    assert query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code"
    return query


def test_hosted_sign_in_with_pkce(client, hosted):
    query = _start(client)
    code = hosted.issue(
        email="hosted@example.com",
        challenge=query["code_challenge"],
        nonce=query["nonce"],
    )
    response = client.get(
        reverse("accounts:hosted_callback"), {"code": code, "state": query["state"]}
    )
    assert response["Location"] == "/cart/"
    user = User.objects.get(email="hosted@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)
    # Sign-out goes through Cognito's /logout.
    response = client.post(reverse("accounts:logout"))
    assert response["Location"].startswith(f"{client_domain(hosted)}/logout?")


def client_domain(hosted):
    from django.conf import settings

    return settings.COGNITO_DOMAIN


def test_a_wrong_state_is_refused(client, hosted):
    query = _start(client)
    code = hosted.issue(
        email="hosted@example.com",
        challenge=query["code_challenge"],
        nonce=query["nonce"],
    )
    response = client.get(
        reverse("accounts:hosted_callback"), {"code": code, "state": "forged"}
    )
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_a_wrong_nonce_is_refused(client, hosted):
    query = _start(client)
    code = hosted.issue(
        email="hosted@example.com",
        challenge=query["code_challenge"],
        nonce=query["nonce"],
        forge_nonce="replayed",
    )
    response = client.get(
        reverse("accounts:hosted_callback"), {"code": code, "state": query["state"]}
    )
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_a_wrong_pkce_verifier_is_refused(client, hosted):
    query = _start(client)
    code = hosted.issue(
        email="hosted@example.com", challenge="not-it", nonce=query["nonce"]
    )
    response = client.get(
        reverse("accounts:hosted_callback"), {"code": code, "state": query["state"]}
    )
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_the_hosted_ui_is_off_without_a_domain(client, db, settings):
    settings.COGNITO_DOMAIN = ""
    assert client.get(reverse("accounts:hosted_start")).status_code == 404
