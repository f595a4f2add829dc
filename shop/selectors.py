"""Reads shaped for the storefront's pages."""

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramStrictWordSimilarity,
)
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from .models import (
    Cart,
    CartLine,
    Category,
    Order,
    Product,
    ProductImage,
    ProductVariant,
    Refund,
)

# Strict trigram word similarity (whole words, not any part of the name)
# above which a name counts as a typo match, when nothing matches the words
# themselves: "jaket" scores 0.44 against "Waxed Jacket" and 0.18 against
# "Pocket Journal" (plain word similarity gave the journal 0.5).
TYPO_SIMILARITY = 0.4
# A looser bar for "did you mean" ("jakcet" scores 0.27 against "Jacket"):
# only a suggestion, checked to find something before it is offered.
SUGGEST_SIMILARITY = 0.25

SORTS = {
    "featured": ("Featured", ["-is_featured", "-units_sold", "name"]),
    "price_asc": ("Price: low to high", ["price_from", "name"]),
    "price_desc": ("Price: high to low", ["-price_from", "name"]),
    "newest": ("Newest", ["-created_at", "name"]),
    "best_selling": ("Best-selling", ["-units_sold", "name"]),
}


@dataclass(frozen=True)
class ListingFilters:
    sort: str = "featured"
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False

    def cache_key(self) -> str:
        return f"{self.sort}:{self.min_price}:{self.max_price}:{int(self.in_stock)}"


@dataclass
class ListingPage:
    products: list
    count: int
    number: int
    num_pages: int
    # A search that found nothing: a spelling that finds something, if any.
    suggestion: str = ""

    @property
    def has_next(self):
        return self.number < self.num_pages

    @property
    def has_previous(self):
        return self.number > 1


def _filtered(queryset, filters: ListingFilters):
    if filters.min_price is not None:
        queryset = queryset.filter(price_from__gte=filters.min_price)
    if filters.max_price is not None:
        queryset = queryset.filter(price_from__lte=filters.max_price)
    if filters.in_stock:
        queryset = queryset.filter(in_stock=True)
    return queryset


def _card_fields(queryset):
    # A product card needs only these columns: no joins, no per-row queries.
    # Its price is the cheapest variant's, struck-through price included.
    cheapest = ProductVariant.objects.filter(product=OuterRef("pk")).order_by(
        "price", F("compare_at_price").desc(nulls_last=True)
    )
    return queryset.only(
        "name", "slug", "price_from", "in_stock", "primary_image_url", "is_featured"
    ).annotate(compare_from=Subquery(cheapest.values("compare_at_price")[:1]))


def _paginate(queryset, page: int) -> ListingPage:
    paginator = Paginator(queryset, settings.SHOP_PAGE_SIZE)
    page_obj = paginator.get_page(page)
    return ListingPage(
        products=list(page_obj.object_list),
        count=paginator.count,
        number=page_obj.number,
        num_pages=paginator.num_pages,
    )


def category_listing(
    *, category: Category, filters: ListingFilters, page: int
) -> ListingPage:
    """Active products of `category` and all its descendants."""
    queryset = _filtered(Product.objects.available().in_category(category), filters)
    queryset = queryset.order_by(*SORTS[filters.sort][1])
    return _paginate(_card_fields(queryset), page)


def product_search(*, query: str, filters: ListingFilters, page: int) -> ListingPage:
    """
    Full-text search with a typo-tolerant fallback.

    PostgreSQL: weighted tsvector match (name > SKU > description) ranked with
    ts_rank. Only when no product matches the words themselves does strict
    trigram word similarity on the name stand in, so "jaket" still finds "Jacket"
    while "jacket" never brings in "Pocket Journal". A search that finds
    nothing carries a close spelling that does, if there is one. SQLite:
    plain containment on name, SKU and description, and no typo matching.
    """
    query = query.strip()
    if not query:
        return ListingPage(products=[], count=0, number=1, num_pages=1)
    base = _filtered(Product.objects.available(), filters)
    listing = _paginate(_card_fields(_searched(base, query, filters.sort)), page)
    if not listing.count and connection.vendor == "postgresql":
        listing.suggestion = _search_suggestion(base, query)
    return listing


def _searched(base: QuerySet, query: str, sort: str) -> QuerySet:
    if connection.vendor != "postgresql":
        sku_match = ProductVariant.objects.filter(sku__icontains=query).values(
            "product_id"
        )
        return base.filter(
            Q(name__icontains=query)
            | Q(description__icontains=query)
            | Q(pk__in=sku_match)
        ).order_by(*SORTS[sort][1])
    search_query = SearchQuery(query, search_type="websearch", config="english")
    sku_match = ProductVariant.objects.filter(sku__iexact=query).values("product_id")
    matches = Q(search_vector=search_query) | Q(pk__in=sku_match)
    # Typo matches stand in only when nothing matches the words themselves
    # (an uncorrelated EXISTS, which PostgreSQL evaluates once).
    typos = Q(similarity__gte=TYPO_SIMILARITY) & ~Exists(base.filter(matches))
    queryset = base.annotate(
        rank=SearchRank(F("search_vector"), search_query),
        similarity=TrigramStrictWordSimilarity(query, "name"),
    ).filter(matches | typos)
    if sort == "featured":
        return queryset.order_by("-rank", "-similarity", "name")
    return queryset.order_by(*SORTS[sort][1])


def _search_suggestion(base: QuerySet, query: str) -> str:
    """
    The query with each word respelled as the closest word of a product
    name, when that spelling finds products; "" otherwise (PostgreSQL).
    """
    asked = re.findall(r"\w+", query.lower())
    words = []
    for word in asked:
        names = (
            base.annotate(similarity=TrigramStrictWordSimilarity(word, "name"))
            .filter(similarity__gte=SUGGEST_SIMILARITY)
            .order_by("-similarity", "name")
            .values_list("name", flat=True)[:5]
        )
        vocabulary = {w for name in names for w in re.findall(r"\w+", name.lower())}
        words += difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.6) or [word]
    if words == asked:
        return ""
    suggestion = " ".join(words)
    return suggestion if _searched(base, suggestion, "featured").exists() else ""


def category_top(*, limit: int = 8) -> list[Category]:
    """The top-level categories, in the shop's order: the header and home."""
    return list(
        Category.objects.filter(parent__isnull=True).order_by("position", "name")[
            :limit
        ]
    )


def home_sections() -> dict:
    products = _card_fields(Product.objects.available())
    return {
        "featured": list(
            products.filter(is_featured=True).order_by("-units_sold", "name")[:8]
        ),
        "new_arrivals": list(products.order_by("-created_at")[:8]),
        "top_categories": category_top(),
    }


def product_detail(*, slug: str) -> Product:
    """The product with variants and images, in three queries. Raises DoesNotExist."""
    return (
        Product.objects.available()
        .select_related("category")
        .prefetch_related(
            Prefetch(
                "variants", queryset=ProductVariant.objects.order_by("position", "id")
            ),
            Prefetch(
                "images", queryset=ProductImage.objects.order_by("position", "id")
            ),
        )
        .get(slug=slug)
    )


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    children: list["CategoryNode"]


def category_tree() -> list[CategoryNode]:
    """The whole catalogue tree, roots first, in one query."""
    nodes: dict[int, CategoryNode] = {}
    roots: list[CategoryNode] = []
    # Ordered by path, a parent always comes before its children.
    for category in Category.objects.order_by("path", "position"):
        node = CategoryNode(category=category, children=[])
        nodes[category.pk] = node
        parent = nodes.get(category.parent_id)
        (parent.children if parent else roots).append(node)

    def order(n: CategoryNode):
        return (n.category.position, n.category.name)

    for node in nodes.values():
        node.children.sort(key=order)
    return sorted(roots, key=order)


def product_id(*, slug: str) -> int:
    """The id of the active product with this slug; 0 when there is none."""
    return (
        Product.objects.available()
        .filter(slug=slug)
        .values_list("pk", flat=True)
        .first()
        or 0
    )


def product_related(*, product: Product, limit: int = 4) -> list[Product]:
    return list(
        _card_fields(Product.objects.available())
        .filter(category_id=product.category_id)
        .exclude(pk=product.pk)
        .order_by("-units_sold", "name")[:limit]
    )


def cart_count(*, user, session_key: str | None) -> int:
    """Items in the header's mini-cart; no query for a visitor with no session."""
    if user.is_authenticated:
        lines = CartLine.objects.filter(cart__user=user)
    elif session_key:
        lines = CartLine.objects.filter(cart__session_key=session_key)
    else:
        return 0
    return lines.aggregate(n=Sum("quantity"))["n"] or 0


def cart_detail(*, cart: Cart | None) -> dict:
    if cart is None:
        return {"lines": [], "subtotal": Decimal("0"), "count": 0}
    lines = list(
        cart.lines.select_related("variant__product").order_by("added_at", "id")
    )
    return {
        "lines": lines,
        "subtotal": sum((line.line_total for line in lines), Decimal("0")),
        "count": sum(line.quantity for line in lines),
    }


def order_for_viewer(
    *, number: str, user, session_key: str | None, granted: list[str] = ()
) -> Order:
    """
    The order, if this viewer may see it: its user, the guest session that
    placed it, or a session granted it by a number-and-email lookup.
    Raises Order.DoesNotExist for anyone else.
    """
    order = Order.objects.get(number=number)
    if _viewer_owns(order, user=user, session_key=session_key):
        return order
    if order.number in granted:
        return order
    raise Order.DoesNotExist


def _viewer_owns(order: Order, *, user, session_key: str | None) -> bool:
    """Whether `order` is this viewer's: their user's, or their guest session's."""
    if user.is_authenticated and order.user_id == user.pk:
        return True
    return (
        order.user_id is None and bool(session_key) and order.session_key == session_key
    )


def order_for_checkout_token(
    *, token: str, user, session_key: str | None
) -> Order | None:
    """The order a checkout form already placed, if it belongs to this viewer."""
    if not token:
        return None
    order = Order.objects.filter(checkout_token=token).first()
    if order is not None and _viewer_owns(order, user=user, session_key=session_key):
        return order
    return None


def order_for_staff(*, number: str) -> Order:
    """
    An order with everything staff look at: lines, refunds (with their
    restocked lines and who made them) and status history, in four
    queries. Raises Order.DoesNotExist.
    """
    return (
        Order.objects.select_related("user")
        .prefetch_related(
            "lines",
            Prefetch(
                "refunds",
                queryset=Refund.objects.select_related("created_by").prefetch_related(
                    "lines__order_line"
                ),
            ),
            "status_changes",
        )
        .get(number=number)
    )


def order_lookup(*, number: str, email: str) -> Order | None:
    return Order.objects.filter(
        number=number.strip().upper(), email=email.strip().lower()
    ).first()


def order_history(*, user) -> QuerySet[Order]:
    """The user's orders, newest first, with the number of units in each."""
    return (
        Order.objects.filter(user=user)
        .annotate(item_count=Coalesce(Sum("lines__quantity"), 0))
        .order_by("-created_at")
    )
