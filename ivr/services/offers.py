"""Ending offers: what happens to the engineer and the caller when an offer is missed."""
from __future__ import annotations

import logging

from ivr.adapters.calls.offers import Offer
from ivr.wiring import Services

log = logging.getLogger(__name__)


def end_missed(services: Services, offer: Offer, reason: str) -> bool:
    """End a ringing offer nobody took, once: the engineer is set away, and the caller, still in their
    place, is offered to the next free engineer."""
    if not services.offers.miss(offer, reason):
        return False
    try:
        services.store.set_presence(offer.engineer, "away")
    except LookupError:
        log.info("engineer %s left the directory during offer %s", offer.engineer, offer.id)
    services.offers.wake()
    return True
