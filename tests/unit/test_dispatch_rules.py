"""Who is offered which waiting caller: earliest deadline first, first claim, queues served (SPEC §4–§5)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing import Engineer
from routing.dispatch import (Presence, WaitingCaller, claimed_by, effective_presence, expected_wait, gone_quiet,
                              moving_average, next_caller, offer_plan, on_shift, queues_served, serving_order)

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


def test_an_engineer_who_let_a_callers_offer_pass_is_not_offered_that_caller_again():
    missed = WaitingCaller("a", "emea-de", NOW + timedelta(minutes=5), NOW, missed_by=frozenset({"anna"}))
    later = caller("b", deadline_min=90)
    assert next_caller(ANNA, [missed, later], {}, NOW, WINDOW).sid == "b"
    assert next_caller(Engineer("cleo", "Cleo", ("de",), ("emea",), client="cleo"), [missed, later], {}, NOW,
                       WINDOW).sid == "a"


def test_the_engineer_free_longest_chooses_first_and_each_caller_goes_to_one_engineer():
    cleo = Engineer("cleo", "Cleo", ("de",), ("emea",), phone="+4930111")
    presences = {"anna": present("available", -60), "cleo": present("available", -600)}
    callers = [caller("soon", deadline_min=10), caller("later", deadline_min=50), caller("last", deadline_min=90)]
    plan = offer_plan([ANNA, cleo], presences, callers, NOW, WINDOW)
    assert [(e.id, c.sid) for e, c in plan] == [("cleo", "soon"), ("anna", "later")]


def test_only_free_active_reachable_engineers_are_offered_callers():
    ghost = Engineer("ghost", "Ghost", ("de",), ("emea",))  # no client, no phone
    gone = Engineer("gone", "Gone", ("de",), ("emea",), client="gone", active=False)
    presences = {"anna": present("busy"), "bob": present("away"), "ghost": present("available"),
                 "gone": present("available")}
    assert offer_plan([ANNA, BOB, ghost, gone], presences, [caller("a", "emea-en")], NOW, WINDOW) == []


def test_an_overflowed_caller_is_offered_in_the_queue_they_were_sent_to():
    overflowed = WaitingCaller("x", "emea-en", NOW + timedelta(minutes=60), NOW)
    plan = offer_plan([BOB], {"bob": present("available")}, [overflowed], NOW, WINDOW)
    assert [(e.id, c.sid) for e, c in plan] == [("bob", "x")]


def test_a_claimed_caller_goes_to_their_engineer_before_anyone_even_with_later_callers_waiting():
    held = caller("held", deadline_min=5, preferred="anna")
    other = caller("other", deadline_min=100)
    presences = {"anna": present("available", -10), "cleo": present("available", -900)}
    cleo = Engineer("cleo", "Cleo", ("de",), ("emea",), client="cleo")
    plan = offer_plan([ANNA, cleo], presences, [held, other], NOW, WINDOW)
    assert {(e.id, c.sid) for e, c in plan} == {("anna", "held"), ("cleo", "other")}


def test_an_engineer_engaged_by_a_call_is_busy_unless_they_said_away_or_offline():
    assert effective_presence("available", engaged=True) == "busy"
    assert effective_presence("available", engaged=False) == "available"
    assert effective_presence("away", engaged=True) == "away"
    assert effective_presence("offline", engaged=True) == "offline"


def test_a_call_that_stopped_asking_for_hold_music_for_two_hold_cycles_has_gone():
    assert not gone_quiet(NOW - timedelta(seconds=100), NOW)
    assert gone_quiet(NOW - timedelta(seconds=151), NOW)


def test_the_answered_wait_average_weights_the_newest_wait_a_quarter():
    assert moving_average(None, 100) == 100
    assert moving_average(100, 200) == 125


def test_an_expected_wait_is_given_only_when_honest_and_never_as_zero_minutes():
    assert expected_wait(None, 0, 3, 2) is None  # no history
    assert expected_wait(120, 2, 3, 2) is None  # too little
    assert expected_wait(120, 10, 3, 0) is None  # nobody on shift
    assert expected_wait(120, 10, 0, 2) is None  # next in line: told so, no number
    assert expected_wait(120, 10, 3, 2) == 4  # (3 + 1) × 120 s / 2 engineers
    assert expected_wait(5, 10, 1, 4) == 1  # a few seconds is still "about 1 minute"
