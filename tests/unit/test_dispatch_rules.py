"""Who is offered which waiting caller: earliest deadline first, first claim, queues served (SPEC §4–§5)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing import Engineer
from routing.dispatch import (Presence, WaitingCaller, claimed_by, next_caller, on_shift, queues_served,
                              serving_order)

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=60)
ANNA = Engineer("anna", "Anna", ("de", "en"), ("emea",), client="anna")
BOB = Engineer("bob", "Bob", ("en",), ("emea",), client="bob")


def caller(sid, queue="emea-de", deadline_min=60, joined_min=-5, preferred=None) -> WaitingCaller:
    return WaitingCaller(sid, queue, NOW + timedelta(minutes=deadline_min), NOW + timedelta(minutes=joined_min),
                         preferred=preferred)


def present(state, since_s=-3600) -> Presence:
    return Presence(state, NOW + timedelta(seconds=since_s))


def test_an_engineer_serves_each_of_their_regions_in_each_of_their_languages():
    assert queues_served(Engineer("x", "X", ("de", "en"), ("emea", "us"))) == ["emea-de", "emea-en", "us-de", "us-en"]


def test_available_and_busy_engineers_are_on_shift_away_offline_and_inactive_ones_are_not():
    assert [on_shift(ANNA, s) for s in ("available", "busy", "away", "offline")] == [True, True, False, False]
    assert not on_shift(Engineer("z", "Z", ("en",), ("emea",), active=False), "available")


def test_the_earliest_deadline_is_served_first_whatever_the_order_of_arrival():
    late, early = caller("late", deadline_min=180, joined_min=-30), caller("early", deadline_min=30, joined_min=-1)
    assert [c.sid for c in serving_order([late, early])] == ["early", "late"]


def test_equal_deadlines_go_to_whoever_waited_longest():
    newer, older = caller("newer", joined_min=-1), caller("older", joined_min=-9)
    assert [c.sid for c in serving_order([newer, older])] == ["older", "newer"]


def test_a_free_engineer_gets_the_earliest_deadline_across_all_the_queues_they_serve():
    callers = [caller("de", "emea-de", 120), caller("en", "emea-en", 30), caller("fr", "emea-fr", 5)]
    assert next_caller(ANNA, callers, {}, NOW, WINDOW).sid == "en"  # French is not Anna's


def test_nobody_is_offered_a_caller_in_a_queue_they_do_not_serve():
    assert next_caller(BOB, [caller("de", "emea-de")], {}, NOW, WINDOW) is None


def test_a_caller_is_held_for_their_busy_engineer():
    held = caller("held", "emea-en", 1, preferred="anna")
    assert claimed_by(held, {"anna": present("busy")}, NOW, WINDOW) == "anna"
    assert next_caller(BOB, [held, caller("other", "emea-en", 90)], {"anna": present("busy")}, NOW, WINDOW).sid == "other"


def test_the_claim_lasts_the_window_from_the_moment_the_engineer_becomes_free():
    held = caller("held", "emea-en", preferred="anna")
    assert claimed_by(held, {"anna": present("available", since_s=-59)}, NOW, WINDOW) == "anna"
    assert claimed_by(held, {"anna": present("available", since_s=-60)}, NOW, WINDOW) is None
    assert next_caller(BOB, [held], {"anna": present("available", since_s=-61)}, NOW, WINDOW).sid == "held"


def test_an_engineer_going_away_or_offline_mid_claim_releases_the_caller_at_once():
    held = caller("held", "emea-en", preferred="anna")
    for state in ("away", "offline"):
        assert claimed_by(held, {"anna": present(state, since_s=-1)}, NOW, WINDOW) is None
        assert next_caller(BOB, [held], {"anna": present(state, since_s=-1)}, NOW, WINDOW).sid == "held"


def test_a_freed_engineer_is_offered_their_own_claimed_caller_before_an_earlier_deadline():
    theirs = caller("theirs", "emea-de", 200, preferred="anna")
    urgent = caller("urgent", "emea-de", 10)
    presences = {"anna": present("available", since_s=-5)}
    assert next_caller(ANNA, [urgent, theirs], presences, NOW, WINDOW).sid == "theirs"


def test_a_claimed_caller_who_overflowed_still_reaches_their_engineer():
    overflowed = caller("ru", "emea-en", preferred="anna")  # Anna speaks no Russian queue's language here
    russian_speaker_free = {"anna": present("available", since_s=-1)}
    assert next_caller(ANNA, [overflowed], russian_speaker_free, NOW, WINDOW).sid == "ru"


def test_an_inactive_engineer_is_offered_nobody():
    gone = Engineer("anna", "Anna", ("de",), ("emea",), active=False)
    assert next_caller(gone, [caller("c", preferred="anna")], {"anna": present("available", -1)}, NOW, WINDOW) is None
