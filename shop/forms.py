from decimal import Decimal
from typing import NamedTuple
from urllib.parse import urlencode

from django import forms
from django.conf import settings

from accounts.forms import AddressFields

from .models import Refund
from .money import money_format
from .selectors import SORTS, ListingFilters
from .services import MAX_LINE_QUANTITY, RefundError, order_refund


class FilterChip(NamedTuple):
    """An active filter as a removable chip: its label and the URL without it."""

    label: str
    url: str


class ListingForm(forms.Form):
    """Sort and filters for category and search listings (GET)."""

    sort = forms.ChoiceField(
        choices=[(k, v[0]) for k, v in SORTS.items()], required=False
    )
    min_price = forms.DecimalField(
        min_value=0, max_value=Decimal("1000000"), decimal_places=2, required=False
    )
    max_price = forms.DecimalField(
        min_value=0, max_value=Decimal("1000000"), decimal_places=2, required=False
    )
    in_stock = forms.BooleanField(required=False)

    def filters(self) -> ListingFilters:
        """The valid filters; invalid values are ignored rather than failing."""
        data = self.cleaned_data if self.is_valid() else {}
        return ListingFilters(
            sort=data.get("sort") or "featured",
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            in_stock=bool(data.get("in_stock")),
        )

    def chips(self) -> list[FilterChip]:
        """
        The active filters, each with the link that drops it, and last
        "Clear all"; none when no filter is on. The links keep the search
        and the sort, carry no empty parameters and start from page one.
        """
        filters = self.filters()
        params = {
            "q": self.data.get("q", "").strip(),
            "sort": "" if filters.sort == "featured" else filters.sort,
            "min_price": filters.min_price,
            "max_price": filters.max_price,
            "in_stock": "on" if filters.in_stock else "",
        }
        labels = {
            "min_price": f"From {money_format(filters.min_price)}",
            "max_price": f"Up to {money_format(filters.max_price)}",
            "in_stock": "In stock only",
        }

        def url(**dropped) -> str:
            kept = {k: v for k, v in (params | dropped).items() if v not in ("", None)}
            return "?" + urlencode(kept) if kept else "."

        chips = [
            FilterChip(label, url(**{name: ""}))
            for name, label in labels.items()
            if params[name] not in ("", None)
        ]
        if not chips:
            return []
        return [*chips, FilterChip("Clear all", url(**dict.fromkeys(labels, "")))]


class AddToCartForm(forms.Form):
    variant = forms.IntegerField(min_value=1, max_value=2**62)
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_LINE_QUANTITY,
        initial=1,
        error_messages={
            "min_value": "Choose a quantity of at least 1.",
            "max_value": f"You can buy at most {MAX_LINE_QUANTITY} at once.",
            "invalid": "Enter a whole number.",
        },
    )


class CartLineForm(forms.Form):
    quantity = forms.IntegerField(
        min_value=0,
        max_value=MAX_LINE_QUANTITY,
        error_messages={
            "min_value": "A quantity cannot be negative.",
            "max_value": f"You can buy at most {MAX_LINE_QUANTITY} of one item.",
            "invalid": "Enter a whole number.",
        },
    )


class CheckoutForm(AddressFields):
    field_order = ["email"]

    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    shipping_method = forms.ChoiceField(widget=forms.RadioSelect)
    payment_method = forms.ChoiceField(widget=forms.RadioSelect)
    checkout_token = forms.CharField(
        widget=forms.HiddenInput, max_length=64, min_length=16
    )

    def __init__(self, *args, payment_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shipping_method"].choices = [
            (code, f"{label} — {settings.SHOP_CURRENCY} {price}")
            for code, (label, price) in settings.SHOP_SHIPPING_METHODS.items()
        ]
        self.fields["shipping_method"].initial = next(
            iter(settings.SHOP_SHIPPING_METHODS)
        )
        self.fields["payment_method"].choices = list(payment_choices)
        if payment_choices:
            self.fields["payment_method"].initial = payment_choices[0][0]


class OrderLookupForm(forms.Form):
    number = forms.CharField(label="Order number", max_length=20)
    email = forms.EmailField(max_length=254)


class RefundForm(forms.Form):
    """Staff refund part or all of an order, restocking the lines they choose."""

    amount = forms.DecimalField(min_value=Decimal("0.01"), decimal_places=2)
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["amount"].max_value = order.amount_refundable
        self.fields["amount"].initial = order.amount_refundable
        self.lines = list(order.lines.all())
        for line in self.lines:
            left = line.quantity - line.quantity_restocked
            self.fields[f"restock_{line.pk}"] = forms.IntegerField(
                label=f"Restock {line.product_name} ({line.sku})",
                min_value=0,
                max_value=left,
                initial=0,
                help_text=f"{left} of {line.quantity} not yet back in stock",
            )

    def restock(self) -> dict[int, int]:
        """Order line id -> units to put back in stock."""
        return {
            line.pk: self.cleaned_data[f"restock_{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"restock_{line.pk}")
        }

    def submit(self, *, by) -> Refund | None:
        """
        Make the refund through `order_refund`, which holds every rule; None,
        with its reason on the form, when it is refused. The admin's Refund
        page and the dashboards' order page both post here.
        """
        if not self.is_valid():
            return None
        try:
            return order_refund(
                order=self.order,
                amount=self.cleaned_data["amount"],
                restock=self.restock(),
                reason=self.cleaned_data["reason"],
                by=by,
            )
        except RefundError as exc:
            self.add_error(None, str(exc))
            return None
