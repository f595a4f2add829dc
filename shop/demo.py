"""
The demo store: a deterministic catalogue, customers, and the visits that
made its orders and left its abandoned carts.

Everything is generated locally (images are small SVG files) from a seeded
random generator, so running it twice produces the same rows and the second
run adds nothing. `demo_visits_build` returns each visit as the demo
clickstream's `DemoVisit` record, on the site's own URLs, from which
`analytics/demo.py` makes its events: orders and events tell one story.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.services import DEMO_ACCOUNTS
from analytics.demo import DemoStep, DemoVisit
from config.days import shop_zone

from .models import (
    Cart,
    CartLine,
    Category,
    Order,
    OrderLine,
    Product,
    ProductImage,
    ProductVariant,
)
from .selectors import ListingFilters, product_search
from .services import product_index_refresh, tables_analyze

Progress = Callable[[str, int, int], None]

CATEGORY_TREE = {
    "Clothing": {
        "Men": ["Shirts", "Trousers", "Jackets"],
        "Women": ["Dresses", "Tops", "Coats"],
        "Kids": [],
    },
    "Home & Kitchen": {
        "Cookware": [],
        "Tableware": [],
        "Textiles": ["Bedding", "Towels"],
    },
    "Outdoors": {"Camping": [], "Cycling": [], "Garden": []},
    "Stationery": {"Notebooks": [], "Pens": [], "Desk": []},
    "Beauty": {"Skincare": [], "Bath": []},
    "Toys & Games": {"Puzzles": [], "Board games": []},
}

ADJECTIVES = [
    "Classic",
    "Everyday",
    "Organic",
    "Heritage",
    "Nordic",
    "Coastal",
    "Urban",
    "Vintage",
    "Essential",
    "Alpine",
    "Linen",
    "Merino",
    "Woven",
    "Handmade",
    "Recycled",
    "Studio",
    "Field",
    "Harbour",
    "Summit",
    "Meadow",
]
NOUNS = {
    "Shirts": ["Oxford Shirt", "Flannel Shirt", "Polo Shirt", "Denim Shirt"],
    "Trousers": ["Chinos", "Cord Trousers", "Work Trousers", "Joggers"],
    "Jackets": ["Rain Jacket", "Bomber Jacket", "Quilted Jacket", "Field Jacket"],
    "Dresses": ["Wrap Dress", "Shirt Dress", "Slip Dress", "Midi Dress"],
    "Tops": ["Breton Top", "Crew Tee", "Knit Jumper", "Cardigan"],
    "Coats": ["Wool Coat", "Trench Coat", "Parka", "Duffle Coat"],
    "Kids": ["Kids Hoodie", "Kids Raincoat", "Kids Pyjamas", "Kids Tee"],
    "Cookware": ["Cast Iron Pan", "Saucepan", "Dutch Oven", "Wok"],
    "Tableware": ["Stoneware Plate", "Ceramic Mug", "Glass Tumbler", "Serving Bowl"],
    "Bedding": ["Duvet Cover", "Pillowcase Pair", "Fitted Sheet", "Throw"],
    "Towels": ["Bath Towel", "Hand Towel", "Beach Towel", "Waffle Towel"],
    "Camping": ["Camping Stove", "Sleeping Bag", "Head Torch", "Enamel Mug"],
    "Cycling": ["Bike Light Set", "Cycling Gloves", "Bike Lock", "Saddle Bag"],
    "Garden": ["Trowel", "Watering Can", "Pruning Shears", "Seed Tin"],
    "Notebooks": ["Dot Grid Notebook", "Pocket Journal", "Sketchbook", "Planner"],
    "Pens": ["Fountain Pen", "Gel Pen Set", "Mechanical Pencil", "Fineliner Set"],
    "Desk": ["Desk Tidy", "Letter Tray", "Desk Lamp", "Bookends"],
    "Skincare": ["Face Balm", "Hand Cream", "Lip Salve", "Body Oil"],
    "Bath": ["Bath Salts", "Soap Bar", "Shower Gel", "Bath Brush"],
    "Puzzles": ["Jigsaw Puzzle", "Wooden Puzzle", "Brain Teaser", "Puzzle Box"],
    "Board games": ["Strategy Game", "Card Game", "Dice Game", "Family Game"],
}
SIZES = ["XS", "S", "M", "L", "XL"]
COLOURS = ["Navy", "Olive", "Sand", "Charcoal", "Rust", "Sky"]
PALETTE = ["#1f4d3a", "#8a4b2a", "#2f4f7a", "#6b5b95", "#b5651d", "#3d7068", "#944654"]
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Ella",
    "Femi",
    "Grace",
    "Hugo",
    "Isla",
    "Jay",
    "Kira",
    "Leo",
    "Maya",
    "Noah",
    "Omar",
    "Priya",
    "Ruth",
    "Sam",
]
LAST_NAMES = [
    "Ahmed",
    "Brown",
    "Clarke",
    "Davies",
    "Evans",
    "Fraser",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Murphy",
    "Patel",
    "Smith",
]
CITIES = [
    ("London", "N1 1AA"),
    ("Leeds", "LS1 4AP"),
    ("Bristol", "BS1 5TR"),
    ("Glasgow", "G1 1XQ"),
    ("Cardiff", "CF10 1EP"),
    ("York", "YO1 7HH"),
]
ORDER_STATUSES = [
    # status, weight
    (Order.Status.DELIVERED, 55),
    (Order.Status.SHIPPED, 15),
    (Order.Status.PAID, 15),
    (Order.Status.PENDING, 8),
    (Order.Status.CANCELLED, 7),
]


def _noop(label: str, done: int, total: int) -> None:
    return None


def _leaf_categories() -> list[Category]:
    leaves = []

    def build(tree, parent, position=0):
        for position, (name, children) in enumerate(tree.items()):
            slug = slugify(name if parent is None else f"{parent.slug}-{name}")
            category, _ = Category.objects.get_or_create(
                slug=slug,
                defaults={"name": name, "parent": parent, "position": position},
            )
            if isinstance(children, dict) and children:
                build(children, category)
            elif isinstance(children, list) and children:
                build({child: {} for child in children}, category)
            else:
                leaves.append(category)

    build(CATEGORY_TREE, None)
    return leaves


# A simple drawing per kind of product, picked by a word of its name:
# SVG shapes on a 400×400 canvas, in the product's colour (c) and accent (a).
ILLUSTRATIONS = [
    (
        ("jacket", "coat", "parka", "raincoat"),
        '<path d="M140 80 175 62 200 100 225 62 260 80 322 142 328 322 290 322'
        ' 284 182 282 342H118L116 182 110 322H72L78 142Z" fill="{c}"/>'
        '<path d="M200 100V342" stroke="{a}" stroke-width="6"/>'
        '<circle cx="185" cy="160" r="6" fill="{a}"/>'
        '<circle cx="185" cy="220" r="6" fill="{a}"/>',
    ),
    (
        ("shirt", "tee", "top", "jumper", "cardigan", "hoodie", "pyjamas"),
        '<path d="M130 90 170 68Q200 100 230 68L270 90 332 150 292 188 270 168'
        'V332H130V168L108 188 68 150Z" fill="{c}"/>'
        '<path d="M170 68Q200 100 230 68" stroke="{a}" stroke-width="8"'
        ' fill="none"/>',
    ),
    (
        ("dress",),
        '<path d="M172 70H228L224 150 292 332H108L176 150Z" fill="{c}"/>'
        '<path d="M176 150H224" stroke="{a}" stroke-width="10"/>',
    ),
    (
        ("chinos", "trousers", "joggers"),
        '<path d="M130 70H270L288 332H222L200 150 178 332H112Z" fill="{c}"/>'
        '<path d="M130 92H270" stroke="{a}" stroke-width="10"/>',
    ),
    (
        ("mug", "tumbler"),
        '<rect x="120" y="120" width="140" height="180" rx="18" fill="{c}"/>'
        '<path d="M260 160h30a35 35 0 0 1 0 90h-30" stroke="{c}"'
        ' stroke-width="22" fill="none"/>'
        '<path d="M120 150H260" stroke="{a}" stroke-width="10"/>',
    ),
    (
        ("plate", "bowl"),
        '<circle cx="200" cy="200" r="130" fill="{c}"/>'
        '<circle cx="200" cy="200" r="86" fill="{a}" opacity=".6"/>',
    ),
    (
        ("pan", "saucepan", "wok", "oven"),
        '<circle cx="170" cy="210" r="105" fill="{c}"/>'
        '<circle cx="170" cy="210" r="78" fill="{a}" opacity=".5"/>'
        '<rect x="262" y="196" width="120" height="28" rx="14" fill="{c}"/>',
    ),
    (
        ("towel", "duvet", "pillowcase", "sheet", "throw"),
        '<rect x="90" y="110" width="220" height="70" rx="10" fill="{c}"/>'
        '<rect x="90" y="180" width="220" height="70" rx="10" fill="{a}"/>'
        '<rect x="90" y="250" width="220" height="60" rx="10" fill="{c}"/>',
    ),
    (
        ("notebook", "journal", "sketchbook", "planner"),
        '<rect x="110" y="70" width="190" height="260" rx="12" fill="{c}"/>'
        '<rect x="110" y="70" width="26" height="260" fill="{a}"/>'
        '<rect x="165" y="120" width="100" height="40" rx="6" fill="#fff"'
        ' opacity=".8"/>',
    ),
    (
        ("pen", "pencil", "fineliner"),
        '<g transform="rotate(-35 200 200)">'
        '<rect x="80" y="180" width="220" height="40" rx="8" fill="{c}"/>'
        '<path d="M300 180 350 200 300 220Z" fill="{a}"/>'
        '<rect x="110" y="176" width="60" height="8" fill="{a}"/></g>',
    ),
    (
        ("lamp",),
        '<path d="M140 90H260L300 190H100Z" fill="{c}"/>'
        '<rect x="192" y="190" width="16" height="110" fill="{a}"/>'
        '<rect x="130" y="300" width="140" height="26" rx="13" fill="{c}"/>',
    ),
    (
        ("stove", "sleeping", "torch", "enamel"),
        '<path d="M200 70 340 320H60Z" fill="{c}"/>'
        '<path d="M200 170 250 320H150Z" fill="{a}"/>',
    ),
    (
        ("bike", "cycling", "saddle"),
        '<circle cx="120" cy="250" r="70" stroke="{c}" stroke-width="18"'
        ' fill="none"/>'
        '<circle cx="280" cy="250" r="70" stroke="{c}" stroke-width="18"'
        ' fill="none"/>'
        '<path d="M120 250 180 150H260L280 250M180 150 200 250H120" stroke="{a}"'
        ' stroke-width="12" fill="none"/>',
    ),
    (
        ("trowel", "watering", "shears", "seed"),
        '<path d="M200 330C90 250 110 120 200 70 290 120 310 250 200 330Z"'
        ' fill="{c}"/><path d="M200 110V330" stroke="{a}" stroke-width="8"/>',
    ),
    (
        ("balm", "cream", "salve", "oil"),
        '<rect x="130" y="170" width="140" height="150" rx="24" fill="{c}"/>'
        '<rect x="140" y="120" width="120" height="50" rx="10" fill="{a}"/>',
    ),
    (
        ("salts", "soap", "gel", "brush"),
        '<rect x="140" y="140" width="120" height="200" rx="30" fill="{c}"/>'
        '<rect x="180" y="80" width="40" height="60" rx="8" fill="{a}"/>'
        '<rect x="160" y="200" width="80" height="60" rx="6" fill="#fff"'
        ' opacity=".7"/>',
    ),
    (
        ("puzzle", "teaser"),
        '<rect x="90" y="90" width="105" height="105" rx="10" fill="{c}"/>'
        '<rect x="205" y="90" width="105" height="105" rx="10" fill="{a}"/>'
        '<rect x="90" y="205" width="105" height="105" rx="10" fill="{a}"/>'
        '<rect x="205" y="205" width="105" height="105" rx="10" fill="{c}"/>',
    ),
    (
        ("game",),
        '<rect x="100" y="100" width="200" height="200" rx="30" fill="{c}"/>'
        '<circle cx="150" cy="150" r="16" fill="#fff"/>'
        '<circle cx="200" cy="200" r="16" fill="#fff"/>'
        '<circle cx="250" cy="250" r="16" fill="#fff"/>',
    ),
]
# Anything else: a parcel.
PARCEL = (
    '<rect x="100" y="120" width="200" height="180" rx="10" fill="{c}"/>'
    '<path d="M200 120V300M100 180H300" stroke="{a}" stroke-width="14"/>'
)


def _svg(name: str, colour: str, accent: str) -> bytes:
    """A small illustration of the product's kind, on a pale ground."""
    words = name.lower().split()
    drawing = next(
        (
            shapes
            for keys, shapes in ILLUSTRATIONS
            if any(word.startswith(key) for word in words for key in keys)
        ),
        PARCEL,
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400"'
        ' width="400" height="400">'
        f'<rect width="400" height="400" fill="{accent}" opacity=".18"/>'
        f"{drawing.format(c=colour, a=accent)}</svg>"
    ).encode()


@dataclass(frozen=True)
class _ProductDraw:
    """One demo product's random values."""

    category: Category
    name: str
    slug: str
    sized: bool
    colours: list[str]
    price: Decimal
    sale: bool
    stock: list[int]
    colour: str
    accent: str
    featured: bool
    age: timedelta


def _product_draw(
    *, rng: random.Random, category: Category, index: int
) -> _ProductDraw:
    noun = rng.choice(NOUNS.get(category.name, ["Goods"]))
    name = f"{rng.choice(ADJECTIVES)} {noun}"
    base_price = Decimal(rng.choice([6, 9, 12, 15, 19, 24, 29, 35, 45, 59, 79, 95]))
    return _ProductDraw(
        category=category,
        name=name,
        slug=f"demo-{slugify(name)}-{index + 1}",
        sized=category.path.startswith("clothing"),
        colours=rng.sample(COLOURS, k=rng.randint(1, 3)),
        price=base_price - Decimal("0.05"),
        sale=rng.random() < 0.18,
        stock=[rng.choice([0, 2, 4, 8, 15, 30, 60]) for _ in range(15)],
        colour=rng.choice(PALETTE),
        accent=rng.choice(PALETTE),
        featured=rng.random() < 0.08,
        age=timedelta(days=rng.randint(0, 365), minutes=index),
    )


def _product_variants(*, product: Product, draw: _ProductDraw) -> list[ProductVariant]:
    sizes = SIZES[1:4] if draw.sized else [None]
    compare_at_price = (
        (draw.price * Decimal("1.25")).quantize(Decimal("1")) - Decimal("0.01")
        if draw.sale
        else None
    )
    variants = []
    for colour in draw.colours:
        for size in sizes:
            n = len(variants)
            variants.append(
                ProductVariant(
                    product=product,
                    sku=f"DEMO-{product.pk:06d}-{n:02d}",
                    options={"colour": colour} | ({"size": size} if size else {}),
                    price=draw.price,
                    compare_at_price=compare_at_price,
                    stock=draw.stock[n % len(draw.stock)],
                    position=n,
                )
            )
    return variants


def _product_image(*, product: Product, draw: _ProductDraw) -> ProductImage:
    """The product's SVG image, written to storage unless already there."""
    image_name = f"demo/{product.slug}.svg"
    if not default_storage.exists(image_name):
        image_name = default_storage.save(
            image_name, ContentFile(_svg(product.name, draw.colour, draw.accent))
        )
    return ProductImage(product=product, image=image_name, alt=product.name, position=0)


def _products_create(
    *, draws: list[_ProductDraw], now: datetime, batch_size: int
) -> list[int]:
    """Insert the products with their variants and images; returns their ids."""
    products = [
        Product(
            category=draw.category,
            name=draw.name,
            slug=draw.slug,
            description=(
                f"The {draw.name.lower()} is made to last, from responsibly sourced "
                f"materials. Designed for everyday use and easy care."
            ),
            is_featured=draw.featured,
            created_at=now - draw.age,
        )
        for draw in draws
    ]
    with transaction.atomic():
        Product.objects.bulk_create(products, batch_size=batch_size)
        variants, images = [], []
        for product, draw in zip(products, draws, strict=True):
            variants += _product_variants(product=product, draw=draw)
            images.append(_product_image(product=product, draw=draw))
        ProductVariant.objects.bulk_create(variants, batch_size=batch_size)
        ProductImage.objects.bulk_create(images, batch_size=batch_size)
    return [p.pk for p in products]


def demo_catalogue_build(
    *, products: int = 240, seed: int = 7, progress: Progress = _noop
) -> int:
    """Create up to `products` demo products; returns how many were new."""
    rng = random.Random(seed)
    leaves = _leaf_categories()
    existing = set(
        Product.objects.filter(slug__startswith="demo-").values_list("slug", flat=True)
    )
    now = timezone.now()
    created_ids = []
    batch_size = 1000
    for start in range(0, products, batch_size):
        stop = min(start + batch_size, products)
        # Draw every product's values, existing or not: reruns stay in step.
        draws = [
            _product_draw(rng=rng, category=leaves[i % len(leaves)], index=i)
            for i in range(start, stop)
        ]
        created_ids += _products_create(
            draws=[d for d in draws if d.slug not in existing],
            now=now,
            batch_size=batch_size,
        )
        progress("products", stop, products)
    if created_ids:
        product_index_refresh(
            product_ids=created_ids if len(created_ids) < 5000 else None
        )
        tables_analyze(models=[Category, Product, ProductVariant, ProductImage])
    return len(created_ids)


def demo_customers_build(*, customers: int = 60, seed: int = 7) -> list[User]:
    rng = random.Random(seed)
    users = []
    for i in range(customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{i + 1}@example.com".lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                name=f"{first} {last}",
                date_joined=timezone.now() - timedelta(days=rng.randint(1, 120)),
            )
        users.append(user)
    return users


# Relative traffic per local hour: quiet nights, lunch and evening peaks.
HOURLY = [
    2,
    1,
    1,
    1,
    1,
    2,
    4,
    6,
    8,
    9,
    9,
    10,
    11,
    10,
    9,
    9,
    10,
    11,
    13,
    14,
    13,
    10,
    6,
    3,
]
# What demo shoppers type in the search box: catalogue words, and a few the
# catalogue has no answer for.
SEARCH_QUERIES = [
    "jacket",
    "mug",
    "linen",
    "lamp",
    "towel",
    "notebook",
    "shirt",
    "coat",
    "pen",
    "puzzle",
    "umbrella",
    "gift card",
]
BOT_SHARE = 0.06
# Of the human visits that buy nothing, the share that fill a cart, and of
# those, the share that begin checkout before leaving.
CART_RATE, CHECKOUT_RATE = 0.22, 0.45
# One buying visit in this many is the demo shopper's (DEMO_ACCOUNTS).
SHOPPER_EVERY = 120
# Visitors beyond the customers: the pool anonymous visits are drawn from.
VISITORS_PER_VISIT = 0.4


@dataclass(frozen=True)
class _OrderDraw:
    """One demo order's random values, bar the street number."""

    customer: int  # an index into the customers, or -1: a guest
    lines: list[tuple[ProductVariant, int]]
    street: int
    method: str
    status: str
    city: str
    postcode: str


class _Walk:
    """A visit being walked: each step a few seconds to minutes after the last."""

    def __init__(self, *, rng: random.Random, at: datetime):
        self.rng, self.at, self.steps = rng, at, []
        self.viewed: list[ProductVariant] = []

    def go(self, action: str, path: str, **fields) -> DemoStep:
        self.at += timedelta(seconds=self.rng.randint(5, 90))
        step = DemoStep(self.at, action, path, **fields)
        self.steps.append(step)
        return step

    def view(self, variant: ProductVariant) -> None:
        product = variant.product
        self.go("product", f"/p/{product.slug}/", product_id=product.pk)
        self.viewed.append(variant)


@dataclass
class _Sim:
    """What every visit of one simulation shares."""

    rng: random.Random
    variants: list[ProductVariant]
    by_category: dict[str, list[ProductVariant]]
    found: dict[str, list[ProductVariant]]  # query → matching variants
    results: dict[str, int]  # query → the search page's result count
    start: datetime
    days: int
    now: datetime

    def visit_start(self) -> datetime:
        """A start on a random day, at a local hour weighted like real traffic."""
        rng = self.rng
        day = self.start + timedelta(days=rng.randrange(self.days))
        hour = rng.choices(range(24), weights=HOURLY)[0]
        # Sessions end at local midnight: start early enough to finish.
        local = day.astimezone(shop_zone()).replace(
            hour=min(hour, 22), minute=rng.randrange(60), second=rng.randrange(60)
        )
        at = local.astimezone(UTC)
        if at > self.now - timedelta(hours=2):
            at = self.now - timedelta(minutes=rng.randrange(120, 600))
        return at

    def browse(self, walk: _Walk, *, bot: bool) -> None:
        """Land on a page, then view a few products (bots, many more)."""
        rng = self.rng
        # Capped, so that a visit started by 23:00 ends before midnight.
        views = min(40, 1 + int(rng.expovariate(1 / (12 if bot else 3))))
        pool, landing = self.variants, rng.random()
        if landing < 0.3:
            walk.go("page", "/")
        elif landing < 0.5:
            category = rng.choice(self.variants).product.category.slug
            walk.go("page", f"/c/{category}/")
            pool = self.by_category[category]
        elif landing < 0.65 and not bot:
            pool = self.search(walk) or pool
        for _ in range(views):
            walk.view(rng.choice(pool))
        if not bot and rng.random() < 0.1:
            found = self.search(walk)
            if found:
                walk.view(rng.choice(found))

    def search(self, walk: _Walk) -> list[ProductVariant]:
        query = self.rng.choice(SEARCH_QUERIES)
        walk.go(
            "search",
            f"/search/?q={query.replace(' ', '+')}",
            query=query,
            results=self.results[query],
        )
        return self.found[query]

    def fill_cart(self, walk: _Walk, *, lines: list[tuple[ProductVariant, int]]):
        """View each product not seen yet, put each line in the cart, see it."""
        for variant, quantity in lines:
            if variant not in walk.viewed:
                walk.view(variant)
            walk.go(
                "add",
                "/cart/add/",
                product_id=variant.product_id,
                variant_id=variant.pk,
                value=variant.price * quantity,
                quantity=quantity,
            )
        walk.go("page", "/cart/")

    def checkout(self, walk: _Walk, *, lines) -> None:
        walk.go(
            "checkout",
            "/checkout/",
            value=sum((v.price * q for v, q in lines), Decimal("0")),
            quantity=sum(q for _, q in lines),
        )

    def order_draw(self, *, walk: _Walk, customers: int) -> _OrderDraw:
        rng = self.rng
        seen = list(dict.fromkeys(walk.viewed))
        picks = rng.sample(seen, k=min(len(seen), rng.choice([1, 1, 1, 2, 2, 3])))
        status = rng.choices(
            [s for s, _ in ORDER_STATUSES], weights=[w for _, w in ORDER_STATUSES]
        )[0]
        city, postcode = rng.choice(CITIES)
        return _OrderDraw(
            customer=rng.randrange(customers) if rng.random() < 0.7 else -1,
            lines=[(v, rng.choice([1, 1, 1, 2, 3])) for v in picks],
            street=rng.randint(1, 200),
            method=rng.choice(list(settings.SHOP_SHIPPING_METHODS)),
            status=status,
            city=city,
            postcode=postcode,
        )


def _order_new(
    *,
    draw: _OrderDraw,
    user: User | None,
    email: str,
    number: str,
    at: datetime,
    now: datetime,
) -> Order:
    status = draw.status
    subtotal = sum((v.price * q for v, q in draw.lines), Decimal("0"))
    if now - at < timedelta(days=2) and status in (
        Order.Status.DELIVERED,
        Order.Status.SHIPPED,
    ):
        status = Order.Status.PAID
    shipping_cost = settings.SHOP_SHIPPING_METHODS[draw.method][1]
    return Order(
        number=number,
        user=user,
        email=email,
        full_name=user.name if user else "Guest Shopper",
        address_line1=f"{draw.street} High Street",
        city=draw.city,
        postcode=draw.postcode,
        country="GB",
        shipping_method=draw.method,
        payment_method="cod",
        currency=settings.SHOP_CURRENCY,
        subtotal=subtotal,
        shipping_cost=shipping_cost,
        total=subtotal + shipping_cost,
        status=status,
        created_at=at,
    )


@transaction.atomic
def _orders_create(
    *, orders: list[Order], lines: list[list[tuple[ProductVariant, int]]]
) -> None:
    """Insert the orders and their lines, and count the units they sold."""
    Order.objects.bulk_create(orders, batch_size=1000)
    OrderLine.objects.bulk_create(
        (
            OrderLine.snapshot(order=order, variant=v, quantity=q)
            for order, order_lines in zip(orders, lines, strict=True)
            for v, q in order_lines
        ),
        batch_size=1000,
    )
    sold = {}
    for order, order_lines in zip(orders, lines, strict=True):
        if order.status != Order.Status.CANCELLED:
            for v, q in order_lines:
                sold[v.product_id] = sold.get(v.product_id, 0) + q
    products = list(Product.objects.filter(pk__in=sold).only("pk", "units_sold"))
    for product in products:
        product.units_sold += sold[product.pk]
    Product.objects.bulk_update(products, ["units_sold"], batch_size=1000)


@transaction.atomic
def _carts_create(*, carts: dict[str, list[DemoStep]]) -> None:
    """
    The carts that visits filled and left: one per visit, keyed by a
    "demo-" session key (no real session key has a dash), replaced each run.
    """
    Cart.objects.filter(session_key__startswith="demo-").delete()
    rows = [Cart(session_key=key) for key in carts]
    Cart.objects.bulk_create(rows, batch_size=1000)
    lines = {}
    for cart, adds in zip(rows, carts.values(), strict=True):
        # auto_now fields: bulk_update writes the visit's own times.
        cart.created_at, cart.updated_at = adds[0].at, adds[-1].at
        for add in adds:
            line = lines.setdefault(
                (cart.pk, add.variant_id),
                CartLine(cart=cart, variant_id=add.variant_id, quantity=0),
            )
            line.quantity += add.quantity
    Cart.objects.bulk_update(rows, ["created_at", "updated_at"], batch_size=1000)
    CartLine.objects.bulk_create(lines.values(), batch_size=1000)


def _existing_orders() -> dict[str, tuple[Order, list[tuple[int, int]]]]:
    """Demo orders already made, with their (variant id, quantity) lines."""
    orders = {
        o.number: (o, [])
        for o in Order.objects.filter(number__startswith="NW-D").select_related("user")
    }
    for number, variant_id, quantity in OrderLine.objects.filter(
        order__number__startswith="NW-D", variant__isnull=False
    ).values_list("order__number", "variant_id", "quantity"):
        orders[number][1].append((variant_id, quantity))
    return orders


def _search_results(
    variants: list[ProductVariant],
) -> tuple[dict[str, list[ProductVariant]], dict[str, int]]:
    """Per demo query: the variants a shopper may open, and the result count."""
    found, results = {}, {}
    for query in SEARCH_QUERIES:
        results[query] = product_search(
            query=query, filters=ListingFilters(), page=1
        ).count
        found[query] = (
            [v for v in variants if query in v.product.name.lower()]
            if results[query]
            else []
        )
    return found, results


def _customers(*, seed: int) -> list[tuple[User | None, str]]:
    """The demo customers, then the demo shopper (their User once signed in)."""
    email = next(e for e, _, groups in DEMO_ACCOUNTS if not groups)
    return [(user, user.email) for user in demo_customers_build(seed=seed)] + [
        (User.objects.filter(email__iexact=email).first(), email)
    ]


def demo_visits_build(
    *,
    visits: int,
    orders: int = 600,
    days: int = 182,
    seed: int = 7,
    progress: Progress = _noop,
) -> list[DemoVisit]:
    """
    Simulate about `visits` visits over the last `days` days, `orders` of
    which view, add to the cart, check out and buy: each such visit is one
    demo order. Visits that fill a cart and leave leave it behind. Bots
    (about 6%) browse and buy nothing.

    Idempotent: orders are numbered in visit order and drawn from the seed;
    a rerun adds none, re-times the existing ones to this run's visits (and
    takes their lines as stored), and replaces the demo carts. Returns every
    visit, for the demo clickstream.
    """
    rng = random.Random(seed)
    variants = list(
        ProductVariant.objects.filter(sku__startswith="DEMO-")
        .select_related("product__category")
        .order_by("pk")[:5000]
    )
    if not variants:
        return []
    by_variant = {v.pk: v for v in variants}
    by_category = {}
    for v in variants:
        by_category.setdefault(v.product.category.slug, []).append(v)
    found, results = _search_results(variants)
    now = timezone.now()
    sim = _Sim(
        rng=rng,
        variants=variants,
        by_category=by_category,
        found=found,
        results=results,
        start=now - timedelta(days=days),
        days=days,
        now=now,
    )
    customers = _customers(seed=seed)
    shopper = len(customers) - 1
    existing = _existing_orders()
    human = max(visits, orders) - int(max(visits, orders) * BOT_SHARE)
    buying = set(rng.sample(range(human), k=min(orders, human)))
    pool = max(50, int(visits * VISITORS_PER_VISIT))
    made, new_orders, new_lines, moved, carts = [], [], [], [], {}
    purchases = {}  # order number → (visit index, step index)
    for number in range(1, max(visits, orders) + 1):
        bot = number > human
        walk = _Walk(rng=rng, at=sim.visit_start())
        sim.browse(walk, bot=bot)
        visitor, user = rng.randrange(pool), None
        if number - 1 in buying:
            order_no = f"NW-D{len(purchases) + 1:07d}"
            draw = sim.order_draw(walk=walk, customers=len(customers) - 1)
            customer = shopper if len(purchases) % SHOPPER_EVERY == 3 else draw.customer
            user, email = customers[customer] if customer >= 0 else (None, "")
            email = email or f"guest{len(purchases) + 1}@example.com"
            visitor = pool + customer if customer >= 0 else visitor
            lines = draw.lines
            if order_no in existing:
                order, stored = existing[order_no]
                user, lines = (
                    order.user,
                    [(by_variant[v], q) for v, q in stored if v in by_variant],
                )
            sim.fill_cart(walk, lines=lines)
            sim.checkout(walk, lines=lines)
            step = walk.go(
                "purchase",
                "/checkout/",
                quantity=sum(q for _, q in lines),
            )
            if order_no in existing:
                order.created_at, order.updated_at = step.at, now
                moved.append(order)
            else:
                order = _order_new(
                    draw=draw,
                    user=user,
                    email=email,
                    number=order_no,
                    at=step.at,
                    now=now,
                )
                new_orders.append(order)
                new_lines.append(lines)
            purchases[order_no] = (len(made), len(walk.steps) - 1, order)
            walk.go("page", f"/orders/{order_no}/")
        elif not bot and rng.random() < CART_RATE:
            seen = list(dict.fromkeys(walk.viewed))
            lines = [(v, rng.choice([1, 1, 2])) for v in seen[-rng.randint(1, 2) :]]
            sim.fill_cart(walk, lines=lines)
            if rng.random() < CHECKOUT_RATE:
                sim.checkout(walk, lines=lines)
            carts[f"demo-{seed}-{number}"] = [
                s for s in walk.steps if s.action == "add"
            ]
        made.append(DemoVisit(number, visitor, user.pk if user else None, bot, walk.steps))
    _orders_create(orders=new_orders, lines=new_lines)
    Order.objects.bulk_update(moved, ["created_at", "updated_at"], batch_size=1000)
    _carts_create(carts=carts)
    for visit_index, step_index, order in purchases.values():
        steps = made[visit_index].steps
        steps[step_index] = steps[step_index]._replace(
            order_id=order.pk, value=order.total
        )
    progress("visits", len(made), len(made))
    return made
