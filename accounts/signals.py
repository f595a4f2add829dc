"""
Signals for the apps above accounts, which accounts never imports.

`user_email_verified(sender=User, user=...)` is sent when a sign-in or a
token refresh proves that the user owns their email address.
"""

from django.dispatch import Signal

user_email_verified = Signal()
