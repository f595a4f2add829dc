"""
Only CloudFront may reach the app: it adds a secret header that the load
balancer forwards, and this middleware refuses requests without it.

Health checks come from the load balancer and the container runtime, not
through CloudFront, so `/healthz` answers without the header.
"""

import hmac

from django.conf import settings
from django.http import HttpResponseForbidden

HEADER = "HTTP_X_ORIGIN_VERIFY"
EXEMPT = ("/healthz",)


class OriginVerifyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.secret = settings.DJANGO_ORIGIN_SECRET.encode()

    def __call__(self, request):
        if self.secret and not request.path.startswith(EXEMPT):
            given = request.META.get(HEADER, "").encode()
            if not hmac.compare_digest(given, self.secret):
                return HttpResponseForbidden(
                    "Forbidden.", content_type="text/plain; charset=utf-8"
                )
        return self.get_response(request)
