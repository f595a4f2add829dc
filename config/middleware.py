"""Site-wide response headers."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """
    Send a strict Content-Security-Policy on every response.

    Pages ship no inline script and nothing from a CDN, so `self` is enough;
    product images may come from external URLs (imported catalogues) or
    the media bucket, hence the wider `img-src`.

    A view may widen it for its own response only, by setting
    `response.csp_sources` to {directive: [source, ...]}: the payment page
    adds Stripe's origins this way, and no other page gets them.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.directives = {
            "default-src": ["'self'"],
            "img-src": ["'self'", "data:", "https:", *settings.CSP_EXTRA_IMG_SRC],
            "script-src": ["'self'"],
            "style-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "frame-ancestors": ["'none'"],
            "form-action": ["'self'", "https:"],
        }
        self.policy = self._policy(self.directives)

    @staticmethod
    def _policy(directives: dict[str, list[str]]) -> str:
        return "; ".join(
            f"{name} {' '.join(srcs)}" for name, srcs in directives.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            # Django admin ships inline scripts and styles of its own.
            return response
        policy = self.policy
        extra = getattr(response, "csp_sources", None)
        if extra:
            directives = dict(self.directives)
            for name, sources in extra.items():
                base = directives.get(name, directives["default-src"])
                directives[name] = [*base, *sources]
            policy = self._policy(directives)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
