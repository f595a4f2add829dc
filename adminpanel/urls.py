from django.urls import path

from . import views

app_name = "adminpanel"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sales/", views.sales, name="sales"),
    path("products/", views.products, name="products"),
    path("funnel/", views.funnel, name="funnel"),
    path("traffic/", views.traffic, name="traffic"),
    path("search/", views.search, name="search"),
    path("customers/", views.customers, name="customers"),
    path("realtime/", views.realtime, name="realtime"),
    path("realtime/live/", views.realtime_partial, name="realtime_partial"),
    path("data/", views.data, name="data"),
    path("data/jobs/<slug:name>/<slug:action>/", views.job_action, name="job_action"),
]
