"""
Everything that talks to Amazon Cognito: configuration, API calls and token
verification.

The IDs come from `COGNITO_*` settings (real AWS) or, when those are empty,
from the file `cognito_bootstrap` writes for the local stand-in. Calls use a
short timeout: when Cognito is unreachable or slow, callers get
`CognitoUnavailable` and show "temporarily unavailable" instead of failing.
"""

import base64
import functools
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal

import jwt
import requests
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from config.aws import aws_client

logger = logging.getLogger(__name__)

# Clock skew tolerated on `exp` and `iat`, in seconds.
LEEWAY = 30
# An unknown `kid` refetches the JWKS at most this often (key rotation).
JWKS_REFETCH_SECONDS = 60


class CognitoUnavailable(Exception):
    """Cognito could not be reached in time; the shop keeps working."""


class CognitoError(Exception):
    """Cognito refused a request; `message` is safe to show to the user."""

    MESSAGES = {
        "UsernameExistsException": (
            "An account with this email already exists. Sign in, or reset your "
            "password if you have forgotten it."
        ),
        "InvalidPasswordException": (
            "That password is too weak. Use at least 8 characters with upper and "
            "lower case letters, a number and a symbol."
        ),
        "CodeMismatchException": "That code is not right. Check the email and try again.",
        "ExpiredCodeException": (
            "That code has expired or was already used. Ask for a new one."
        ),
        "UserNotConfirmedException": "Please confirm your email address first.",
        "NotAuthorizedException": "Incorrect email or password.",
        "UserNotFoundException": "Incorrect email or password.",
        "TooManyRequestsException": "Too many requests. Please wait a minute and try again.",
        "TooManyFailedAttemptsException": (
            "Too many attempts. Please wait a few minutes and try again."
        ),
        "LimitExceededException": (
            "Too many attempts. Please wait a few minutes and try again."
        ),
        "InvalidParameterException": "Please check the details you entered.",
        "AliasExistsException": "An account with this email already exists.",
    }
    DEFAULT = "Something went wrong with your account. Please try again."

    def __init__(self, code: str):
        self.code = code
        super().__init__(self.MESSAGES.get(code, self.DEFAULT))

    @property
    def message(self) -> str:
        return str(self)


class TokenError(Exception):
    """A token failed verification; the reason is for logs, not for users."""


class NotConfigured(CognitoUnavailable):
    """No user pool is configured (run `manage.py cognito_bootstrap`)."""


@dataclass(frozen=True)
class CognitoConfig:
    user_pool_id: str
    client_id: str
    client_secret: str = ""

    @property
    def region(self) -> str:
        # Pool IDs start with their region: "eu-west-2_AbC123".
        return self.user_pool_id.split("_", 1)[0]

    @property
    def issuer(self) -> str:
        # moto issues the real AWS issuer even when served locally; LocalStack
        # uses its own, hence the COGNITO_ISSUER override.
        return settings.COGNITO_ISSUER or (
            f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"
        )

    @property
    def jwks_url(self) -> str:
        if settings.AWS_ENDPOINT_URL:
            base = settings.AWS_ENDPOINT_URL.rstrip("/")
            return f"{base}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{self.issuer}/.well-known/jwks.json"


def cognito_config() -> CognitoConfig:
    """The pool and client in use; raises NotConfigured when there is none."""
    if settings.COGNITO_USER_POOL_ID and settings.COGNITO_CLIENT_ID:
        return CognitoConfig(
            user_pool_id=settings.COGNITO_USER_POOL_ID,
            client_id=settings.COGNITO_CLIENT_ID,
            client_secret=settings.COGNITO_CLIENT_SECRET,
        )
    local = local_config_read()
    # The recorded IDs belong to one endpoint: never send them to another.
    if local and local.get("endpoint_url", "") == settings.AWS_ENDPOINT_URL:
        return CognitoConfig(
            user_pool_id=local["user_pool_id"],
            client_id=local["client_id"],
            client_secret=local.get("client_secret", ""),
        )
    raise NotConfigured("No Cognito user pool is configured.")


def cognito_configured() -> bool:
    try:
        cognito_config()
    except NotConfigured:
        return False
    return True


def local_config_read() -> dict | None:
    try:
        return json.loads(settings.COGNITO_LOCAL_CONFIG.read_text())
    except (OSError, ValueError):
        return None


def secret_hash(*, username: str, config: CognitoConfig) -> str:
    """SECRET_HASH: Base64(HMAC-SHA256(secret, username + client_id))."""
    digest = hmac.new(
        config.client_secret.encode(),
        (username + config.client_id).encode(),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode()


@functools.lru_cache(maxsize=8)
def _client(endpoint_url: str, timeout: float):
    # Building a boto3 client costs tens of milliseconds; clients are
    # thread-safe, so one per endpoint and timeout is reused. No retries
    # (botocore's max_attempts counts retries, not attempts): a request
    # waits at most one short timeout for an unreachable Cognito.
    return aws_client("cognito-idp", timeout=timeout, retries=0)


def cognito_call(operation: str, **params):
    """
    Call a cognito-idp operation with the short timeout.

    Raises CognitoError (refused, with a friendly message) or
    CognitoUnavailable (unreachable, slow, or not configured).
    """
    client = _client(settings.AWS_ENDPOINT_URL, settings.COGNITO_TIMEOUT)
    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        if status >= 500 or code in {"InternalErrorException", "ServiceUnavailable"}:
            raise CognitoUnavailable(code) from exc
        raise CognitoError(code) from exc
    except BotoCoreError as exc:
        # Connection refused, timeouts, missing credentials: never logged
        # with the parameters, which may hold passwords.
        logger.warning("Cognito %s failed: %s", operation, exc.__class__.__name__)
        raise CognitoUnavailable(exc.__class__.__name__) from exc


# ---------------------------------------------------------------------------
# JWKS and token verification
# ---------------------------------------------------------------------------

# Guards the two dicts below only, never an HTTP call.
_jwks_lock = threading.Lock()
# jwks_url -> {"keys": {kid: PyJWK}, "fetched": monotonic time of the last
# attempt, "failed": whether that attempt failed}
_jwks_cache: dict[str, dict] = {}
# jwks_url -> lock held while that URL is fetched, so concurrent requests for
# one pool share a fetch and other pools are never held up by it.
_jwks_fetch_locks: dict[str, threading.Lock] = {}


def jwks_cache_clear() -> None:
    with _jwks_lock:
        _jwks_cache.clear()
        _jwks_fetch_locks.clear()


def _jwks_fetch(url: str) -> dict:
    try:
        response = requests.get(url, timeout=settings.COGNITO_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise CognitoUnavailable(
            f"JWKS fetch failed: {exc.__class__.__name__}"
        ) from exc
    keys = {}
    for data in document.get("keys", []):
        if data.get("kty") != "RSA" or not data.get("kid"):
            continue
        try:
            keys[data["kid"]] = jwt.PyJWK(data, algorithm="RS256")
        except jwt.PyJWKError:
            continue
    return keys


def _cached_key(*, kid: str, url: str):
    """
    The cached key for `kid`, or None when a fetch is due. Raises when the
    last attempt (successful or not) was under JWKS_REFETCH_SECONDS ago.
    Call with _jwks_lock held.
    """
    entry = _jwks_cache.get(url)
    if entry is None:
        return None
    if kid in entry["keys"]:
        return entry["keys"][kid]
    if time.monotonic() - entry["fetched"] >= JWKS_REFETCH_SECONDS:
        return None
    if entry["failed"]:
        raise CognitoUnavailable("JWKS fetch failed recently (retry throttled)")
    raise TokenError("unknown kid (refetch throttled)")


def _signing_key(*, kid: str, url: str):
    with _jwks_lock:
        key = _cached_key(kid=kid, url=url)
        if key is not None:
            return key
        fetch_lock = _jwks_fetch_locks.setdefault(url, threading.Lock())
    with fetch_lock:
        # Another request may have fetched (or failed) while this one waited.
        with _jwks_lock:
            key = _cached_key(kid=kid, url=url)
            if key is not None:
                return key
            previous = _jwks_cache.get(url, {}).get("keys", {})
        try:
            keys = _jwks_fetch(url)
        except CognitoUnavailable:
            # Failures are cached too: junk tokens with random kids must not
            # each cost an outbound call while the key endpoint is down.
            with _jwks_lock:
                _jwks_cache[url] = {
                    "keys": previous,
                    "fetched": time.monotonic(),
                    "failed": True,
                }
            raise
        with _jwks_lock:
            _jwks_cache[url] = {
                "keys": keys,
                "fetched": time.monotonic(),
                "failed": False,
            }
    if kid not in keys:
        raise TokenError("unknown kid")
    return keys[kid]


def token_verify(
    *,
    token: str,
    use: Literal["id", "access"],
    config: CognitoConfig | None = None,
    nonce: str | None = None,
) -> dict:
    """
    Verify a Cognito ID or access token and return its claims.

    Only RS256 with a key from the pool's JWKS is accepted; `iss`, `exp`,
    `iat`, `token_use` and the client (`aud` for ID tokens, `client_id` for
    access tokens) are checked. Raises TokenError, or CognitoUnavailable when
    the JWKS cannot be fetched.
    """
    config = config or cognito_config()
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError("malformed token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("malformed header") from exc
    if header.get("alg") != "RS256":
        raise TokenError("algorithm not allowed")
    kid = header.get("kid")
    if not kid or not isinstance(kid, str):
        raise TokenError("missing kid")
    key = _signing_key(kid=kid, url=config.jwks_url)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            issuer=config.issuer,
            audience=config.client_id if use == "id" else None,
            leeway=LEEWAY,
            options={
                "require": ["exp", "iat", "iss", "sub", "token_use"],
                "verify_aud": use == "id",
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenError(f"{exc.__class__.__name__}") from exc
    # PyJWT reads a string "exp" as a number; a real token never holds one.
    for claim in ("exp", "iat"):
        if type(claims[claim]) is not int:
            raise TokenError(f"{claim} is not a number")
    if claims.get("token_use") != use:
        raise TokenError("wrong token_use")
    if use == "access" and claims.get("client_id") != config.client_id:
        raise TokenError("wrong client_id")
    if nonce is not None and not hmac.compare_digest(
        str(claims.get("nonce", "")), nonce
    ):
        raise TokenError("nonce mismatch")
    return claims
