"""
Circuit breakers for dependencies that may hang (Redis above all).

A breaker is closed while calls succeed. A call that fails to reach the
dependency opens it: for a short back-off every call fails at once, without
waiting on the dependency, and callers serve without it. Then it probes
(half-open) while calls still fail at once: success closes the breaker,
failure opens it again for a back-off twice as long, up to a cap. With a
`probe` function the probe runs in a thread of its own, so no request waits
on a dependency that is still hung; without one, the next call probes.

Breakers are per process and shared by its threads, one per dependency
(`breaker_get`), so one timed-out call saves every later request from
waiting on its own timeout.
"""

import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class CircuitOpen(Exception):
    """The dependency failed recently; the call was not attempted."""


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        backoff: float = 5.0,
        max_backoff: float = 60.0,
        probe: Callable[[], object] | None = None,
    ):
        self.name = name
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.probe = probe
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._current = backoff
        self._probing = False
        self.failures = 0
        self.last_error = ""

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._probing else "open"

    def allow(self) -> bool:
        """Whether a call may go to the dependency now (claims the probe)."""
        if self._opened_at is None:
            return True
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or time.monotonic() - self._opened_at < self._current:
                return False
            self._probing = True
            if self.probe is None:
                return True  # this call is the probe
        threading.Thread(
            target=self._probe_run, name=f"probe {self.name}", daemon=True
        ).start()
        return False

    def _probe_run(self) -> None:
        try:
            self.probe()
        except Exception as exc:
            self.failure(exc)
        else:
            self.success()

    def success(self) -> None:
        if self._opened_at is None:
            return
        with self._lock:
            if self._opened_at is not None:
                logger.warning("%s is back; circuit closed", self.name)
            self._opened_at = None
            self._probing = False
            self._current = self.backoff

    def failure(self, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = (exc.__cause__ or exc).__class__.__name__
            if self._opened_at is None:
                logger.warning(
                    "%s failed (%s); serving without it for %.0fs",
                    self.name,
                    self.last_error,
                    self._current,
                )
            elif self._probing:
                self._current = min(self._current * 2, self.max_backoff)
            self._opened_at = time.monotonic()
            self._probing = False

    def call(self, function: Callable, *args, is_failure=None, **kwargs):
        """
        Call `function` through the breaker. Raises CircuitOpen while open.

        `is_failure(exc)` says which exceptions mean the dependency is
        unreachable (default: all); others pass through as answers.
        """
        if not self.allow():
            raise CircuitOpen(self.name)
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:
            if is_failure is None or is_failure(exc):
                self.failure(exc)
            else:
                self.success()
            raise
        self.success()
        return result

    def reset(self) -> None:
        with self._lock:
            self._opened_at = None
            self._probing = False
            self._current = self.backoff


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_get(name: str, **options) -> CircuitBreaker:
    """The process's breaker for `name`, made with `options` the first time."""
    found = _breakers.get(name)
    if found is None:
        with _breakers_lock:
            found = _breakers.setdefault(name, CircuitBreaker(name, **options))
    return found


def breakers_all() -> list[CircuitBreaker]:
    return list(_breakers.values())


def breakers_reset() -> None:
    """Close every breaker (tests)."""
    for breaker in breakers_all():
        breaker.reset()


def _after_fork() -> None:
    # A lock another thread held at the fork would never be released.
    global _breakers_lock
    _breakers_lock = threading.Lock()
    for breaker in _breakers.values():
        breaker._lock = threading.Lock()
        breaker._probing = False


os.register_at_fork(after_in_child=_after_fork)
