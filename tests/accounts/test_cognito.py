"""
Token verification. Most tokens here are forged with a key pair made by the
`key_server` fixture (served as a JWKS over real HTTP), because the negative
cases need control over every header and claim; moto-issued tokens are
verified at the end.
"""

import base64
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from accounts import cognito
from accounts.cognito import CognitoUnavailable, TokenError, token_verify
from accounts.services import account_authenticate

ISSUER = "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_TestPool"


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "abc-123",
        "aud": "test-client",
        "token_use": "id",
        "email": "ada@example.com",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _forge(key_server, headers=None, **overrides):
    headers = {"kid": key_server.kid, **(headers or {})}
    return jwt.encode(
        _claims(**overrides), key_server.key, algorithm="RS256", headers=headers
    )


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_well_formed_id_token_is_accepted(key_server):
    claims = token_verify(token=_forge(key_server), use="id")
    assert claims["sub"] == "abc-123"


def test_an_access_token_needs_the_client_id_claim(key_server):
    token = _forge(key_server, aud=None, token_use="access", client_id="test-client")
    assert token_verify(token=token, use="access")["client_id"] == "test-client"
    other = _forge(key_server, aud=None, token_use="access", client_id="other-client")
    with pytest.raises(TokenError, match="client_id"):
        token_verify(token=other, use="access")


def test_a_tampered_payload_is_rejected(key_server):
    header, _, signature = _forge(key_server).split(".")
    payload = _b64(_claims(sub="someone-else"))
    with pytest.raises(TokenError):
        token_verify(token=f"{header}.{payload}.{signature}", use="id")


def test_a_bad_signature_is_rejected(key_server):
    header, payload, signature = _forge(key_server).split(".")
    flipped = ("A" if signature[10] != "A" else "B").join(
        [signature[:10], signature[11:]]
    )
    with pytest.raises(TokenError):
        token_verify(token=f"{header}.{payload}.{flipped}", use="id")


def test_alg_none_is_rejected(key_server):
    token = f"{_b64({'alg': 'none', 'kid': key_server.kid})}.{_b64(_claims())}."
    with pytest.raises(TokenError, match="algorithm"):
        token_verify(token=token, use="id")


def test_hs256_signed_with_the_public_key_is_rejected(key_server):
    import hashlib
    import hmac

    public_pem = key_server.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64({'alg': 'HS256', 'kid': key_server.kid, 'typ': 'JWT'})}.{_b64(_claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(TokenError, match="algorithm"):
        token_verify(token=token, use="id")


def test_the_wrong_issuer_is_rejected(key_server):
    token = _forge(
        key_server, iss="https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Other"
    )
    with pytest.raises(TokenError, match="Issuer"):
        token_verify(token=token, use="id")


def test_the_wrong_audience_is_rejected(key_server):
    with pytest.raises(TokenError, match="Audience"):
        token_verify(token=_forge(key_server, aud="another-client"), use="id")


def test_an_access_token_used_as_an_id_token_is_rejected(key_server):
    token = _forge(key_server, token_use="access", client_id="test-client")
    with pytest.raises(TokenError, match="token_use"):
        token_verify(token=token, use="id")


def test_an_expired_token_is_rejected(key_server):
    past = int(time.time()) - 7200
    with pytest.raises(TokenError, match="Expired"):
        token_verify(token=_forge(key_server, iat=past, exp=past + 3600), use="id")


def test_a_token_within_the_leeway_is_still_accepted(key_server):
    now = int(time.time())
    token = _forge(key_server, iat=now - 3600, exp=now - 5)
    assert token_verify(token=token, use="id")["sub"] == "abc-123"


def test_a_token_not_yet_valid_is_rejected(key_server):
    future = int(time.time()) + 600
    with pytest.raises(TokenError, match="ImmatureSignature"):
        token_verify(token=_forge(key_server, iat=future, exp=future + 3600), use="id")


def test_an_unknown_kid_is_rejected(key_server):
    with pytest.raises(TokenError, match="unknown kid"):
        token_verify(token=_forge(key_server, headers={"kid": "not-ours"}), use="id")


def test_a_missing_kid_is_rejected(key_server):
    token = jwt.encode(_claims(), key_server.key, algorithm="RS256")
    with pytest.raises(TokenError, match="missing kid"):
        token_verify(token=token, use="id")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "....", "e30.e30.e30"])
def test_a_malformed_token_is_rejected(key_server, token):
    with pytest.raises(TokenError):
        token_verify(token=token, use="id")


def test_the_jwks_is_cached(key_server):
    token_verify(token=_forge(key_server), use="id")
    token_verify(token=_forge(key_server), use="id")
    assert key_server.hits == 1


def test_an_unknown_kid_refetches_at_most_once_a_minute(key_server, monkeypatch):
    token_verify(token=_forge(key_server), use="id")
    key_server.rotate()
    rotated = _forge(key_server)
    # Within the minute, the rotated key is not fetched again.
    with pytest.raises(TokenError, match="throttled"):
        token_verify(token=rotated, use="id")
    for _ in range(5):
        with pytest.raises(TokenError):
            token_verify(token=_forge(key_server, headers={"kid": "junk"}), use="id")
    assert key_server.hits == 1
    # A minute later, one refetch picks the new key up.
    later = time.monotonic() + cognito.JWKS_REFETCH_SECONDS + 1
    monkeypatch.setattr(cognito.time, "monotonic", lambda: later)
    assert token_verify(token=rotated, use="id")["sub"] == "abc-123"
    assert key_server.hits == 2


def test_an_unreachable_jwks_is_reported_as_unavailable(key_server, settings):
    token = _forge(key_server)
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    with pytest.raises(CognitoUnavailable):
        token_verify(token=token, use="id")


def test_tokens_issued_by_the_stand_in_verify(cognito):
    password = cognito.passwords["staff@example.com"]
    tokens = account_authenticate(email="staff@example.com", password=password)
    claims = token_verify(token=tokens.id_token, use="id")
    access = token_verify(token=tokens.access_token, use="access")
    assert claims["email"] == "staff@example.com"
    assert claims["cognito:groups"] == ["staff"]
    assert access["sub"] == claims["sub"]
    with pytest.raises(TokenError):
        token_verify(token=tokens.access_token, use="id")


def test_a_failed_jwks_fetch_is_not_retried_for_a_minute(key_server, monkeypatch):
    key_server.status = 503
    # Junk bearer tokens with random kids must not each cost an outbound fetch.
    for n in range(5):
        token = _forge(key_server, headers={"kid": f"junk-{n}"})
        with pytest.raises(CognitoUnavailable):
            token_verify(token=token, use="id")
    assert key_server.hits == 1
    later = time.monotonic() + cognito.JWKS_REFETCH_SECONDS + 1
    monkeypatch.setattr(cognito.time, "monotonic", lambda: later)
    key_server.status = 200
    assert token_verify(token=_forge(key_server), use="id")["sub"] == "abc-123"
    assert key_server.hits == 2


def test_a_failed_refetch_for_an_unknown_kid_is_throttled_too(key_server):
    token_verify(token=_forge(key_server), use="id")
    key_server.status = 503
    for n in range(5):
        token = _forge(key_server, headers={"kid": f"junk-{n}"})
        with pytest.raises((TokenError, CognitoUnavailable)):
            token_verify(token=token, use="id")
    # The first unknown kid after a successful fetch is throttled as before;
    # the cached keys keep working while the endpoint is down.
    assert key_server.hits == 1
    assert token_verify(token=_forge(key_server), use="id")["sub"] == "abc-123"


def test_a_slow_jwks_fetch_does_not_block_other_pools(key_server):
    cached = cognito.CognitoConfig(
        user_pool_id="eu-west-2_TestPool", client_id="test-client"
    )
    token_verify(token=_forge(key_server), use="id", config=cached)
    key_server.delay = 1.5
    other = cognito.CognitoConfig(
        user_pool_id="eu-west-2_OtherPool", client_id="test-client"
    )
    slow = threading.Thread(
        target=lambda: token_verify(
            token=_forge(key_server, iss=ISSUER.replace("TestPool", "OtherPool")),
            use="id",
            config=other,
        ),
        daemon=True,
    )
    slow.start()
    deadline = time.monotonic() + 5
    while key_server.hits < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    token_verify(token=_forge(key_server), use="id", config=cached)
    assert time.monotonic() - started < 0.5
    slow.join()


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_token_whose_time_claim_is_a_string_is_refused(key_server, claim):
    value = _claims()[claim]
    token = _forge(key_server, **{claim: str(value)})
    with pytest.raises(TokenError, match=f"{claim} is not a number"):
        token_verify(token=token, use="id")
