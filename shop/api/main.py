"""The NinjaAPI instance: routers, errors, and the docs page."""

from ninja import NinjaAPI

from accounts.api import router as account_router

from . import cart, catalogue, checkout, orders
from .auth import SIGNED_IN
from .errors import exception_handlers_install

DESCRIPTION = """
The shop's JSON API: catalogue, cart, checkout, orders and account, built on
the same services as the site. See docs/api.md for sign-in with Cognito,
pagination, errors (RFC 9457 problem details), caching and idempotency.
"""


class ShopAPI(NinjaAPI):
    def create_response(self, request, data, *args, **kwargs):
        response = super().create_response(request, data, *args, **kwargs)
        # Anything not explicitly cacheable (the catalogue) is personal.
        response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        # ninja documents every body as application/json; errors are problems.
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content["application/problem+json"] = content.pop(
                            "application/json"
                        )
        return schema


api = ShopAPI(
    title="Northwind Goods API",
    version="1.0.0",
    description=DESCRIPTION.strip(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
exception_handlers_install(api)
api.add_router("/", catalogue.router)
api.add_router("/cart", cart.router)
api.add_router("/checkout", checkout.router)
api.add_router("/orders", orders.router)
api.add_router("/account", account_router, auth=SIGNED_IN)
