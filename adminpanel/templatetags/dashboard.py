"""Formatting for dashboard figures and deltas (presentation only)."""

import datetime as dt

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from config.days import shop_zone
from shop.money import money_format

register = template.Library()


@register.filter
def money(value) -> str:
    return money_format(value) or "—"


@register.filter
def pct(value) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f}%"


@register.filter
def num(value) -> str:
    if value is None:
        return "—"
    return intcomma(int(value))


@register.simple_tag
def delta(current, previous, *, lower_is_better=False):
    """The change against the previous period, marked up or down."""
    if current is None or previous is None:
        return mark_safe('<span class="delta flat">—</span>')
    current, previous = float(current), float(previous)
    if previous == 0:
        if current == 0:
            return mark_safe('<span class="delta flat">±0%</span>')
        return mark_safe('<span class="delta up">new</span>')
    change = (current - previous) / abs(previous)
    if abs(change) < 0.0005:
        return mark_safe('<span class="delta flat">±0%</span>')
    good = (change > 0) != lower_is_better
    arrow = "▲" if change > 0 else "▼"
    return format_html(
        '<span class="delta {} {}" title="previous period: {}">{} {}%</span>',
        "up" if change > 0 else "down",
        "good" if good else "bad",
        f"{previous:,.2f}".rstrip("0").rstrip("."),
        arrow,
        f"{abs(change) * 100:.1f}",
    )


@register.simple_tag
def cell(row: dict, key: str, kind: str):
    """One table cell, formatted by its column kind."""
    value = row.get(key)
    if kind == "money":
        return money(value)
    if kind == "pct":
        return pct(value)
    if kind == "int":
        return num(value)
    if kind == "datetime":
        if value is None:
            return "—"
        return f"{timezone.localtime(value):%d %b %Y %H:%M}"
    if kind == "order":
        # An order number, linked to the order's page (refunds are made there).
        if not value:
            return "—"
        url = reverse("adminpanel:order", kwargs={"number": value})
        return format_html('<a href="{}">{}</a>', url, value)
    if kind == "period":
        # A chart bucket: a local day, or an hour (an aware datetime).
        if isinstance(value, dt.datetime):
            return f"{timezone.localtime(value, shop_zone()):%d %b %Y %H:00}"
        return f"{value:%d %b %Y}"
    if value in (None, ""):
        return "—"
    return value


@register.simple_tag
def figure(value, kind: str):
    return cell({"v": value}, "v", kind)
