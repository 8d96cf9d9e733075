"""Dispatch jobs: the REST requests a webhook asks for but must not wait on (the dequeue of a taken offer)."""
from __future__ import annotations

from .context import context, rest


def bridge_offer(offer_id: str) -> str:
    """Join a taken offer's caller to the engineer waiting for them (see `ivr.dispatch.bridge`: once, however
    often RQ runs the job)."""
    from ivr.dispatch.bridge import bridge

    ctx = context()
    return bridge(ctx.services, rest(), ctx.catalogs, offer_id)
