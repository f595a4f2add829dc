"""
The clickstream's counters summed across every process of the shop.

Each process counts what it recorded, wrote and dropped; /healthz would
otherwise show only whichever worker answered. Processes add what they
counted since last time to counters in the shared cache (Redis); when it
is away, the counts wait in the process and are added later, and
`totals_read` answers None (health shows the process's own counts).
"""

from collections import Counter

from django.core.cache import cache

PREFIX = "analytics:total:"
# The names of every counter ever added, so a reader need not scan keys.
NAMES_KEY = PREFIX + "names"


def totals_add(delta: Counter) -> bool:
    """Add `delta` to the shared totals; False (nothing added) if unavailable."""
    try:
        names = set(cache.get(NAMES_KEY) or ())
        for name, count in delta.items():
            if not count:
                continue
            key = PREFIX + name
            if not cache.add(key, count, timeout=None):
                cache.incr(key, count)
        if not names >= delta.keys():
            cache.set(NAMES_KEY, sorted(names | delta.keys()), timeout=None)
    except Exception:
        return False
    return True


def totals_read() -> dict[str, int] | None:
    try:
        names = cache.get(NAMES_KEY) or []
        values = cache.get_many([PREFIX + name for name in names])
    except Exception:
        return None
    return {name: values.get(PREFIX + name, 0) for name in names}
