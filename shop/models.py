from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from accounts.models import AbstractAddress

from .money import money_format


class Category(models.Model):
    """A node in the catalogue tree."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, related_name="children", on_delete=models.PROTECT
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    # The slugs from the root to this node, "a/b/c": lets a listing find all
    # descendants with one indexed prefix query instead of walking the tree.
    path = models.CharField(max_length=1000, db_index=True, editable=False, default="")

    class Meta:
        ordering = ["path", "position"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="category_not_own_parent"
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # `path` is derived from the parent chain, so it is kept here: the
        # admin, loaders and seeders all save categories.
        old_path = self.path
        self.path = f"{self.parent.path}/{self.slug}" if self.parent else self.slug
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            for child in self.children.all():
                child.save()

    def get_absolute_url(self):
        return reverse("shop:category", kwargs={"slug": self.slug})

    def clean(self):
        node = self.parent
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError({"parent": "A category cannot sit under itself."})
            node = node.parent

    @property
    def depth(self) -> int:
        return self.path.count("/")

    def ancestors(self) -> list["Category"]:
        """From the root down to this category, for breadcrumbs."""
        slugs = self.path.split("/")
        by_slug = {c.slug: c for c in Category.objects.filter(slug__in=slugs)}
        return [by_slug[s] for s in slugs if s in by_slug]

    def descendant_filter(self, prefix: str = "") -> Q:
        """A filter matching this category and everything below it."""
        return Q(**{f"{prefix}path": self.path}) | Q(
            **{f"{prefix}path__startswith": self.path + "/"}
        )


class ProductQuerySet(models.QuerySet):
    def available(self):
        return self.filter(is_active=True)

    def in_category(self, category: Category):
        return self.filter(
            category__in=Category.objects.filter(category.descendant_filter())
        )

    def with_listing_data(self):
        """Annotate what a product card shows, in the same single query."""
        return self.select_related("category").annotate(
            min_price=models.Min("variants__price"),
            max_compare_at=models.Max("variants__compare_at_price"),
            total_stock=models.Sum("variants__stock"),
        )


# The listing sorts' columns, as shop.selectors.SORTS orders them, with the
# name of the partial index (is_active) that serves each one.
LISTING_SORT_COLUMNS = {
    "featured": ["-is_featured", "-units_sold", "name"],
    "price_asc": ["price_from", "name"],
    "price_desc": ["-price_from", "name"],
    "newest": ["-created_at", "name"],
    "best_selling": ["-units_sold", "name"],
}
LISTING_INDEXES = {
    **{f"product_{sort}_idx": cols for sort, cols in LISTING_SORT_COLUMNS.items()},
    **{
        f"product_cat_{sort}_idx": ["category", *cols]
        for sort, cols in LISTING_SORT_COLUMNS.items()
    },
}


class Product(models.Model):
    category = models.ForeignKey(
        Category, related_name="products", on_delete=models.PROTECT
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    is_featured = models.BooleanField(default=False)
    # Denormalised for sorting by best-selling; kept by order_place/cancel.
    units_sold = models.PositiveIntegerField(default=0, editable=False)
    # Denormalised for listings: the first image and the lowest price.
    primary_image_url = models.CharField(max_length=1000, blank=True, editable=False)
    price_from = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), editable=False
    )
    in_stock = models.BooleanField(default=False, editable=False)
    # Weighted full-text document (name A, SKUs B, description C), written by
    # shop.services.product_index_refresh; GIN-indexed on PostgreSQL.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # One partial index per listing sort (shop.selectors.SORTS), in the
        # sort's exact column order: a page is read in order from the index,
        # never sorted from every match. The category_id ones serve a leaf
        # category; the others a top category or a price range.
        indexes = [
            models.Index(fields=fields, condition=Q(is_active=True), name=name)
            for name, fields in LISTING_INDEXES.items()
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product", kwargs={"slug": self.slug})


class ProductVariant(models.Model):
    product = models.ForeignKey(
        Product, related_name="variants", on_delete=models.CASCADE
    )
    sku = models.CharField("SKU", max_length=64, unique=True)
    # Option values such as {"size": "M", "colour": "Blue"}.
    options = models.JSONField(default=dict, blank=True)
    # The options' names in the order the shop shows them ("Red / Large"):
    # PostgreSQL's jsonb keeps an object's keys in an order of its own.
    option_order = models.JSONField(default=list, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    compare_at_price = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    stock = models.IntegerField(default=0)
    # False when the shop does not count this variant's stock: it is always
    # for sale and orders never decrement it.
    track_inventory = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__gte=0), name="variant_stock_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="variant_price_gte_0"
            ),
        ]
        # A search for an exact SKU, in any case (sku__iexact).
        indexes = [models.Index(Upper("sku"), name="variant_sku_upper_idx")]

    def __str__(self):
        return (
            f"{self.product.name} ({self.label})" if self.options else self.product.name
        )

    @property
    def label(self) -> str:
        names = [n for n in self.option_order if n in self.options]
        names += [n for n in self.options if n not in names]
        return " / ".join(str(self.options[n]) for n in names) or "Default"

    @property
    def in_stock(self) -> bool:
        return not self.track_inventory or self.stock > 0

    @property
    def on_sale(self) -> bool:
        return self.compare_at_price is not None and self.compare_at_price > self.price


def product_image_path(instance, filename):
    return f"products/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    """A stored file or an external URL (kept as-is from imported catalogues)."""

    product = models.ForeignKey(
        Product, related_name="images", on_delete=models.CASCADE
    )
    image = models.ImageField(upload_to=product_image_path, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    alt = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(image="") | ~Q(url=""), name="image_has_file_or_url"
            )
        ]

    def __str__(self):
        return self.alt or self.src

    @property
    def src(self) -> str:
        return self.image.url if self.image else self.url


class Cart(models.Model):
    """A basket in the database, owned by a user or an anonymous session."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="cart",
        on_delete=models.CASCADE,
    )
    session_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    # The opaque key an API client without cookies (an SPA, a mobile app)
    # names its anonymous cart by, in the X-Cart-Token header.
    token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False)
                | Q(session_key__isnull=False)
                | Q(token__isnull=False),
                name="cart_has_owner",
            )
        ]

    def __str__(self):
        return f"Cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, related_name="lines", on_delete=models.CASCADE)
    variant = models.ForeignKey(
        ProductVariant, related_name="+", on_delete=models.CASCADE
    )
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "variant"], name="cartline_unique_variant"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="cartline_quantity_gt_0"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.variant_id}"

    @property
    def line_total(self) -> Decimal:
        return self.variant.price * self.quantity


class OrderQuerySet(models.QuerySet):
    def placed(self):
        """Orders that count as sales: paid, or cash on delivery, not cancelled."""
        return self.exclude(status__in=Order.NOT_SALES)

    def holds_expired(self, *, now):
        """Card orders still waiting for payment whose stock hold has run out."""
        return self.filter(
            status=Order.Status.AWAITING_PAYMENT, hold_expires_at__lte=now
        )


class Order(AbstractAddress):
    """A placed order; its delivery address is a snapshot."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        # A card order: its stock is held until the payment succeeds, fails
        # or the hold expires (docs/payments.md).
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        # The payment failed, was cancelled or came too late: stock released.
        UNPAID = "unpaid", "Payment not completed"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    # The one place that says which status may follow which.
    TRANSITIONS = {
        Status.PENDING: {Status.PAID, Status.CANCELLED},
        Status.AWAITING_PAYMENT: {Status.PAID, Status.UNPAID, Status.CANCELLED},
        # A payment that succeeds after the hold was released re-reserves
        # the stock (paid) or is refunded (cancelled).
        Status.UNPAID: {Status.PAID, Status.CANCELLED},
        Status.PAID: {Status.SHIPPED, Status.CANCELLED},
        Status.SHIPPED: {Status.DELIVERED},
        Status.DELIVERED: set(),
        Status.CANCELLED: set(),
    }
    # Statuses that are not sales: dashboards and customer stats skip them.
    NOT_SALES = (Status.CANCELLED, Status.AWAITING_PAYMENT, Status.UNPAID)

    number = models.CharField(max_length=20, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="orders",
        on_delete=models.SET_NULL,
    )
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    # The shopper's clickstream visitor and session at checkout: the
    # `purchase` event is theirs even when a webhook confirms the order.
    analytics_visitor_id = models.CharField(max_length=64, blank=True)
    analytics_session_id = models.CharField(max_length=64, blank=True)
    # Idempotency key of the checkout form: a resubmission finds this order.
    checkout_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    email = models.EmailField(db_index=True)
    shipping_method = models.CharField(max_length=30)
    payment_method = models.CharField(max_length=30)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_cost = models.DecimalField(max_digits=10, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # Card payments: until when the stock stays held, the provider's
    # payment reference (a Stripe PaymentIntent id) and when it was paid.
    hold_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    payment_reference = models.CharField(max_length=255, blank=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Set when the order ships; the carrier is a key of SHOP_CARRIERS.
    carrier = models.CharField(max_length=30, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Indexed: the daily order rollups re-roll days of orders changed since.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("shop:order_detail", kwargs={"number": self.number})

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def can_cancel(self) -> bool:
        return self.can_transition_to(self.Status.CANCELLED)

    @property
    def awaiting_payment(self) -> bool:
        return self.status == self.Status.AWAITING_PAYMENT

    @property
    def amount_refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds.all()), Decimal("0"))

    @property
    def amount_refundable(self) -> Decimal:
        """What may still be refunded: only money actually taken."""
        if self.paid_at is None:
            return Decimal("0")
        return self.total - self.amount_refunded

    @property
    def tracking_url(self) -> str:
        carrier = settings.SHOP_CARRIERS.get(self.carrier)
        if not carrier or not self.tracking_number:
            return ""
        return carrier[1].format(tracking=self.tracking_number)

    @property
    def carrier_label(self) -> str:
        carrier = settings.SHOP_CARRIERS.get(self.carrier)
        return carrier[0] if carrier else self.carrier

    def status_history(self) -> list["OrderStatusChange"]:
        """
        The statuses the order took and when, oldest first; the first is its
        placing. An order from before the history was kept gets its placing
        and, if it moved on, its current status when it last changed.
        """
        changes = list(self.status_changes.all())
        if changes:
            return changes
        first = self.Status.PENDING
        steps = [OrderStatusChange(order=self, status=first, at=self.created_at)]
        if self.status != first:
            steps.append(
                OrderStatusChange(order=self, status=self.status, at=self.updated_at)
            )
        return steps


class OrderLine(models.Model):
    """A snapshot of what was bought: it never changes with the catalogue."""

    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    variant = models.ForeignKey(
        ProductVariant,
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    product_name = models.CharField(max_length=200)
    sku = models.CharField("SKU", max_length=64)
    options = models.JSONField(default=dict, blank=True)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    # Units put back on the shelf (a cancel, a refund that restocks), so no
    # unit is ever returned twice.
    quantity_restocked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(quantity_restocked__lte=F("quantity")),
                name="orderline_restocked_lte_quantity",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product_name}"

    @classmethod
    def snapshot(
        cls, *, order: Order, variant: ProductVariant, quantity: int
    ) -> "OrderLine":
        """An unsaved line recording what `variant` is now (needs `product`)."""
        return cls(
            order=order,
            variant=variant,
            product=variant.product,
            product_name=variant.product.name,
            sku=variant.sku,
            options=variant.options,
            unit_price=variant.price,
            quantity=quantity,
            line_total=variant.price * quantity,
        )

    @property
    def options_label(self) -> str:
        return " / ".join(str(v) for v in self.options.values())


class Refund(models.Model):
    """Money given back on an order, through its payment provider."""

    order = models.ForeignKey(Order, related_name="refunds", on_delete=models.PROTECT)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The provider's id for the refund (a Stripe re_...); blank for cash.
    reference = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0")
        ]

    def __str__(self):
        return f"Refund of {money_format(self.amount, self.currency)} on order {self.order_id}"


class RefundLine(models.Model):
    """Units of an order line that a refund put back in stock."""

    refund = models.ForeignKey(Refund, related_name="lines", on_delete=models.CASCADE)
    order_line = models.ForeignKey(
        OrderLine, related_name="refund_lines", on_delete=models.CASCADE
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="refundline_quantity_gt_0"
            )
        ]

    def __str__(self):
        return f"{self.quantity} × line {self.order_line_id}"


class PaymentEvent(models.Model):
    """A provider's webhook event, kept by id so that a replay changes nothing."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="paymentevent_unique_id"
            )
        ]

    def __str__(self):
        return f"{self.provider} {self.event_id}"


class OrderStatusChange(models.Model):
    """One step of an order's life: the status it took, and when."""

    order = models.ForeignKey(
        Order, related_name="status_changes", on_delete=models.CASCADE
    )
    status = models.CharField(max_length=20, choices=Order.Status.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order} {self.status} at {self.at:%Y-%m-%d %H:%M}"
