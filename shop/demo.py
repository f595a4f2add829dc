"""
The demo store: a deterministic catalogue, customers and order history.

Everything is generated locally (images are small SVG files) from a seeded
random generator, so running it twice produces the same rows and the second
run adds nothing.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User

from .models import Category, Order, OrderLine, Product, ProductImage, ProductVariant
from .services import product_index_refresh

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


def _svg(name: str, colour: str, accent: str) -> bytes:
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400">'
        f'<rect width="400" height="400" fill="{colour}"/>'
        f'<circle cx="300" cy="110" r="90" fill="{accent}" opacity=".55"/>'
        f'<rect x="40" y="250" width="220" height="24" rx="12" fill="#fff" opacity=".35"/>'
        f'<text x="40" y="220" font-family="sans-serif" font-size="96" font-weight="700" '
        f'fill="#fff">{initials}</text></svg>'
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


@dataclass(frozen=True)
class _OrderDraw:
    """One demo order's random values, bar the street number."""

    user: User | None
    age: timedelta
    lines: list[tuple[ProductVariant, int]]
    method: str
    status: str
    city: str
    postcode: str


def _order_draw(
    *,
    rng: random.Random,
    users: list[User],
    variants: list[ProductVariant],
    days: int,
) -> _OrderDraw:
    user = rng.choice(users) if rng.random() < 0.7 else None
    age = timedelta(days=days * rng.random() ** 1.3)
    picks = rng.sample(variants, k=rng.choice([1, 1, 1, 2, 2, 3]))
    quantities = [rng.choice([1, 1, 1, 2, 3]) for _ in picks]
    method = rng.choice(list(settings.SHOP_SHIPPING_METHODS))
    status = rng.choices(
        [s for s, _ in ORDER_STATUSES], weights=[w for _, w in ORDER_STATUSES]
    )[0]
    city, postcode = rng.choice(CITIES)
    return _OrderDraw(
        user=user,
        age=age,
        lines=list(zip(picks, quantities, strict=True)),
        method=method,
        status=status,
        city=city,
        postcode=postcode,
    )


def _order_new(
    *, rng: random.Random, draw: _OrderDraw, number: str, guest: int, now: datetime
) -> Order:
    user, status = draw.user, draw.status
    subtotal = sum((v.price * q for v, q in draw.lines), Decimal("0"))
    if draw.age < timedelta(days=2) and status in (
        Order.Status.DELIVERED,
        Order.Status.SHIPPED,
    ):
        status = Order.Status.PAID
    shipping_cost = settings.SHOP_SHIPPING_METHODS[draw.method][1]
    return Order(
        number=number,
        user=user,
        email=user.email if user else f"guest{guest}@example.com",
        full_name=user.name if user else "Guest Shopper",
        address_line1=f"{rng.randint(1, 200)} High Street",
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
        created_at=now - draw.age,
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


def demo_orders_build(
    *, orders: int = 600, days: int = 90, seed: int = 7, progress: Progress = _noop
) -> int:
    """
    Create past orders spread over the last `days` days.

    They are historical rows (stock is not decremented), numbered
    deterministically so a rerun adds none.
    """
    rng = random.Random(seed)
    users = demo_customers_build(seed=seed)
    variants = list(
        ProductVariant.objects.filter(sku__startswith="DEMO-")
        .select_related("product")
        .order_by("pk")[:5000]
    )
    if not variants:
        return 0
    existing = set(
        Order.objects.filter(number__startswith="NW-D").values_list("number", flat=True)
    )
    now = timezone.now()
    new_orders, new_lines = [], []
    for i in range(orders):
        number = f"NW-D{i + 1:07d}"
        # Draw every random value even for existing orders: reruns stay in step.
        draw = _order_draw(rng=rng, users=users, variants=variants, days=days)
        if number in existing:
            continue
        new_orders.append(
            _order_new(rng=rng, draw=draw, number=number, guest=i + 1, now=now)
        )
        new_lines.append(draw.lines)
    _orders_create(orders=new_orders, lines=new_lines)
    progress("orders", orders, orders)
    return len(new_orders)


def demo_catalogue_sample(
    *, limit: int = 5000
) -> tuple[list[tuple[int, str, int, Decimal]], list[tuple[int, Decimal]]]:
    """
    Plain values for the demo clickstream: (product id, slug, variant id,
    price) for up to `limit` variants, and (id, total) of recent orders.
    """
    products = list(
        Product.objects.filter(variants__isnull=False)
        .values_list("pk", "slug", "variants__pk", "variants__price")
        .order_by("pk")[:limit]
    )
    orders = list(
        Order.objects.values_list("pk", "total").order_by("-created_at")[:limit]
    )
    return products, orders
