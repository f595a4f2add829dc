"""
The shared cache (Redis) behind a circuit breaker.

Every use of the "default" cache goes through `BreakerRedisCache`: the
catalogue version, stock counters, rate limits, cookieless sessions and the
dashboards' panels. When Redis times out or refuses a connection, the
breaker opens and every cache call fails at once for a short back-off, as
if Redis were down, which every caller already handles: it serves without
the cache instead of each request waiting on its own socket timeout.
"""

from urllib.parse import urlsplit

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .breaker import CircuitBreaker, CircuitOpen, breaker_get


class RedisCircuitOpen(CircuitOpen, RedisConnectionError):
    """Redis failed recently; raised where a connection error would be."""


def _unreachable(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, ConnectionInterrupted) else exc
    return isinstance(cause, RedisConnectionError | RedisTimeoutError | OSError)


class _GuardedClient:
    """A django-redis client whose every operation passes the breaker."""

    # Not a call to Redis: must work while the circuit is open.
    UNGUARDED = frozenset({"close", "make_key", "reverse_key", "get_client"})

    def __init__(self, client, breaker: CircuitBreaker):
        self._client = client
        self._breaker = breaker

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name in self.UNGUARDED or not callable(attribute):
            return attribute
        breaker = self._breaker

        def guarded(*args, **kwargs):
            try:
                return breaker.call(attribute, *args, is_failure=_unreachable, **kwargs)
            except CircuitOpen:
                # django-redis re-raises the cause of ConnectionInterrupted.
                cause = RedisCircuitOpen(breaker.name)
                raise ConnectionInterrupted(connection=None) from cause

        return guarded


class BreakerRedisCache(RedisCache):
    """
    django-redis's cache with a circuit breaker per server (per process).

    OPTIONS["BREAKER_BACKOFF"]: seconds served without Redis after a
    failure before a PING in the background probes it again (default 5;
    doubles while the probes fail, up to a minute).
    """

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        backoff = float(options.pop("BREAKER_BACKOFF", 5.0))
        super().__init__(server, {**params, "OPTIONS": options})
        # Named by host, port and database: never by a URL's password.
        first = urlsplit(server.split(",")[0] if isinstance(server, str) else server[0])
        name = f"redis {first.hostname}:{first.port or 6379}{first.path}"
        self.breaker = breaker_get(name, backoff=backoff, probe=self._ping)
        self._guarded = None

    def _ping(self) -> None:
        # Straight to Redis, past the breaker, with the socket timeout.
        RedisCache.client.fget(self).get_client(write=True).ping()

    @property
    def client(self):
        if self._guarded is None:
            self._guarded = _GuardedClient(super().client, self.breaker)
        return self._guarded
