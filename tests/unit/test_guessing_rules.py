"""Whose failed case-number tries a call counts against (issue 10, item 4): a table, no fixtures."""
from __future__ import annotations

import pytest

from routing.guessing import WITHHELD, WITHHELD_SHARE, guess_allowance


@pytest.mark.parametrize(("number", "limit", "expected"), [
    ("+447700900123", 10, ("+447700900123", 10)),  # a callable number: its own count, the limit
    (None, 10, (WITHHELD, 10 * WITHHELD_SHARE)),   # withheld: one shared count, a larger allowance
    ("", 4, (WITHHELD, 40)),
])
def test_a_call_counts_against_its_own_number_or_the_withheld_callers_together(number, limit, expected):
    assert guess_allowance(number, limit) == expected


def test_withheld_callers_may_make_more_tries_than_one_number():
    assert guess_allowance(None, 10)[1] > guess_allowance("+447700900123", 10)[1]
