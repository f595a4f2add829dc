"""
The API's request and response bodies. Money is a decimal string ("19.99")
in the shop's currency; validation rules live in the shop's forms, which the
endpoints reuse, so these schemas only state shapes.
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from accounts.api import AddressFieldsIn
from shop.selectors import SORTS

Sort = Literal[tuple(SORTS)]
StockState = Literal["in_stock", "low_stock", "sold_out"]
Slug = Field(pattern=r"^[-a-zA-Z0-9_]{1,220}$")


# ---------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------


class CategoryOut(BaseModel):
    slug: str
    name: str
    description: str
    children: list["CategoryOut"]


class CategoryRef(BaseModel):
    slug: str
    name: str


class ProductCard(BaseModel):
    slug: str
    name: str
    price_from: Decimal
    in_stock: bool
    is_featured: bool
    image: str = Field(description="URL of the first image; empty when none.")


class ProductPage(BaseModel):
    items: list[ProductCard]
    count: int = Field(
        description="Products matching, on every page; counted up to 1,000."
    )
    count_capped: bool = Field(
        description='More products match than `count` (shown as "1,000+").'
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    previous_cursor: str | None


class VariantOut(BaseModel):
    id: int
    sku: str
    options: dict[str, str]
    label: str
    price: Decimal
    compare_at_price: Decimal | None = Field(description="The old price, when on sale.")
    on_sale: bool
    in_stock: bool
    stock_state: StockState
    stock_left: int | None = Field(description="Units left, given only when low.")


class ImageOut(BaseModel):
    src: str
    alt: str


class ProductOut(BaseModel):
    slug: str
    name: str
    description: str
    category: CategoryRef
    breadcrumbs: list[CategoryRef]
    price_from: Decimal
    on_sale: bool
    in_stock: bool
    currency: str
    options: dict[str, list[str]] = Field(
        description="Each option's values, in variant order, for a picker."
    )
    variants: list[VariantOut]
    images: list[ImageOut]


# ---------------------------------------------------------------------------
# Cart
# ---------------------------------------------------------------------------


class CartLineIn(BaseModel):
    variant_id: int
    quantity: int = 1


class CartQuantityIn(BaseModel):
    quantity: int = Field(description="0 removes the line.")


class CartLineOut(BaseModel):
    id: int
    variant_id: int
    product_slug: str
    product_name: str
    sku: str
    options: dict[str, str]
    image: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal


class CartOut(BaseModel):
    token: str | None = Field(
        description="Send as X-Cart-Token to use this cart again (guest carts "
        "without a session cookie only)."
    )
    lines: list[CartLineOut]
    count: int
    subtotal: Decimal
    currency: str
    problems: list[str] = Field(
        description="What stops this cart being ordered as it is."
    )


# ---------------------------------------------------------------------------
# Checkout and orders
# ---------------------------------------------------------------------------


class CheckoutIn(AddressFieldsIn):
    email: str
    shipping_method: str = Field(description="A code from GET /checkout/options.")
    payment_method: str = Field(description="A code from GET /checkout/options.")


class ChoiceOut(BaseModel):
    code: str
    label: str
    price: Decimal | None = None


class CheckoutOptionsOut(BaseModel):
    currency: str
    shipping_methods: list[ChoiceOut]
    payment_methods: list[ChoiceOut]
    countries: list[ChoiceOut]


class OrderLineOut(BaseModel):
    product_slug: str | None
    product_name: str
    sku: str
    options: dict[str, str]
    unit_price: Decimal
    quantity: int
    line_total: Decimal


class OrderSummary(BaseModel):
    number: str
    status: str
    created_at: datetime
    total: Decimal
    currency: str
    item_count: int


class OrderOut(BaseModel):
    number: str
    status: str
    created_at: datetime
    email: str
    address_lines: list[str]
    shipping_method: str
    payment_method: str
    currency: str
    subtotal: Decimal
    shipping_cost: Decimal
    total: Decimal
    can_cancel: bool
    lines: list[OrderLineOut]


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None


class OrderLookupIn(BaseModel):
    number: str
    email: str
