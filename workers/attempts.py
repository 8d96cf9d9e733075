"""Contact attempts: cancelling a case whose customer was not reached on three business days (SPEC §5.9)."""
from __future__ import annotations

from .context import context


def cancel_unreached(case: str) -> str:
    """Cancel the case if it is still due, and tell the customer; running it twice has one effect."""
    from ivr.services.attempts import cancel_if_unreached

    ctx = context()
    return cancel_if_unreached(ctx.services, ctx.rest, ctx.catalogs, case)
