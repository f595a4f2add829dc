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
from django.db import connection, transaction
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from .models import (
    LISTING_SORT_COLUMNS,
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

# Each sort's columns are those of a partial index (shop.models), so a page
# is read in order from the index.
SORTS = {
    sort: (label, LISTING_SORT_COLUMNS[sort])
    for sort, label in (
        ("featured", "Featured"),
        ("price_asc", "Price: low to high"),
        ("price_desc", "Price: high to low"),
        ("newest", "Newest"),
        ("best_selling", "Best-selling"),
    )
}
# A listing counts its matches up to this many and shows "1,000+" past it;
# its pages stop there too, so the deepest page reads at most this many rows.
LISTING_COUNT_CAP = 1000
# A search ranks at most this many products matching its words, read from
# the GIN index, not every match.
SEARCH_CANDIDATES = LISTING_COUNT_CAP


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
    # More than `count` (LISTING_COUNT_CAP) products match.
    capped: bool = False

    @property
    def count_label(self) -> str:
        """The count as shown: "1,000+" past the cap."""
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"

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


def _paginate(queryset, page: int, *, matching: int | None = None) -> ListingPage:
    """
    Page `page` (clamped to the pages there are) of `queryset`, counted up to
    LISTING_COUNT_CAP: both queries read at most that many rows. `matching`:
    the count when it is already known (a search's candidates).
    """
    size = settings.SHOP_PAGE_SIZE
    if matching is None:
        matching = queryset.order_by().values("pk")[: LISTING_COUNT_CAP + 1].count()
    count = min(matching, LISTING_COUNT_CAP)
    num_pages = max(1, -(-count // size))
    number = min(max(page, 1), num_pages)
    start = (number - 1) * size
    return ListingPage(
        products=_page_cards(queryset, start, min(start + size, count)),
        count=count,
        number=number,
        num_pages=num_pages,
        capped=matching > LISTING_COUNT_CAP,
    )


def _page_cards(queryset, start: int, stop: int) -> list:
    """
    Rows `start` to `stop` of `queryset` as product cards. The page's ids
    are picked first, so the cards' per-row subquery runs for the page's
    rows only, not for every row skipped to reach a deep page.
    """
    if stop <= start:
        return []
    page_ids = queryset.values("pk")[start:stop]
    return list(_card_fields(queryset.filter(pk__in=page_ids)))


@dataclass(frozen=True)
class CategoryPlace:
    """A category and what its page shows around its products."""

    category: Category
    breadcrumbs: list[Category]
    subcategories: list[Category]
    # The ids of the category and all its descendants.
    subtree: list[int]


def category_place(*, slug: str) -> CategoryPlace | None:
    """The category `slug` and its place in the tree, in two queries."""
    category = Category.objects.filter(slug=slug).select_related("parent").first()
    if category is None:
        return None
    # Its ancestors (their slugs make up its path) and its subtree at once.
    slugs = category.path.split("/")
    related = list(
        Category.objects.filter(
            Q(slug__in=slugs) | category.descendant_filter()
        ).order_by("position", "name")
    )
    by_slug = {c.slug: c for c in related}
    below = category.path + "/"
    return CategoryPlace(
        category=category,
        breadcrumbs=[by_slug[s] for s in slugs if s in by_slug],
        subcategories=[c for c in related if c.parent_id == category.pk],
        subtree=[
            c.pk for c in related if c.pk == category.pk or c.path.startswith(below)
        ],
    )


def category_listing(
    *,
    category: Category,
    filters: ListingFilters,
    page: int,
    subtree: list[int] | None = None,
) -> ListingPage:
    """
    Active products of `category` and all its descendants (`subtree`: their
    ids, when already read).
    """
    # The ids as constants, not a subquery: the planner then reads a small
    # category from its own sort index, with estimates from its statistics.
    if subtree is None:
        subtree = list(
            Category.objects.filter(category.descendant_filter()).values_list(
                "pk", flat=True
            )
        )
    queryset = _filtered(Product.objects.available(), filters)
    queryset = queryset.filter(category_id__in=subtree)
    return _paginate(queryset.order_by(*SORTS[filters.sort][1]), page)


def product_search(*, query: str, filters: ListingFilters, page: int) -> ListingPage:
    """
    Full-text search with a typo-tolerant fallback.

    PostgreSQL: up to SEARCH_CANDIDATES products matching the words (the
    GIN index over the weighted tsvector) or the exact SKU are read and
    ranked with ts_rank (name > SKU > description), then by name, in one
    query, which returns their ids only; the page's cards are a second
    query. Only when no product matches the words themselves do names with
    a strict trigram word similarity (the trigram GIN index) stand in,
    closest first, so "jaket" still finds "Jacket" while "jacket" never
    brings in "Pocket Journal". A search that finds nothing carries a close
    spelling that does, if there is one.
    SQLite: plain containment on name, SKU and description, and no typo
    matching.
    """
    query = query.strip()
    if not query:
        return ListingPage(products=[], count=0, number=1, num_pages=1)
    base = _filtered(Product.objects.available(), filters)
    if connection.vendor != "postgresql":
        sku_match = ProductVariant.objects.filter(sku__icontains=query).values(
            "product_id"
        )
        matches = base.filter(
            Q(name__icontains=query)
            | Q(description__icontains=query)
            | Q(pk__in=sku_match)
        )
        return _paginate(matches.order_by(*SORTS[filters.sort][1]), page)
    search_query = SearchQuery(query, search_type="websearch", config="english")
    rank = SearchRank(F("search_vector"), search_query)
    # Ranked as read, in one query: the two parts' rows, sorted. UNION ALL
    # (a product in both parts comes twice, kept once here) halves its time.
    order = _order(filters.sort, "-rank", "name")
    columns = list(dict.fromkeys(["pk", *(c.lstrip("-") for c in order)]))
    words, sku = (
        part.annotate(rank=rank).values_list(*columns)
        for part in _search_candidates(base, query)
    )
    rows = words.union(sku, all=True).order_by(*order)
    ranked = list(dict.fromkeys(row[0] for row in rows))
    if not ranked:
        typos = _trigram_candidates(base, query, TYPO_SIMILARITY)
        if typos:
            matches = (
                base.filter(pk__in=typos)
                .annotate(similarity=TrigramStrictWordSimilarity(query, "name"))
                .filter(similarity__gte=TYPO_SIMILARITY)
            )
            ranked = _ids(matches, filters.sort, "-similarity", "name")
    listing = _ids_page(ranked, page)
    if not listing.count:
        listing.suggestion = _search_suggestion(base, query)
    return listing


def _order(sort: str, *best_first: str) -> list[str]:
    """
    The order of a search's results by `sort` ("featured": `best_first`),
    then by id, so that equal results keep one order from page to page.
    """
    return [*(best_first if sort == "featured" else SORTS[sort][1]), "pk"]


def _ids(matches: QuerySet, sort: str, *best_first: str) -> list[int]:
    """The ids of `matches`, in the order of `sort` ("featured": `best_first`)."""
    order = _order(sort, *best_first)
    return list(matches.order_by(*order).values_list("pk", flat=True))


def _ids_page(ids: list[int], page: int) -> ListingPage:
    """Page `page` (clamped) of the products `ids`, in that order, as cards."""
    size = settings.SHOP_PAGE_SIZE
    count = min(len(ids), LISTING_COUNT_CAP)
    num_pages = max(1, -(-count // size))
    number = min(max(page, 1), num_pages)
    page_ids = ids[(number - 1) * size : min(number * size, count)]
    cards = {}
    if page_ids:
        products = _card_fields(Product.objects.filter(pk__in=page_ids)).order_by()
        cards = {p.pk: p for p in products}
    return ListingPage(
        products=[cards[pk] for pk in page_ids],
        count=count,
        number=number,
        num_pages=num_pages,
        capped=len(ids) > LISTING_COUNT_CAP,
    )


def _search_candidates(base: QuerySet, query: str) -> tuple[QuerySet, QuerySet]:
    """
    Up to SEARCH_CANDIDATES + 1 products of `base` matching the words of
    `query` (the GIN index), and those with `query` as a SKU (the SKU
    index).
    """
    search_query = SearchQuery(query, search_type="websearch", config="english")
    words = base.filter(search_vector=search_query).order_by()
    sku = ProductVariant.objects.filter(sku__iexact=query).values("product_id")
    return words[: SEARCH_CANDIDATES + 1], base.filter(pk__in=sku).order_by()


def _trigram_candidates(base: QuerySet, word: str, similarity: float) -> list[int]:
    """
    The ids of up to SEARCH_CANDIDATES + 1 products of `base` whose name has
    a strict trigram word similarity of at least `similarity` to `word`,
    through the trigram GIN index (whose operator reads the threshold from a
    setting, set for this transaction only).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pg_trgm.strict_word_similarity_threshold', %s, "
                "true)",
                [str(similarity)],
            )
        return list(
            base.filter(name__trigram_strict_word_similar=word).values_list(
                "pk", flat=True
            )[: SEARCH_CANDIDATES + 1]
        )


def _search_suggestion(base: QuerySet, query: str) -> str:
    """
    The query with each word respelled as the closest word of a product
    name, when that spelling finds products; "" otherwise (PostgreSQL).
    """
    asked = re.findall(r"\w+", query.lower())
    words = []
    for word in asked:
        names = (
            base.filter(pk__in=_trigram_candidates(base, word, SUGGEST_SIMILARITY))
            .annotate(similarity=TrigramStrictWordSimilarity(word, "name"))
            .filter(similarity__gte=SUGGEST_SIMILARITY)
            .order_by("-similarity", "name")
            .values_list("name", flat=True)[:5]
        )
        vocabulary = {w for name in names for w in re.findall(r"\w+", name.lower())}
        words += difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.6) or [word]
    if words == asked:
        return ""
    suggestion = " ".join(words)
    words, sku = _search_candidates(base, suggestion)
    return suggestion if words.exists() or sku.exists() else ""


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
