"""Background tasks of accounts (django.tasks), run by the worker."""

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.urls import reverse


@task
def account_exists_notice_send(*, email: str) -> None:
    """
    Tell the owner of `email` that someone tried to sign up with it.

    Sign-up answers the same whether or not an account exists (so it never
    reveals one, as Cognito's PreventUserExistenceErrors intends); the real
    owner hears of it here instead.
    """
    send_mail(
        f"Your {settings.SHOP_NAME} account",
        "Someone, perhaps you, tried to create an account with this email "
        "address, which already has one.\n\n"
        f"To sign in: {settings.SITE_URL}{reverse('accounts:login')}\n"
        "Forgotten your password? "
        f"{settings.SITE_URL}{reverse('accounts:forgot_password')}\n\n"
        "If it was not you, you need do nothing: your account is unchanged.\n",
        None,
        [email],
    )
