from django.contrib.sitemaps.views import index, sitemap
from django.urls import path, re_path

from . import views
from .sitemaps import CategorySitemap, ProductSitemap

app_name = "shop"

SITEMAPS = {"products": ProductSitemap, "categories": CategorySitemap}

urlpatterns = [
    path("robots.txt", views.robots_txt, name="robots_txt"),
    # An index of every page of every section: a section holds up to
    # `limit` URLs a page, and a large catalogue needs many pages.
    path(
        "sitemap.xml",
        index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "shop:sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("p/<slug:slug>/", views.product, name="product"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/lines/<int:line_id>/", views.cart_update, name="cart_update"),
    path("cart/lines/<int:line_id>/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    # Listed with the account's pages, which link to it.
    path("accounts/orders/", views.order_history, name="order_history"),
    path("orders/find/", views.order_lookup, name="order_lookup"),
    re_path(
        r"^orders/(?P<number>[A-Za-z0-9-]{1,20})/$",
        views.order_detail,
        name="order_detail",
    ),
    re_path(
        r"^orders/(?P<number>[A-Za-z0-9-]{1,20})/pay/$",
        views.order_pay,
        name="order_pay",
    ),
    re_path(
        r"^orders/(?P<number>[A-Za-z0-9-]{1,20})/pay/return/$",
        views.order_pay_return,
        name="order_pay_return",
    ),
    re_path(
        r"^orders/(?P<number>[A-Za-z0-9-]{1,20})/pay/cash/$",
        views.order_pay_on_delivery,
        name="order_pay_on_delivery",
    ),
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
