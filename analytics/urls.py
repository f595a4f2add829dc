from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("collect", views.collect, name="collect"),
    path("consent", views.consent, name="consent"),
    path("status", views.status, name="status"),
]
