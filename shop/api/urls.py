"""URLs of the API: /api/v1/ and a JSON 404 for anything else under /api/."""

from django.urls import include, path, re_path

from .errors import method_not_allowed_as_problem, not_found
from .main import api

patterns, _, namespace = api.urls
for pattern in patterns:
    pattern.callback = method_not_allowed_as_problem(pattern.callback)

urlpatterns = [
    path("v1/", include((patterns, namespace), namespace=namespace)),
    # Anything else under /api/ is a JSON 404, never the site's HTML page.
    re_path(r"", not_found),
]
