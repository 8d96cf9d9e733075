"""How the console says times, and whose failed sign-ins count together."""
from __future__ import annotations

import pytest

from ivr.adapters.directory.staff_accounts import PasswordRefused, address_bucket, check_new_password
from ivr.console.board import duration, to_deadline


@pytest.mark.parametrize("seconds, said", [
    (0, "0 s"), (45, "45 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h 00 min"),
    (2 * 3600 + 5 * 60 + 7, "2 h 05 min"), (-5, "0 s"),
])
def test_a_length_of_time_is_said_the_way_a_person_reads_it(seconds, said):
    assert duration(seconds) == said


@pytest.mark.parametrize("seconds, said", [(1800, "in 30 min"), (0, "in 0 s"), (-90, "overdue by 1 min")])
def test_time_to_deadline_says_when_it_is_overdue(seconds, said):
    assert to_deadline(seconds) == said


@pytest.mark.parametrize("address, bucket", [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # an IPv4 client on a dual-stack socket is still that client
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("not an address", "unknown"),
    (None, "unknown"),
])
def test_failed_sign_ins_from_one_host_count_together(address, bucket):
    assert address_bucket(address) == bucket


@pytest.mark.parametrize("password, says", [
    ("short", "at least 8"), ("x" * 1025, "at most 1024"), ("two\nlines!", "one line"), ("nul\0inside", "one line"),
])
def test_a_password_that_cannot_be_set_is_refused_saying_why(password, says):
    with pytest.raises(PasswordRefused, match=says):
        check_new_password(password)


def test_a_long_passphrase_with_spaces_and_any_script_can_be_set():
    check_new_password("Пароль mit Leerzeichen 合言葉")
