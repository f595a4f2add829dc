"""Site-wide response headers."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """
    Send a strict Content-Security-Policy on every response.

    Pages ship no inline script and nothing from a CDN, so `self` is enough;
    product images may come from external URLs (imported catalogues) or
    the media bucket, hence the wider `img-src`.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        img_src = " ".join(["'self'", "data:", "https:", *settings.CSP_EXTRA_IMG_SRC])
        self.policy = (
            "default-src 'self'; "
            f"img-src {img_src}; "
            "script-src 'self'; style-src 'self'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
            "form-action 'self' https:"
        )

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            # Django admin ships inline scripts and styles of its own.
            return response
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
