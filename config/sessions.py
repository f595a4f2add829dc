"""
The session engine: Django's database sessions, with the cookie's key
checked before it reaches the database.

A key holding a NUL byte would make PostgreSQL refuse the query (a 500 on
every page); one that Django could never have issued is simply no session.
"""

import string

from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

# What Django draws session keys from (backends.base.VALID_KEY_CHARS).
KEY_CHARS = frozenset(string.ascii_lowercase + string.digits)


class SessionStore(DatabaseStore):
    def _validate_session_key(self, key):
        return bool(key) and 8 <= len(key) <= 40 and KEY_CHARS.issuperset(key)
