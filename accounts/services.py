"""Writes for accounts: Cognito flows, user sync, addresses, rate limits."""

import base64
import hashlib
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from config.aws import aws_endpoint_is_local

from .cognito import (
    CognitoConfig,
    CognitoError,
    CognitoUnavailable,
    cognito_call,
    cognito_config,
    local_config_read,
    secret_hash,
    token_verify,
)
from .models import AbstractAddress, Address, User
from .selectors import REVOCATION_CACHE_SECONDS, revocation_cache_key
from .signals import user_email_verified
from .tasks import account_exists_notice_send

logger = logging.getLogger(__name__)


class AccountLinkError(Exception):
    """The Cognito identity cannot be tied to a local user safely."""


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    expires_at: int

    def as_session(self) -> dict:
        # Kept in the server-side session only; never sent to the browser.
        return {
            "access": self.access_token,
            "refresh": self.refresh_token,
            "expires_at": self.expires_at,
        }


def _with_secret(params: dict, *, username: str, config: CognitoConfig) -> dict:
    if config.client_secret:
        params["SecretHash"] = secret_hash(username=username, config=config)
    return params


def _tokens(result: dict, *, refresh_token: str = "") -> Tokens:
    auth = result["AuthenticationResult"]
    return Tokens(
        id_token=auth["IdToken"],
        access_token=auth["AccessToken"],
        refresh_token=auth.get("RefreshToken", refresh_token),
        expires_at=int(time.time()) + int(auth.get("ExpiresIn", 3600)),
    )


# ---------------------------------------------------------------------------
# Cognito flows
# ---------------------------------------------------------------------------

# The local stand-in (moto) sends no email and accepts any code.
LOCAL_CODE = "123456"


def _local_code_hint(*, email: str, page: str) -> None:
    if aws_endpoint_is_local():
        logger.info(
            "Local AWS stand-in: no email is sent to %s. On the %s page, type "
            "any code, for example %s.",
            email,
            page,
            LOCAL_CODE,
        )


def account_sign_up(*, email: str, name: str, password: str) -> None:
    """
    SignUp; Cognito emails a confirmation code. Against the local stand-in,
    which sends none, the console says what to type. Raises CognitoError.
    """
    config = cognito_config()
    email = email.lower()
    try:
        cognito_call(
            "sign_up",
            **_with_secret(
                {
                    "ClientId": config.client_id,
                    "Username": email,
                    "Password": password,
                    "UserAttributes": [
                        {"Name": "email", "Value": email},
                        {"Name": "name", "Value": name},
                    ],
                },
                username=email,
                config=config,
            ),
        )
    except CognitoError as exc:
        if exc.code not in {"UsernameExistsException", "AliasExistsException"}:
            raise
        # The same answer as for a new account, so sign-up never reveals
        # which emails have one; the owner is told by email instead.
        account_exists_notice_send.enqueue(email=email)
        return
    _local_code_hint(email=email, page="confirm")


def account_confirm(*, email: str, code: str) -> None:
    config = cognito_config()
    cognito_call(
        "confirm_sign_up",
        **_with_secret(
            {"ClientId": config.client_id, "Username": email, "ConfirmationCode": code},
            username=email,
            config=config,
        ),
    )


def account_resend_code(*, email: str) -> None:
    config = cognito_config()
    cognito_call(
        "resend_confirmation_code",
        **_with_secret(
            {"ClientId": config.client_id, "Username": email},
            username=email,
            config=config,
        ),
    )


def account_authenticate(*, email: str, password: str) -> Tokens:
    """
    InitiateAuth with USER_PASSWORD_AUTH (SECRET_HASH when the client has a
    secret). Raises CognitoError; a challenge is reported as NotAuthorized.
    """
    config = cognito_config()
    email = email.lower()
    params = {"USERNAME": email, "PASSWORD": password}
    if config.client_secret:
        params["SECRET_HASH"] = secret_hash(username=email, config=config)
    result = cognito_call(
        "initiate_auth",
        ClientId=config.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters=params,
    )
    if "AuthenticationResult" not in result:
        # MFA and forced password changes are not offered by this shop.
        raise CognitoError(result.get("ChallengeName", "ChallengeRequired"))
    return _tokens(result)


def account_refresh(*, refresh_token: str, sub: str) -> Tokens:
    """REFRESH_TOKEN_AUTH; the SECRET_HASH username is the user's `sub`."""
    config = cognito_config()
    params = {"REFRESH_TOKEN": refresh_token}
    if config.client_secret:
        params["SECRET_HASH"] = secret_hash(username=sub, config=config)
    result = cognito_call(
        "initiate_auth",
        ClientId=config.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters=params,
    )
    return _tokens(result, refresh_token=refresh_token)


def account_forgot_password(*, email: str) -> None:
    """ForgotPassword. Unknown emails are not revealed (no error)."""
    config = cognito_config()
    email = email.lower()
    try:
        cognito_call(
            "forgot_password",
            **_with_secret(
                {"ClientId": config.client_id, "Username": email},
                username=email,
                config=config,
            ),
        )
    except CognitoError as exc:
        if exc.code not in {"UserNotFoundException", "NotAuthorizedException"}:
            raise
    else:
        _local_code_hint(email=email, page="new password")


def account_reset_password(*, email: str, code: str, password: str) -> None:
    config = cognito_config()
    email = email.lower()
    cognito_call(
        "confirm_forgot_password",
        **_with_secret(
            {
                "ClientId": config.client_id,
                "Username": email,
                "ConfirmationCode": code,
                "Password": password,
            },
            username=email,
            config=config,
        ),
    )


def account_change_password(*, access_token: str, old: str, new: str) -> None:
    cognito_call(
        "change_password",
        AccessToken=access_token,
        PreviousPassword=old,
        ProposedPassword=new,
    )


def account_tokens_revoke(*, user: User) -> None:
    """Refuse every token and session issued to `user` until now (sign-out)."""
    user.tokens_revoke()
    User.objects.filter(pk=user.pk).update(tokens_revoked_at=user.tokens_revoked_at)
    revocation_publish(user=user)


def revocation_publish(*, user: User) -> None:
    """
    Put `user`'s saved revocation mark where every session checks it (the
    shared cache, see selectors.user_revoked_mark). Should the cache be
    away, its old entry lapses within REVOCATION_CACHE_SECONDS.
    """
    mark = user.tokens_revoked_at
    try:
        cache.set(
            revocation_cache_key(user_id=user.pk),
            mark.timestamp() if mark else 0.0,
            timeout=REVOCATION_CACHE_SECONDS,
        )
    except Exception as exc:
        logger.warning("Revocation mark not cached: %s", exc.__class__.__name__)


def account_refresh_revoke(*, refresh_token: str) -> bool:
    """
    Cognito RevokeToken on a refresh token (and the access tokens it gave),
    best effort: the app client must allow it (EnableTokenRevocation).
    """
    try:
        config = cognito_config()
        params = {"Token": refresh_token, "ClientId": config.client_id}
        if config.client_secret:
            params["ClientSecret"] = config.client_secret
        cognito_call("revoke_token", **params)
    except Exception as exc:
        logger.info("RevokeToken skipped: %s", exc.__class__.__name__)
        return False
    return True


def account_global_sign_out(*, access_token: str) -> bool:
    """GlobalSignOut, best effort: a failure never blocks signing out."""
    try:
        cognito_call("global_sign_out", AccessToken=access_token)
    except CognitoError as exc:
        # A refused token (expired, already revoked, or refused by the local
        # stand-in, which answers from another region) is routine: quiet.
        logger.debug("GlobalSignOut refused: %s", exc.code)
        return False
    except Exception as exc:
        logger.info("GlobalSignOut skipped: %s", exc.__class__.__name__)
        return False
    return True


# ---------------------------------------------------------------------------
# Local users
# ---------------------------------------------------------------------------


def _is_true(value) -> bool:
    return value is True or str(value).lower() == "true"


@transaction.atomic
def user_sync(*, claims: dict, email_verified: bool = False) -> User:
    """
    Find or create the local user for verified ID-token claims and sync it.

    Found by `sub`; else, when the email is verified, an existing user with
    that email is re-linked (the stand-in's pool is rebuilt on each start).
    Groups set is_staff/is_superuser and are mirrored to Django groups,
    which hold the permissions COGNITO_GROUP_PERMISSIONS gives them.
    Guest orders with the verified email are attached. Raises
    AccountLinkError when an unverified email belongs to another user.
    """
    sub = claims["sub"]
    email = (claims.get("email") or "").lower()
    verified = email_verified or _is_true(claims.get("email_verified"))
    user = User.objects.select_for_update().filter(cognito_sub=sub).first()
    if user is None and email:
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is not None:
            if not verified:
                raise AccountLinkError(
                    "This email belongs to another account; confirm it first."
                )
            logger.info("Re-linking user %s to a new Cognito sub", user.pk)
    if user is None:
        if not email:
            raise AccountLinkError("The identity has no email address.")
        user = User(email=email)
        user.set_unusable_password()
    user.cognito_sub = sub
    taken = User.objects.filter(email__iexact=email).exclude(pk=user.pk)
    if email and email != user.email and verified and not taken.exists():
        user.email = email
    if claims.get("name"):
        user.name = claims["name"][:150]
    groups = set(claims.get("cognito:groups") or [])
    staff_group, admin_group = (
        settings.COGNITO_STAFF_GROUP,
        settings.COGNITO_ADMIN_GROUP,
    )
    was_staff = user.is_staff
    user.is_superuser = admin_group in groups
    user.is_staff = user.is_superuser or staff_group in groups
    demoted = was_staff and not user.is_staff
    if demoted:
        # Demoted: tokens issued while staff no longer count.
        user.tokens_revoke()
    user.save()
    if demoted:
        revocation_publish(user=user)
    mirrored = sorted(groups - {admin_group})
    user.groups.set([_django_group(name=name) for name in mirrored])
    if verified and user.email == email:
        # The shop ties guest orders placed with this address to the user.
        user_email_verified.send(sender=User, user=user)
    return user


def _django_group(*, name: str) -> Group:
    """
    The Django group mirroring a Cognito group, holding exactly the
    permissions COGNITO_GROUP_PERMISSIONS gives it ("app_label.codename").
    """
    group = Group.objects.get_or_create(name=name)[0]
    names = settings.COGNITO_GROUP_PERMISSIONS.get(name)
    if names:
        query = Q()
        for dotted in names:
            app_label, codename = dotted.split(".", 1)
            query |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(query))
    return group


def user_from_tokens(
    *, tokens: Tokens, email_verified: bool = False, nonce=None
) -> User:
    """Verify the ID and access tokens, then sync the local user."""
    claims = token_verify(token=tokens.id_token, use="id", nonce=nonce)
    access = token_verify(token=tokens.access_token, use="access")
    if access["sub"] != claims["sub"]:
        raise AccountLinkError("The tokens belong to different users.")
    return user_sync(claims=claims, email_verified=email_verified)


# ---------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------

ADDRESS_FIELDS = ["label", *AbstractAddress.FIELDS]


@transaction.atomic
def address_save(
    *, user: User, data: dict, address: Address | None = None, is_default: bool
) -> Address:
    """Create or update an address; the first one becomes the default."""
    address = address or Address(user=user)
    for field in ADDRESS_FIELDS:
        if field in data:
            setattr(address, field, data[field])
    others = Address.objects.select_for_update().filter(user=user)
    if address.pk:
        others = others.exclude(pk=address.pk)
    if is_default or not others.exists():
        others.filter(is_default=True).update(is_default=False)
        address.is_default = True
    else:
        address.is_default = False
    address.save()
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    was_default = address.is_default
    user = address.user
    address.delete()
    if was_default:
        successor = Address.objects.filter(user=user).order_by("-created_at").first()
        if successor:
            successor.is_default = True
            successor.save(update_fields=["is_default"])


# ---------------------------------------------------------------------------
# Sign-in rate limit, in the cache. Failures are counted per account and
# address: each one past the first few makes that address wait longer
# (doubling) before trying that account again, so a stranger who guesses
# wrong slows only themselves, never the owner elsewhere. A ceiling per
# address (attempts at any accounts) and a much higher one per account
# (failures from any addresses) hold in each window, against guessing from
# one address or from many.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    blocked: bool
    retry_after: int  # seconds


# What a cache that cannot be reached raises: django-redis wraps Redis's
# errors in ConnectionInterrupted unless told to ignore them; other backends
# surface socket errors.
CACHE_DOWN = (ConnectionInterrupted, RedisError, OSError)


@dataclass(frozen=True)
class _SigninKeys:
    ip: str  # attempts from the address in this window
    account: str  # failures at the account in this window
    pair: str  # (failures, last failure's time) of the address at the account


def _signin_keys(*, ip: str, email: str, now: float) -> _SigninKeys:
    bucket = int(now // settings.ACCOUNTS_SIGNIN_WINDOW)
    # Hashed so emails never sit in the cache in clear.
    account = salted_hmac(
        "signin-throttle", email.lower(), algorithm="sha256"
    ).hexdigest()[:32]
    return _SigninKeys(
        ip=f"signin:ip:{ip}:{bucket}",
        account=f"signin:acct:{account}:{bucket}",
        pair=f"signin:pair:{account}:{ip}",
    )


def signin_delay(*, failures: int) -> int:
    """Seconds an address waits after its `failures`-th failure at an account."""
    over = failures - settings.ACCOUNTS_SIGNIN_FREE_FAILURES
    return 0 if over < 0 else min(2**over, settings.ACCOUNTS_SIGNIN_MAX_DELAY)


def signin_throttle(*, ip: str, email: str) -> Throttle:
    """
    Count one sign-in attempt from `ip` at `email`; blocked while that
    address's delay at that account runs, or past a window's ceiling.
    Callers report failures with `signin_failed`.

    Fails open: when the cache is down the attempt is allowed (and logged),
    since Cognito keeps its own lockout and a sign-in page that answers 500
    helps no one.
    """
    now = time.time()
    window = settings.ACCOUNTS_SIGNIN_WINDOW
    window_left = max(1, math.ceil(window - now % window))
    keys = _signin_keys(ip=ip, email=email, now=now)
    try:
        attempts = (
            1 if cache.add(keys.ip, 1, timeout=window + 5) else cache.incr(keys.ip)
        )
        failures = cache.get(keys.account) or 0
        pair = cache.get(keys.pair)
    except CACHE_DOWN as exc:
        logger.warning(
            "Sign-in rate limit unavailable (%s); allowing the attempt",
            exc.__class__.__name__,
        )
        return Throttle(blocked=False, retry_after=0)
    if (
        attempts > settings.ACCOUNTS_SIGNIN_IP_LIMIT
        or failures >= settings.ACCOUNTS_SIGNIN_ACCOUNT_LIMIT
    ):
        return Throttle(blocked=True, retry_after=window_left)
    if pair:
        wait = signin_delay(failures=pair[0]) - (now - pair[1])
        if wait > 0:
            return Throttle(blocked=True, retry_after=math.ceil(wait))
    return Throttle(blocked=False, retry_after=0)


def signin_failed(*, ip: str, email: str) -> None:
    """Count a failed attempt (a wrong password, an order not found)."""
    now = time.time()
    window = settings.ACCOUNTS_SIGNIN_WINDOW
    keys = _signin_keys(ip=ip, email=email, now=now)
    try:
        failures = (cache.get(keys.pair) or (0, now))[0] + 1
        cache.set(
            keys.pair,
            (failures, now),
            timeout=settings.ACCOUNTS_SIGNIN_MAX_DELAY + window,
        )
        if not cache.add(keys.account, 1, timeout=window + 5):
            cache.incr(keys.account)
    except CACHE_DOWN as exc:
        logger.warning(
            "Sign-in rate limit unavailable (%s); failure not counted",
            exc.__class__.__name__,
        )


def signin_throttle_reset(*, ip: str, email: str) -> None:
    """A successful sign-in clears the address's failures at the account."""
    try:
        cache.delete(_signin_keys(ip=ip, email=email, now=time.time()).pair)
    except CACHE_DOWN as exc:
        logger.warning(
            "Sign-in rate limit unavailable (%s); count not reset",
            exc.__class__.__name__,
        )


# ---------------------------------------------------------------------------
# Hosted UI (OAuth 2.0 authorization code with PKCE)
# ---------------------------------------------------------------------------


def hosted_redirect_uri() -> str:
    return settings.COGNITO_REDIRECT_URI or (
        settings.SITE_URL + reverse("accounts:hosted_callback")
    )


def hosted_authorize_url(*, state: str, nonce: str, verifier: str) -> str:
    """The hosted UI's /oauth2/authorize URL with an S256 code challenge."""
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": cognito_config().client_id,
            "redirect_uri": hosted_redirect_uri(),
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{settings.COGNITO_DOMAIN.rstrip('/')}/oauth2/authorize?{query}"


def hosted_exchange_code(*, code: str, verifier: str) -> Tokens:
    """POST the code and verifier to /oauth2/token. Raises CognitoError/Unavailable."""
    config = cognito_config()
    auth = (config.client_id, config.client_secret) if config.client_secret else None
    try:
        response = requests.post(
            f"{settings.COGNITO_DOMAIN.rstrip('/')}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": config.client_id,
                "code": code,
                "redirect_uri": hosted_redirect_uri(),
                "code_verifier": verifier,
            },
            auth=auth,
            timeout=settings.COGNITO_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise CognitoUnavailable(exc.__class__.__name__) from exc
    if response.status_code >= 500:
        raise CognitoUnavailable(f"token endpoint {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "id_token" not in body:
        raise CognitoError("NotAuthorizedException")
    return Tokens(
        id_token=body["id_token"],
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        expires_at=int(time.time()) + int(body.get("expires_in", 3600)),
    )


def hosted_logout_url() -> str:
    query = urlencode(
        {"client_id": cognito_config().client_id, "logout_uri": settings.SITE_URL + "/"}
    )
    return f"{settings.COGNITO_DOMAIN.rstrip('/')}/logout?{query}"


# ---------------------------------------------------------------------------
# Sign-up in progress: the password is needed once more, to sign in right
# after the code is confirmed. It is kept encrypted (key derived from
# SECRET_KEY) in the server-side session, for 15 minutes at most.
# ---------------------------------------------------------------------------

PENDING_TTL = 15 * 60


def _fernet() -> Fernet:
    digest = hashlib.sha256(
        salted_hmac("accounts.pending-sign-in", "key", algorithm="sha256").digest()
    ).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def pending_password_seal(*, password: str) -> str:
    return _fernet().encrypt(password.encode()).decode()


def pending_password_open(*, sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode(), ttl=PENDING_TTL).decode()
    except (InvalidToken, ValueError):
        return None


def account_update_name(*, user: User, name: str, access_token: str | None) -> User:
    """Change the name in Cognito (when signed in through it), then locally."""
    if access_token:
        cognito_call(
            "update_user_attributes",
            AccessToken=access_token,
            UserAttributes=[{"Name": "name", "Value": name}],
        )
    user.name = name
    user.save(update_fields=["name"])
    return user


# ---------------------------------------------------------------------------
# Provisioning (manage.py cognito_bootstrap)
# ---------------------------------------------------------------------------

DEMO_ACCOUNTS = [
    ("shopper@example.com", "Demo Shopper", []),
    ("staff@example.com", "Demo Staff", ["staff"]),
]

PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}


@dataclass
class BootstrapResult:
    user_pool_id: str = ""
    client_id: str = ""
    created: list[str] = None  # what was created this run
    passwords: dict[str, str] = None  # demo accounts created this run

    def __post_init__(self):
        self.created = self.created or []
        self.passwords = self.passwords or {}


def _demo_password(*, email: str) -> str:
    """
    The demo account's password, kept in settings.COGNITO_DEMO_PASSWORDS so
    that it stays the same across runs (the local pool is rebuilt on each
    start) and can be read again there.
    """
    path = settings.COGNITO_DEMO_PASSWORDS
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        kept = {}
    if email not in kept:
        # Satisfies every policy flag: upper, lower, digit and symbol.
        kept[email] = f"Nw-{secrets.token_urlsafe(9)}7a!"
        _private_file_write(path=path, data=kept)
    return kept[email]


def _private_file_write(*, path, data: dict) -> None:
    """Write `data` as JSON to a file only its owner may read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.chmod(0o600)


def _user_pool_find() -> str:
    pools = cognito_call("list_user_pools", MaxResults=60)["UserPools"]
    return next((p["Id"] for p in pools if p["Name"] == settings.COGNITO_POOL_NAME), "")


def _user_pool_create() -> str:
    return cognito_call(
        "create_user_pool",
        PoolName=settings.COGNITO_POOL_NAME,
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": False},
        AccountRecoverySetting={
            "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
        },
        Schema=[
            {
                "Name": "email",
                "AttributeDataType": "String",
                "Required": True,
                "Mutable": True,
            },
            {
                "Name": "name",
                "AttributeDataType": "String",
                "Required": False,
                "Mutable": True,
            },
        ],
    )["UserPool"]["Id"]


def _app_client_find(*, pool_id: str) -> str:
    clients = cognito_call("list_user_pool_clients", UserPoolId=pool_id, MaxResults=60)
    return next(
        (
            c["ClientId"]
            for c in clients["UserPoolClients"]
            if c["ClientName"] == settings.COGNITO_CLIENT_NAME
        ),
        "",
    )


def _app_client_create(*, pool_id: str, with_secret: bool) -> str:
    return cognito_call(
        "create_user_pool_client",
        UserPoolId=pool_id,
        ClientName=settings.COGNITO_CLIENT_NAME,
        GenerateSecret=with_secret,
        ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
        PreventUserExistenceErrors="ENABLED",
        ReadAttributes=["email", "email_verified", "name"],
        WriteAttributes=["email", "name"],
        EnableTokenRevocation=True,
    )["UserPoolClient"]["ClientId"]


def _groups_ensure(*, pool_id: str, result: BootstrapResult, dry_run: bool) -> None:
    existing = {
        g["GroupName"]
        for g in cognito_call("list_groups", UserPoolId=pool_id)["Groups"]
    }
    for group in [settings.COGNITO_STAFF_GROUP, settings.COGNITO_ADMIN_GROUP]:
        if group not in existing:
            result.created.append(f"group {group}")
            if not dry_run:
                cognito_call("create_group", UserPoolId=pool_id, GroupName=group)


def _demo_account_create(
    *, pool_id: str, email: str, name: str, groups: list[str]
) -> str:
    """Create a confirmed account in `groups`; returns its password."""
    password = _demo_password(email=email)
    cognito_call(
        "admin_create_user",
        UserPoolId=pool_id,
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
        ],
    )
    cognito_call(
        "admin_set_user_password",
        UserPoolId=pool_id,
        Username=email,
        Password=password,
        Permanent=True,
    )
    for group in groups:
        group = settings.COGNITO_STAFF_GROUP if group == "staff" else group
        cognito_call(
            "admin_add_user_to_group",
            UserPoolId=pool_id,
            Username=email,
            GroupName=group,
        )
    return password


def _demo_accounts_ensure(
    *, pool_id: str, result: BootstrapResult, dry_run: bool
) -> None:
    for email, name, groups in DEMO_ACCOUNTS:
        try:
            cognito_call("admin_get_user", UserPoolId=pool_id, Username=email)
            continue
        except CognitoError as exc:
            if exc.code != "UserNotFoundException":
                raise
        result.created.append(f"demo account {email}")
        if not dry_run:
            result.passwords[email] = _demo_account_create(
                pool_id=pool_id, email=email, name=name, groups=groups
            )


def _local_config_record(*, pool_id: str, client_id: str, client_secret: str) -> None:
    """Write the IDs to settings.COGNITO_LOCAL_CONFIG when they changed."""
    record = {
        "endpoint_url": settings.AWS_ENDPOINT_URL,
        "user_pool_id": pool_id,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    if local_config_read() != record:
        _private_file_write(path=settings.COGNITO_LOCAL_CONFIG, data=record)


def cognito_bootstrap(
    *, with_secret: bool = False, dry_run: bool = False
) -> BootstrapResult:
    """
    Provision the pool, app client, groups and demo accounts, idempotently.

    Found by name, so a second run creates nothing and prints no passwords.
    Records the IDs in settings.COGNITO_LOCAL_CONFIG (unless `dry_run`).
    Raises CognitoUnavailable when the endpoint cannot be reached.
    """
    result = BootstrapResult()
    pool_id = _user_pool_find()
    if not pool_id:
        result.created.append(f"user pool {settings.COGNITO_POOL_NAME}")
        if dry_run:
            return result
        pool_id = _user_pool_create()
    result.user_pool_id = pool_id

    client_id = _app_client_find(pool_id=pool_id)
    if not client_id:
        result.created.append(f"app client {settings.COGNITO_CLIENT_NAME}")
        if not dry_run:
            client_id = _app_client_create(pool_id=pool_id, with_secret=with_secret)
    client_secret = ""
    if client_id:
        client = cognito_call(
            "describe_user_pool_client", UserPoolId=pool_id, ClientId=client_id
        )["UserPoolClient"]
        client_secret = client.get("ClientSecret", "")
    result.client_id = client_id

    _groups_ensure(pool_id=pool_id, result=result, dry_run=dry_run)
    _demo_accounts_ensure(pool_id=pool_id, result=result, dry_run=dry_run)
    if not dry_run:
        _local_config_record(
            pool_id=pool_id, client_id=client_id, client_secret=client_secret
        )
    return result
