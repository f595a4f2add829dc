"""
The session engine: Django's cached_db sessions, written to the database
and read from the "default" cache (Redis, behind its circuit breaker), with
the cookie's key checked before it reaches either.

A key holding a NUL byte would make PostgreSQL refuse the query (a 500 on
every page); one that Django could never have issued is simply no session.

The database is the record; the cache only saves reading it. Every cache
call here is allowed to fail (Redis down, or its breaker open): a read then
goes to the database, and a write or delete that did not reach the cache
leaves the key marked stale in this process. A stale key is read from the
database and deleted from the cache as soon as the cache answers again, so
a session signed out while Redis was away is not brought back by its old
copy. Cached copies also live at most SESSION_CACHE_SECONDS, which bounds
what a process that restarts in between could leave behind.
"""

import string
import time
from contextlib import nullcontext
from functools import partial

from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    UpdateError,
)
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils.crypto import get_random_string

# What Django draws session keys from (backends.base.VALID_KEY_CHARS).
KEY_CHARS = frozenset(string.ascii_lowercase + string.digits)

# Cache keys whose last write or delete did not reach the cache, per process,
# with when it failed.
_stale: dict[str, float] = {}


def _stale_add(key: str) -> None:
    now = time.monotonic()
    if len(_stale) >= 10_000:
        # Copies cached before then have expired: nothing left to delete.
        oldest = now - settings.SESSION_CACHE_SECONDS
        for old, failed in list(_stale.items()):  # copied: threads share it
            if failed < oldest:
                _stale.pop(old, None)
    _stale[key] = now


class SessionStore(CachedDBStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # The data as this store last wrote it: saving it again is skipped.
        self._written: bytes | None = None

    def _validate_session_key(self, key):
        return bool(key) and 8 <= len(key) <= 40 and KEY_CHARS.issuperset(key)

    def _get_new_session_key(self):
        # 32 characters of 36: a key is never drawn twice, and if it were,
        # create()'s insert would refuse it and draw again. Django looks the
        # key up first, which costs every new session a query.
        return get_random_string(32, VALID_KEY_CHARS)

    # -- the cache, which may fail ------------------------------------------

    def _cache_usable(self, key: str) -> bool:
        """Whether `key`'s cached copy can be trusted (stale keys resent first)."""
        if not _stale:
            return True
        keys = list(_stale)
        try:
            self._cache.delete_many(keys)
        except Exception:
            return key not in _stale
        for sent in keys:
            _stale.pop(sent, None)
        return True

    def _cache_get(self, key: str):
        """The cached copy; None when there is none, or none to trust."""
        if not self._cache_usable(key):
            return None
        try:
            return self._cache.get(key)
        except Exception:
            return None

    def _cache_set(self, key: str, data: dict, age: int, *, write=True) -> None:
        timeout = min(age, settings.SESSION_CACHE_SECONDS)
        try:
            if self._cache_usable(key):
                self._cache.set(key, data, timeout)
                return
        except Exception:
            pass
        if write:  # a copy of what was read leaves nothing stale behind
            _stale_add(key)

    def _cache_delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except Exception:
            _stale_add(key)

    def _committed(self, payload: bytes) -> None:
        # A write rolled back leaves both the cache and `_written` as they were.
        self._written = payload
        if self.session_key is not None:
            self._cache_set(self.cache_key, self._session, self.get_expiry_age())

    # -- the store -----------------------------------------------------------

    def load(self):
        key = self.cache_key
        data = self._cache_get(key)
        if data is None:
            row = self._get_session_from_db()
            if row is None:
                return {}
            data = self.decode(row.session_data)
            self._cache_set(
                key, data, self.get_expiry_age(expiry=row.expire_date), write=False
            )
        return data

    def exists(self, session_key):
        if session_key and self._cache_usable(self.cache_key_prefix + session_key):
            try:
                if (self.cache_key_prefix + session_key) in self._cache:
                    return True
            except Exception:
                pass
        return DatabaseStore.exists(self, session_key)

    def create(self):
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self._save(must_create=True, savepoint=True)
            except CreateError:
                continue  # the key was taken: draw again
            self.modified = True
            return

    def save(self, must_create=False):
        """
        Write the session to the database in one statement (Django wraps it
        in a transaction of its own), then, after the commit, to the cache.
        Data this store has already written is not written again.
        """
        if self.session_key is None:
            return self.create()
        self._save(must_create=must_create, savepoint=False)

    def _save(self, *, must_create: bool, savepoint: bool) -> None:
        data = self._get_session(no_load=must_create)
        payload = self.serializer().dumps(data)
        if not must_create and payload == self._written:
            return
        row = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=row)
        # Only create() retries, after a taken key, inside the caller's
        # transaction: that needs a savepoint to leave it usable.
        in_savepoint = savepoint and connections[using].in_atomic_block
        try:
            with transaction.atomic(using=using) if in_savepoint else nullcontext():
                row.save(
                    force_insert=must_create, force_update=not must_create, using=using
                )
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
        if not must_create and connections[using].in_atomic_block:
            # Until the commit, nobody may read the old data from the cache.
            self._cache_delete(self.cache_key)
        transaction.on_commit(partial(self._committed, payload), using=using)

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        DatabaseStore.delete(self, session_key)
        self._written = None
        self._cache_delete(self.cache_key_prefix + session_key)
