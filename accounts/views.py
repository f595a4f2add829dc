import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite, site
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.aws import aws_endpoint_is_local
from config.net import client_ip

from . import selectors, services
from .auth import bearer_required
from .cognito import (
    CognitoError,
    CognitoUnavailable,
    NotConfigured,
    TokenError,
    cognito_configured,
)
from .forms import (
    AddressForm,
    ChangePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    ProfileForm,
    ResendForm,
    ResetPasswordForm,
    SignInForm,
    SignUpForm,
)
from .middleware import SESSION_TOKENS, session_signed_in
from .models import Address

UNAVAILABLE = (
    "Signing in is temporarily unavailable. Please try again in a few minutes; "
    "you can keep shopping and check out as a guest meanwhile."
)
NOT_CONFIGURED = (
    "Accounts are not set up on this server yet (run `manage.py cognito_bootstrap`)."
)
PENDING_EMAIL = "accounts_pending_email"
PENDING_SECRET = "accounts_pending_secret"
HOSTED_FLOW = "accounts_hosted_flow"


def _next_url(request) -> str:
    """The `next` URL when it is same-site, else the default landing page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _unavailable_message(exc: CognitoUnavailable) -> str:
    return NOT_CONFIGURED if isinstance(exc, NotConfigured) else UNAVAILABLE


def _sign_in_complete(request, tokens, *, email_verified=False, nonce=None):
    """Verify tokens, sync the user, adopt the cart and start the session."""
    user = authenticate(
        request, cognito_tokens=tokens, email_verified=email_verified, nonce=nonce
    )
    if user is None:
        raise services.AccountLinkError("This account is disabled.")
    # login() cycles the session key, so a pre-login session id is useless;
    # the shop merges the visitor's cart on `user_logged_in`.
    auth_login(request, user)
    request.session[SESSION_TOKENS] = tokens.as_session()
    session_signed_in(request)
    return user


def _throttled(request, throttle):
    minutes = max(1, round(throttle.retry_after / 60))
    response = render(
        request,
        "accounts/throttled.html",
        {"retry_after": throttle.retry_after, "minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(throttle.retry_after)
    return response


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    next_url = _next_url(request)
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        password = form.cleaned_data["password"]
        throttle = services.signin_throttle(ip=client_ip(request), email=email)
        if throttle.blocked:
            return _throttled(request, throttle)
        try:
            tokens = services.account_authenticate(email=email, password=password)
            _sign_in_complete(request, tokens)
        except CognitoUnavailable as exc:
            form.add_error(None, _unavailable_message(exc))
            status = 503
        except CognitoError as exc:
            if exc.code == "UserNotConfirmedException":
                request.session[PENDING_EMAIL] = email
                request.session[PENDING_SECRET] = services.pending_password_seal(
                    password=password
                )
                messages.info(request, "Please enter the code we emailed you.")
                return redirect(_with_next("accounts:confirm", next_url))
            # Unknown email and wrong password read the same (no enumeration).
            form.add_error(None, exc.message)
            if exc.code in {"NotAuthorizedException", "UserNotFoundException"}:
                services.signin_failed(ip=client_ip(request), email=email)
        except (TokenError, services.AccountLinkError):
            form.add_error(
                None,
                "We could not sign you in to this account. Please contact us.",
            )
        else:
            services.signin_throttle_reset(ip=client_ip(request), email=email)
            messages.success(request, "You are signed in.")
            return redirect(next_url)
    context = {
        "form": form,
        "next": next_url,
        "hosted": bool(settings.COGNITO_DOMAIN),
    }
    return render(request, "accounts/login.html", context, status=status)


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    next_url = _next_url(request)
    form = SignUpForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        try:
            services.account_sign_up(
                email=email,
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password"],
            )
        except CognitoUnavailable as exc:
            form.add_error(None, _unavailable_message(exc))
            status = 503
        except CognitoError as exc:
            field = "password" if exc.code == "InvalidPasswordException" else None
            form.add_error(field, exc.message)
        else:
            request.session[PENDING_EMAIL] = email
            request.session[PENDING_SECRET] = services.pending_password_seal(
                password=form.cleaned_data["password"]
            )
            if aws_endpoint_is_local():
                messages.info(
                    request,
                    "The local AWS stand-in sends no email: type any code, "
                    f"for example {services.LOCAL_CODE} (the console says so too).",
                )
            else:
                messages.success(
                    request, f"We have emailed a confirmation code to {email}."
                )
            return redirect(_with_next("accounts:confirm", next_url))
    return render(
        request, "accounts/signup.html", {"form": form, "next": next_url}, status=status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request):
    next_url = _next_url(request)
    pending = request.session.get(PENDING_EMAIL, "")
    form = ConfirmForm(request.POST or None, initial={"email": pending})
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        try:
            services.account_confirm(email=email, code=form.cleaned_data["code"])
        except CognitoUnavailable as exc:
            form.add_error(None, _unavailable_message(exc))
            status = 503
        except CognitoError as exc:
            if exc.code == "NotAuthorizedException":
                messages.info(
                    request, "Your email is already confirmed. Please sign in."
                )
                return redirect(_with_next("accounts:login", next_url))
            field = "code" if "Code" in exc.code else None
            form.add_error(field, exc.message)
        else:
            return _after_confirm(request, email=email, next_url=next_url)
    return render(
        request,
        "accounts/confirm.html",
        {
            "form": form,
            "next": next_url,
            "resend_form": ResendForm(initial={"email": pending}),
            "local_code": services.LOCAL_CODE if aws_endpoint_is_local() else "",
        },
        status=status,
    )


def _after_confirm(request, *, email, next_url):
    sealed = request.session.pop(PENDING_SECRET, None)
    pending_email = request.session.pop(PENDING_EMAIL, None)
    password = services.pending_password_open(sealed=sealed) if sealed else None
    if password and email == pending_email:
        try:
            tokens = services.account_authenticate(email=email, password=password)
            # The code just proved the email is theirs.
            _sign_in_complete(request, tokens, email_verified=True)
        except (
            CognitoError,
            CognitoUnavailable,
            TokenError,
            services.AccountLinkError,
        ):
            pass
        else:
            messages.success(request, "Your email is confirmed and you are signed in.")
            return redirect(next_url)
    messages.success(request, "Your email is confirmed. Please sign in.")
    return redirect(_with_next("accounts:login", next_url))


@require_POST
def resend(request):
    form = ResendForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"].lower()
        try:
            services.account_resend_code(email=email)
        except CognitoUnavailable as exc:
            messages.error(request, _unavailable_message(exc))
        except CognitoError as exc:
            if exc.code not in {"UserNotFoundException", "InvalidParameterException"}:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    "If that account needs confirming, a new code is on its way.",
                )
        else:
            messages.success(
                request, "If that account needs confirming, a new code is on its way."
            )
        request.session[PENDING_EMAIL] = email
    else:
        messages.error(request, "Enter a valid email address.")
    return redirect("accounts:confirm")


@never_cache
@require_http_methods(["GET", "POST"])
def forgot_password(request):
    form = ForgotPasswordForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        try:
            services.account_forgot_password(email=email)
        except CognitoUnavailable as exc:
            form.add_error(None, _unavailable_message(exc))
            status = 503
        except CognitoError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[PENDING_EMAIL] = email
            messages.success(
                request, "If an account uses that email, we have sent it a reset code."
            )
            return redirect("accounts:reset_password")
    return render(
        request, "accounts/forgot_password.html", {"form": form}, status=status
    )


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def reset_password(request):
    form = ResetPasswordForm(
        request.POST or None, initial={"email": request.session.get(PENDING_EMAIL, "")}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.account_reset_password(
                email=form.cleaned_data["email"],
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password"],
            )
        except CognitoUnavailable as exc:
            form.add_error(None, _unavailable_message(exc))
            status = 503
        except CognitoError as exc:
            if exc.code == "InvalidPasswordException":
                form.add_error("password", exc.message)
            elif "Code" in exc.code:
                form.add_error("code", exc.message)
            else:
                form.add_error(None, "That code or email is not right.")
        else:
            request.session.pop(PENDING_EMAIL, None)
            messages.success(request, "Your password was changed. Please sign in.")
            return redirect("accounts:login")
    local_code = services.LOCAL_CODE if aws_endpoint_is_local() else ""
    return render(
        request,
        "accounts/reset_password.html",
        {"form": form, "local_code": local_code},
        status=status,
    )


@sensitive_post_parameters("old_password", "new_password")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_password(request):
    tokens = request.session.get(SESSION_TOKENS)
    form = ChangePasswordForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if not tokens:
            form.add_error(None, "This account's password is not managed here.")
        else:
            try:
                services.account_change_password(
                    access_token=tokens["access"],
                    old=form.cleaned_data["old_password"],
                    new=form.cleaned_data["new_password"],
                )
            except CognitoUnavailable as exc:
                form.add_error(None, _unavailable_message(exc))
                status = 503
            except CognitoError as exc:
                if exc.code == "InvalidPasswordException":
                    form.add_error("new_password", exc.message)
                elif exc.code == "NotAuthorizedException":
                    form.add_error(
                        "old_password", "Your current password is not right."
                    )
                else:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, "Your password was changed.")
                return redirect("accounts:profile")
    return render(
        request, "accounts/change_password.html", {"form": form}, status=status
    )


@require_POST
def logout(request):
    tokens = request.session.get(SESSION_TOKENS)
    if request.user.is_authenticated:
        # Bearer tokens issued so far are refused from now on, though
        # Cognito's stay valid until they expire.
        services.account_tokens_revoke(user=request.user)
    if tokens:
        services.account_global_sign_out(access_token=tokens["access"])
        services.account_refresh_revoke(refresh_token=tokens["refresh"])
    auth_logout(request)
    messages.success(request, "You are signed out.")
    if tokens and settings.COGNITO_DOMAIN and cognito_configured():
        return redirect(services.hosted_logout_url())
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, initial={"name": request.user.name})
    if request.method == "POST" and form.is_valid():
        tokens = request.session.get(SESSION_TOKENS) or {}
        try:
            services.account_update_name(
                user=request.user,
                name=form.cleaned_data["name"],
                access_token=tokens.get("access"),
            )
        except CognitoUnavailable as exc:
            form.add_error(None, _unavailable_message(exc))
        except CognitoError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Your details were saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def addresses(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.address_save(
            user=request.user,
            data=form.cleaned_data,
            is_default=form.cleaned_data["make_default"],
        )
        messages.success(request, "The address was saved.")
        return redirect("accounts:addresses")
    return render(
        request,
        "accounts/addresses.html",
        {"addresses": selectors.address_list(user=request.user), "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk):
    address = get_object_or_404(Address, pk=pk, user=request.user)
    form = AddressForm(
        request.POST or None,
        initial={
            **address.address_fields(),
            "label": address.label,
            "make_default": address.is_default,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.address_save(
            user=request.user,
            data=form.cleaned_data,
            address=address,
            is_default=form.cleaned_data["make_default"],
        )
        messages.success(request, "The address was updated.")
        return redirect("accounts:addresses")
    return render(
        request, "accounts/address_edit.html", {"form": form, "address": address}
    )


@login_required
@require_POST
def address_delete(request, pk):
    address = get_object_or_404(Address, pk=pk, user=request.user)
    services.address_delete(address=address)
    messages.success(request, "The address was removed.")
    return redirect("accounts:addresses")


# ---------------------------------------------------------------------------
# Hosted UI
# ---------------------------------------------------------------------------


@require_GET
def hosted_start(request):
    if not settings.COGNITO_DOMAIN:
        raise Http404("The hosted sign-in is not enabled.")
    flow = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),
        "next": _next_url(request),
    }
    try:
        url = services.hosted_authorize_url(
            state=flow["state"], nonce=flow["nonce"], verifier=flow["verifier"]
        )
    except CognitoUnavailable as exc:
        messages.error(request, _unavailable_message(exc))
        return redirect("accounts:login")
    request.session[HOSTED_FLOW] = flow
    return redirect(url)


@require_GET
def hosted_callback(request):
    if not settings.COGNITO_DOMAIN:
        raise Http404("The hosted sign-in is not enabled.")
    flow = request.session.pop(HOSTED_FLOW, None)
    state = request.GET.get("state", "")
    code = request.GET.get("code", "")
    if (
        not flow
        or not state
        or not secrets.compare_digest(state, flow["state"])
        or not code
    ):
        messages.error(
            request, "That sign-in link expired or was not ours. Please try again."
        )
        return redirect("accounts:login")
    try:
        tokens = services.hosted_exchange_code(
            code=code[:2048], verifier=flow["verifier"]
        )
        _sign_in_complete(request, tokens, nonce=flow["nonce"])
    except CognitoUnavailable as exc:
        messages.error(request, _unavailable_message(exc))
    except (CognitoError, TokenError, services.AccountLinkError):
        messages.error(request, "We could not sign you in. Please try again.")
    else:
        messages.success(request, "You are signed in.")
        return redirect(flow["next"])
    return redirect("accounts:login")


# ---------------------------------------------------------------------------
# Staff and API
# ---------------------------------------------------------------------------


def admin_login(request, extra_context=None):
    """Django admin's login: staff sign in through Cognito like everyone."""
    if cognito_configured():
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(_with_next("accounts:login", next_url))
    return AdminSite.login(site, request, extra_context)


@never_cache
def local_login(request):
    """Break-glass sign-in with a local password (createsuperuser accounts)."""
    if request.method == "POST":
        email = request.POST.get("username", "")[:254].lower()
        throttle = services.signin_throttle(ip=client_ip(request), email=email)
        if throttle.blocked:
            return _throttled(request, throttle)
    response = AdminSite.login(site, request)
    if request.method == "POST" and not request.user.is_authenticated:
        services.signin_failed(ip=client_ip(request), email=email)
    return response


@require_GET
@bearer_required
def api_me(request):
    user = request.user
    return JsonResponse(
        {
            "email": user.email,
            "name": user.name,
            "is_staff": user.is_staff,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }
    )
