import os

import pytest
from django.core.cache import caches
from django.db import connection

from tests.factories import (
    CategoryFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with empty caches (Redis in CI, memory locally)."""
    from shop.cache import _seen

    _seen["version"] = 0
    for alias in caches:
        caches[alias].clear()
    yield
    for alias in caches:
        caches[alias].clear()


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); SQLite lacks the feature")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("postgres"):
            item.fixturenames.append("postgres_only")


@pytest.fixture
def category(db):
    return CategoryFactory()


@pytest.fixture
def product(db):
    product = ProductFactory()
    VariantFactory(product=product, stock=10)
    return product


@pytest.fixture
def variant(product):
    return product.variants.first()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def chromium_path():
    import shutil

    path = shutil.which("chromium") or os.environ.get("CHROMIUM_PATH")
    if not path:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return path
