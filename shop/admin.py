from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .forms import RefundForm
from .models import (
    Category,
    Order,
    OrderLine,
    Product,
    ProductImage,
    ProductVariant,
    Refund,
)
from .services import OrderStatusError, order_set_status, product_index_refresh


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    # Ordered by the materialised path, so every node follows its parent.
    list_display = ["indented_name", "slug", "position"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["path"]
    list_select_related = ["parent"]

    @admin.display(description="Name", ordering="path")
    def indented_name(self, obj):
        return f"{'— ' * obj.depth}{obj.name}"


class VariantInline(admin.TabularInline):
    model = ProductVariant
    extra = 0
    fields = ["sku", "options", "price", "compare_at_price", "stock", "position"]


class ImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["image", "url", "alt", "position"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "category",
        "price_from",
        "in_stock",
        "is_active",
        "is_featured",
    ]
    list_filter = ["is_active", "is_featured", "in_stock", "category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["category"]
    inlines = [VariantInline, ImageInline]
    autocomplete_fields = ["category"]
    actions = ["activate", "deactivate"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        product_index_refresh(product_ids=[form.instance.pk])

    @admin.action(description="Activate selected products")
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected products")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active: bool):
        ids = list(queryset.values_list("pk", flat=True))
        changed = Product.objects.filter(pk__in=ids).update(is_active=active)
        product_index_refresh(product_ids=ids)
        state = "activated" if active else "deactivated"
        self.message_user(request, f"{changed} product(s) {state}.", messages.SUCCESS)


@admin.register(ProductVariant)
class ProductVariantAdmin(admin.ModelAdmin):
    """Stock and prices, edited in the list like a spreadsheet."""

    list_display = ["sku", "product", "label_display", "price", "stock", "is_active"]
    list_editable = ["price", "stock"]
    list_filter = ["product__is_active", "product__category"]
    search_fields = ["sku", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    ordering = ["product__name", "position", "id"]
    list_per_page = 100

    @admin.display(description="Options")
    def label_display(self, obj):
        return obj.label

    @admin.display(boolean=True, description="Active", ordering="product__is_active")
    def is_active(self, obj):
        return obj.product.is_active

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Listings show the lowest price and whether anything is in stock.
        product_index_refresh(product_ids=[obj.product_id])


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product_name", "sku", "options", "unit_price", "quantity", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["created_at", "amount", "currency", "reason", "reference", "created_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders change status only through the service, which restocks on cancel."""

    list_display = ["number", "email", "status", "total", "created_at"]
    actions = ["mark_paid", "mark_shipped", "mark_delivered", "cancel_and_restock"]
    list_filter = ["status", "shipping_method", "created_at"]
    search_fields = ["number", "email"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, RefundInline]
    readonly_fields = [
        "refund_link",
        "payment_reference",
        "paid_at",
        "hold_expires_at",
        "number",
        "user",
        "subtotal",
        "shipping_cost",
        "total",
        "currency",
        "checkout_token",
        "session_key",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        # Status changes go through order_set_status (the actions), never a
        # plain edit that would skip the transition rules and the restock.
        return [*self.readonly_fields, "status"]

    def get_urls(self):
        return [
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="shop_order_refund",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Refund")
    def refund_link(self, obj):
        if obj.pk is None or obj.amount_refundable <= 0:
            return "Nothing to refund"
        return format_html(
            '<a class="button" href="{}">Refund…</a>',
            reverse("admin:shop_order_refund", args=[obj.pk]),
        )

    def refund_view(self, request, pk):
        """A full or partial refund through the provider, restocking chosen lines."""
        order = get_object_or_404(Order, pk=pk)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        form = RefundForm(request.POST or None, order=order)
        if request.method == "POST" and form.submit(by=request.user):
            self.message_user(
                request, f"Refunded {form.cleaned_data['amount']}.", messages.SUCCESS
            )
            return redirect("admin:shop_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": order,
            "title": f"Refund order {order.number}",
            "form": form,
        }
        return TemplateResponse(request, "admin/shop/order/refund.html", context)

    def _transition(self, request, queryset, status: str):
        done, refused = 0, []
        for order in queryset.order_by("pk"):
            try:
                order_set_status(
                    order=order,
                    status=status,
                    carrier=order.carrier,
                    tracking_number=order.tracking_number,
                    by=request.user,
                )
            except OrderStatusError as exc:
                refused.append(f"{order.number}: {exc}")
            else:
                done += 1
        label = Order.Status(status).label.lower()
        if done:
            self.message_user(
                request, f"{done} order(s) marked {label}.", messages.SUCCESS
            )
        for problem in refused:
            self.message_user(request, problem, messages.WARNING)

    @admin.action(description="Mark selected orders paid")
    def mark_paid(self, request, queryset):
        self._transition(request, queryset, Order.Status.PAID)

    @admin.action(description="Mark selected orders shipped")
    def mark_shipped(self, request, queryset):
        self._transition(request, queryset, Order.Status.SHIPPED)

    @admin.action(description="Mark selected orders delivered")
    def mark_delivered(self, request, queryset):
        self._transition(request, queryset, Order.Status.DELIVERED)

    @admin.action(description="Cancel selected orders and restock")
    def cancel_and_restock(self, request, queryset):
        self._transition(request, queryset, Order.Status.CANCELLED)
