"""The project's URLs plus `/bench/bare`, the baseline of every ratio."""

from django.http import HttpResponse
from django.urls import include, path

PAGE = b"<!doctype html><title>bare</title><p>A small fixed page.</p>"


def bare(request):
    return HttpResponse(PAGE)


urlpatterns = [
    path("bench/bare", bare),
    path("", include("config.urls")),
]
