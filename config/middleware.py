"""Site-wide response headers."""

from urllib.parse import urlsplit

from django.conf import settings

# Browser features no page of the shop uses, refused to every frame.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), usb=()"
)

# What Django's DEBUG error pages need on top of the policy.
TECHNICAL_PAGE_SOURCES = {
    "script-src": ["'unsafe-inline'"],
    "style-src": ["'unsafe-inline'"],
}


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
            # Forms post here only; sign-in and sign-out forms redirect on
            # to Cognito's hosted UI, which form-action governs too.
            "form-action": ["'self'", *self._cognito_origin()],
        }
        self.policy = self._policy(self.directives)

    @staticmethod
    def _cognito_origin() -> list[str]:
        parts = urlsplit(settings.COGNITO_DOMAIN)
        if not (parts.scheme and parts.netloc):
            return []
        return [f"{parts.scheme}://{parts.netloc}"]

    @staticmethod
    def _policy(directives: dict[str, list[str]]) -> str:
        return "; ".join(
            f"{name} {' '.join(srcs)}" for name, srcs in directives.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # Other sites may not embed the shop's responses as resources.
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-site")
        if request.path.startswith("/admin/"):
            # Django admin ships inline scripts and styles of its own.
            return response
        policy = self.policy
        extra = getattr(response, "csp_sources", None)
        if settings.DEBUG and response.status_code >= 400:
            # Django's technical error pages, shown only under DEBUG, style
            # and script themselves inline.
            extra = {**TECHNICAL_PAGE_SOURCES, **(extra or {})}
        if extra:
            directives = dict(self.directives)
            for name, sources in extra.items():
                base = directives.get(name, directives["default-src"])
                directives[name] = [*base, *sources]
            policy = self._policy(directives)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
