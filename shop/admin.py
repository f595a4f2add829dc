from django.contrib import admin

from .models import Category, Order, OrderLine, Product, ProductImage, ProductVariant
from .services import product_index_refresh


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
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
    list_display = ["name", "category", "price_from", "in_stock", "is_active", "is_featured"]
    list_filter = ["is_active", "is_featured", "in_stock", "category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["category"]
    inlines = [VariantInline, ImageInline]
    autocomplete_fields = ["category"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        product_index_refresh(product_ids=[form.instance.pk])


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product_name", "sku", "options", "unit_price", "quantity", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "email", "status", "total", "created_at"]
    list_filter = ["status", "shipping_method", "created_at"]
    search_fields = ["number", "email"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    readonly_fields = ["number", "user", "subtotal", "shipping_cost", "total", "currency",
                       "checkout_token", "session_key", "created_at", "updated_at"]
