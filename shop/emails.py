"""
Order emails: one message per event in an order's life, rendered from
templates as plain text and HTML (inline CSS, no remote images), sent by the
task worker (shop/tasks.py).
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import Order

# kind -> subject; the bodies are templates/shop/email/<kind>.txt and .html.
SUBJECTS = {
    "confirmed": "Your {shop} order {number}",
    "paid": "Payment received for your {shop} order {number}",
    "shipped": "Your {shop} order {number} is on its way",
    "cancelled": "Your {shop} order {number} was cancelled",
    "refunded": "A refund for your {shop} order {number}",
}


def order_email_message(*, order: Order, kind: str) -> EmailMultiAlternatives:
    """The email of `kind` about `order`, ready to send; KeyError for no such kind."""
    subject = SUBJECTS[kind].format(shop=settings.SHOP_NAME, number=order.number)
    refunds = list(order.refunds.all())
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "refund": refunds[-1] if refunds else None,
        "site_url": settings.SITE_URL,
        "shop_name": settings.SHOP_NAME,
        "subject": subject,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"shop/email/{kind}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
    )
    message.attach_alternative(
        render_to_string(f"shop/email/{kind}.html", context), "text/html"
    )
    return message


def order_email_deliver(*, order_id: int, kind: str) -> None:
    """Render and send one order email; raises when the mail server fails."""
    order = Order.objects.get(pk=order_id)
    order_email_message(order=order, kind=kind).send()
