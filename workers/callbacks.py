"""Callback jobs: calling the customer once an engineer took the callback, and handling no answer."""
from __future__ import annotations

from .context import context, rest


def call_customer(offer_id: str) -> str:
    """Call the customer of a taken callback offer (see `ivr.dispatch.callback`)."""
    from ivr.dispatch.callback import call_customer as place

    ctx = context()
    offer = ctx.services.offers.get(offer_id)
    if offer is not None and offer.customer_call:
        return "calling"  # run again (retried, or its worker died after placing the call): never ring them twice
    return place(ctx.services, rest(), ctx.catalogs, offer_id)


def customer_did_not_answer(offer_id: str, reason: str) -> str:
    """Free the engineer of a callback the customer did not answer, and try again later or give up."""
    from ivr.dispatch.callback import customer_missed

    ctx = context()
    offer = ctx.services.offers.get(offer_id)
    if offer is None:
        return "gone"
    return customer_missed(ctx.services, ctx.rest, ctx.catalogs, offer, reason)
