"""Phone numbers a callback may go to: the caller's own, or one keyed in, in the line's country.

Parsed with `phonenumbers` (Google's numbering plans): a callback is never placed to a number
that cannot be a real one, nor abroad because a caller typed a country code.
"""
from __future__ import annotations

import phonenumbers

from routing.records import E164


def callable_number(caller: str) -> str | None:
    """Return the caller's number when it can be called back (E.164, not withheld, not an app or SIP address)."""
    if not E164.fullmatch(caller or ""):
        return None
    try:
        parsed = phonenumbers.parse(caller, None)
    except phonenumbers.NumberParseException:
        return None
    return caller if phonenumbers.is_possible_number(parsed) else None


def national_number(digits: str, line: str) -> str | None:
    """Return a number keyed in on the keypad as E.164, read in the country of the line called; None if invalid."""
    digits = "".join(ch for ch in digits if ch.isdigit())
    if not 4 <= len(digits) <= 15:
        return None
    try:
        country = phonenumbers.region_code_for_number(phonenumbers.parse(line, None))
        parsed = phonenumbers.parse(digits, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.region_code_for_number(parsed) != country:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
