"""
The shop's local day: the calendar day in its time zone (`TIME_ZONE`).

The one definition of a day's boundaries, for the clickstream's sessions
and the dashboards' daily rollups and ranges alike.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_date(moment: dt.datetime) -> dt.date:
    """The local day that holds `moment` (an aware datetime)."""
    return moment.astimezone(shop_zone()).date()


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of local day `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=shop_zone())


def local_days_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the local days `first` to `last`, both included."""
    return local_midnight(first), local_midnight(last + dt.timedelta(days=1))


def local_days_covering(
    start: dt.datetime, end: dt.datetime
) -> tuple[dt.date, dt.date]:
    """The first and last local days that [start, end) touches."""
    return local_date(start), local_date(end - dt.timedelta(microseconds=1))
