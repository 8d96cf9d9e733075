"""Dispatch jobs: the REST requests a webhook asks for but must not wait on (the dequeue of a taken offer)."""
from __future__ import annotations

from .context import context, rest


def bridge_offer(offer_id: str) -> str:
    """Join a taken offer's caller to the engineer waiting for them (see `ivr.dispatch.bridge`); once, however
    often RQ runs the job."""
    import time

    from ivr.dispatch.bridge import bridge

    ctx = context()
    offer = ctx.services.offers.get(offer_id)
    if offer is not None and offer.dequeued:
        # Run again (retried, or its worker died after finishing): the caller is out of Twilio's queue, and a
        # second dequeue would answer 404 as if they had hung up, ending the call the engineer is taking.
        return "bridged"
    outcome = bridge(ctx.services, rest(), ctx.catalogs, offer_id)
    if outcome == "bridged":
        ctx.services.offers.note(offer_id, dequeued=f"{time.time():.3f}")
    return outcome
