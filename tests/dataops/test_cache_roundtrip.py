import datetime as dt
import os
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django_redis.cache import RedisCache

from shop.cache import catalogue_cached


@pytest.fixture
def redis_cache():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs a real Redis (set REDIS_URL; CI does)")
    from django.core.cache import caches

    assert isinstance(caches["default"], RedisCache)
    return cache


def test_datetimes_dates_and_decimals_round_trip_exactly(redis_cache):
    value = {
        "london": dt.datetime(
            2024, 3, 31, 1, 30, 15, 123456, tzinfo=ZoneInfo("Europe/London")
        ),
        "utc": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "offset": dt.datetime(
            2024, 6, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
        ),
        "day": dt.date(2024, 2, 29),
        "price": Decimal("10.50"),
        "tiny": Decimal("0.000000001"),
        "rows": [(Decimal("1.10"), dt.date(2020, 1, 1))],
    }
    redis_cache.set("dataops:roundtrip", value, 60)
    back = redis_cache.get("dataops:roundtrip")
    assert back == value
    assert (
        back["london"].tzinfo == ZoneInfo("Europe/London")
        and back["london"].utcoffset() == value["london"].utcoffset()
    )
    assert back["offset"].utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert str(back["price"]) == "10.50" and isinstance(back["day"], dt.date)
    assert str(back["rows"][0][0]) == "1.10"


def test_catalogue_cache_returns_decimals_not_floats(redis_cache):
    first = catalogue_cached(
        "dataops:prices", lambda: [Decimal("19.99"), Decimal("5.00")]
    )
    second = catalogue_cached("dataops:prices", lambda: pytest.fail("computed twice"))
    assert second == first and [str(p) for p in second] == ["19.99", "5.00"]
