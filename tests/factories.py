from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from shop.models import (
    Category,
    Order,
    OrderLine,
    Product,
    ProductImage,
    ProductVariant,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    name = factory.Faker("name")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A well-made thing."

    @factory.post_generation
    def refresh(obj, create, extracted, **kwargs):
        # Listing fields are recomputed once variants exist; see VariantFactory.
        return None


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    options = factory.LazyFunction(lambda: {"size": "M"})
    price = Decimal("20.00")
    stock = 10

    @factory.post_generation
    def refresh(obj, create, extracted, **kwargs):
        if create:
            from shop.services import product_index_refresh

            product_index_refresh(product_ids=[obj.product_id])


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    url = factory.Sequence(lambda n: f"https://images.example.com/{n}.jpg")
    alt = "A product photo"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"NW-T{n:07d}")
    user = None
    # A signed-in customer's orders carry their email, as checkout fills it.
    email = factory.LazyAttributeSequence(
        lambda o, n: o.user.email if o.user else f"buyer{n}@example.com"
    )
    full_name = "Ada Buyer"
    address_line1 = "1 High Street"
    city = "London"
    postcode = "N1 1AA"
    country = "GB"
    shipping_method = "standard"
    payment_method = "cod"
    currency = "GBP"
    subtotal = Decimal("40.00")
    shipping_cost = Decimal("4.95")
    total = Decimal("44.95")
    created_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product_name = "Product"
    sku = factory.Sequence(lambda n: f"LINE-{n}")
    unit_price = Decimal("20.00")
    quantity = 2
    line_total = Decimal("40.00")


def checkout_details(**overrides):
    """What a guest types at checkout, as the services take it."""
    from shop.services import CheckoutDetails

    values = {
        "email": "guest@example.com",
        "full_name": "Grace Guest",
        "address_line1": "1 High Street",
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": "GB",
        "shipping_method": "standard",
        "payment_method": "cod",
    }
    return CheckoutDetails(**(values | overrides))
