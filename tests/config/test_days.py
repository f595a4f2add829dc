"""The shop's local day, across a clock change."""

import datetime as dt

from config.days import local_date, local_days_bounds, local_days_covering


def test_a_local_day_with_a_clock_change_has_23_hours(settings):
    settings.TIME_ZONE = "Europe/London"
    start, end = local_days_bounds(dt.date(2026, 3, 29), dt.date(2026, 3, 29))
    # Aware datetimes in one zone subtract as wall time; the instants differ by 23h.
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=23)
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 0, tzinfo=dt.UTC)


def test_late_evening_utc_is_the_next_local_day_east_of_greenwich(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    moment = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)
    assert local_date(moment) == dt.date(2026, 7, 2)


def test_the_days_covering_a_range_end_before_its_exclusive_end(settings):
    settings.TIME_ZONE = "Europe/London"
    start, end = local_days_bounds(dt.date(2026, 1, 1), dt.date(2026, 1, 7))
    assert local_days_covering(start, end) == (dt.date(2026, 1, 1), dt.date(2026, 1, 7))
