"""Catalogue: the category tree, listings, search and product detail."""

from decimal import Decimal

from django.conf import settings
from ninja import Field, Path, Query, Router, Schema
from pydantic import TypeAdapter

from analytics.services import event_record
from config.problems import READ, Problem, form_problem
from shop import selectors
from shop.cache import catalogue_cached, catalogue_version, stock_version
from shop.forms import ListingForm
from shop.models import Category, Product, ProductVariant

from .http import Encoded, catalogue_response, cursor_decode, cursor_encode, encoded
from .schemas import (
    CategoryOut,
    CategoryRef,
    ImageOut,
    ProductCard,
    ProductOut,
    ProductPage,
    Sort,
    VariantOut,
)

router = Router(tags=["catalogue"])

CACHED = {200: None, 304: None, **READ}
SLUG = r"^[-a-zA-Z0-9_]{1,220}$"


class ListingQuery(Schema):
    sort: Sort = "featured"
    min_price: Decimal | None = Field(None, description="In the shop's currency.")
    max_price: Decimal | None = None
    in_stock: bool = False
    cursor: str | None = Field(None, max_length=40, description="From `next_cursor`.")

    def filters(self):
        """The filters, validated by the listing pages' own form."""
        data = {
            "sort": self.sort,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "in_stock": self.in_stock,
        }
        form = ListingForm({k: v for k, v in data.items() if v not in (None, False)})
        if not form.is_valid():
            raise form_problem(form)
        return form.filters()


# ---------------------------------------------------------------------------
# Serialisers: model objects to response schemas
# ---------------------------------------------------------------------------


def _category(node) -> CategoryOut:
    c = node.category
    return CategoryOut(
        slug=c.slug,
        name=c.name,
        description=c.description,
        children=[_category(child) for child in node.children],
    )


def _page(listing) -> bytes:
    page = ProductPage(
        items=[
            ProductCard(
                slug=p.slug,
                name=p.name,
                price_from=p.price_from,
                in_stock=p.in_stock,
                is_featured=p.is_featured,
                image=p.primary_image_url,
            )
            for p in listing.products
        ],
        count=listing.count,
        count_capped=listing.capped,
        next_cursor=cursor_encode(listing.number + 1) if listing.has_next else None,
        previous_cursor=(
            cursor_encode(listing.number - 1) if listing.has_previous else None
        ),
    )
    return page.model_dump_json().encode()


def _stock_state(variant: ProductVariant) -> str:
    if not variant.in_stock:
        return "sold_out"
    if variant.track_inventory and variant.stock <= settings.SHOP_LOW_STOCK:
        return "low_stock"
    return "in_stock"


def _product(product: Product) -> bytes:
    variants = list(product.variants.all())
    options: dict[str, list[str]] = {}
    for variant in variants:
        for name, value in variant.options.items():
            values = options.setdefault(str(name), [])
            if str(value) not in values:
                values.append(str(value))
    body = ProductOut(
        slug=product.slug,
        name=product.name,
        description=product.description,
        category=CategoryRef(slug=product.category.slug, name=product.category.name),
        breadcrumbs=[
            CategoryRef(slug=c.slug, name=c.name) for c in product.category.ancestors()
        ],
        price_from=product.price_from,
        on_sale=any(v.on_sale for v in variants),
        in_stock=any(v.in_stock for v in variants),
        currency=settings.SHOP_CURRENCY,
        options=options,
        variants=[
            VariantOut(
                id=v.pk,
                sku=v.sku,
                options={str(k): str(val) for k, val in v.options.items()},
                label=v.label,
                price=v.price,
                compare_at_price=v.compare_at_price if v.on_sale else None,
                on_sale=v.on_sale,
                in_stock=v.in_stock,
                stock_state=_stock_state(v),
                stock_left=(
                    v.stock
                    if v.track_inventory and 0 < v.stock <= settings.SHOP_LOW_STOCK
                    else None
                ),
            )
            for v in variants
        ],
        images=[ImageOut(src=i.src, alt=i.alt) for i in product.images.all()],
    )
    return body.model_dump_json().encode()


_CATEGORY_LIST = TypeAdapter(list[CategoryOut])


# ---------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------


@router.get(
    "/categories",
    response={200: list[CategoryOut], 304: None, 400: READ[400], 422: READ[422]},
    summary="The category tree",
    auth=None,
)
def categories(request):
    entry = catalogue_cached(
        "api:categories",
        lambda: encoded(
            _CATEGORY_LIST.dump_json([_category(n) for n in selectors.category_tree()])
        ),
    )
    return catalogue_response(request, entry)


@router.get(
    "/products",
    response={**CACHED, 200: ProductPage},
    summary="Products of a category and everything under it",
    auth=None,
)
def products(
    request,
    query: Query[ListingQuery],
    category: str = Query(..., pattern=SLUG, description="A category's slug."),
):
    version = catalogue_version()
    node = catalogue_cached(
        f"category:{category}",
        lambda: Category.objects.filter(slug=category).select_related("parent").first(),
        version=version,
    )
    if node is None:
        raise Problem("not-found", "No such category.")
    filters = query.filters()
    page = cursor_decode(query.cursor)
    key = f"{node.pk}:{filters.cache_key()}:{page}"

    def body() -> Encoded:
        listing = catalogue_cached(
            f"listing:{key}",
            lambda: selectors.category_listing(
                category=node, filters=filters, page=page
            ),
            version=version,
        )
        return encoded(_page(listing))

    return catalogue_response(
        request, catalogue_cached(f"api:listing:{key}", body, version=version)
    )


@router.get(
    "/search",
    response={**CACHED, 200: ProductPage},
    summary="Search, ranked as on the site (typo-tolerant on PostgreSQL)",
    auth=None,
)
def search(
    request,
    query: Query[ListingQuery],
    q: str = Query(..., min_length=1, max_length=200),
):
    text = q.replace("\x00", "").strip()
    version = catalogue_version()
    filters = query.filters()
    page = cursor_decode(query.cursor)
    key = f"{text.lower()}:{filters.cache_key()}:{page}"
    listing = catalogue_cached(
        f"search:{key}",
        lambda: selectors.product_search(query=text, filters=filters, page=page),
        version=version,
    )
    if text:
        event_record(
            name="search", properties={"query": text, "results": listing.count}
        )
    entry = catalogue_cached(
        f"api:search:{key}", lambda: encoded(_page(listing)), version=version
    )
    return catalogue_response(request, entry)


@router.get(
    "/products/{slug}",
    response={**CACHED, 200: ProductOut},
    summary="A product with its variants, options, images, stock and prices",
    auth=None,
)
def product(request, slug: str = Path(..., pattern=SLUG)):
    version = catalogue_version()
    product_id = catalogue_cached(
        f"product-id:{slug}", lambda: selectors.product_id(slug=slug), version=version
    )
    if not product_id:
        raise Problem("not-found", "No such product.")
    event_record(name="product_view", product_id=product_id)
    # Orders move stock without bumping the catalogue version; they bump the
    # product's stock counter, which keys the cached body (as for the page).
    stock = stock_version(product_id)

    def body() -> Encoded:
        try:
            return encoded(_product(selectors.product_detail(slug=slug)))
        except Product.DoesNotExist:
            raise Problem("not-found", "No such product.") from None

    entry = catalogue_cached(
        f"api:product:{product_id}:{stock}", body, version=version if stock >= 0 else 0
    )
    return catalogue_response(request, entry)
