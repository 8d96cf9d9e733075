"""The Twilio Voice webhooks of the support-line router, built by an app factory."""
from __future__ import annotations


def create_app(config=None):
    """Build the Flask app; nothing connects until a request needs it."""
    from .app import build

    return build(config)
