"""`ivr report`'s arithmetic: counts, nearest-rank waits, targets met and occupancy, from hand-built records."""
from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from ivr.cli.report_page import duration, render
from ivr.services.report import (Occupancy, Period, build_report, call_rows, engineer_occupancy, occupancy,
                                 percentile, place, stats, timeline, wait_histogram)

LINES = {"+442079460100": "emea", "+18005550100": "us"}
PERIOD = Period(1000.0, 2000.0)


def call(outcome: str, queue: str = "emea-de", language: str | None = None, **fields) -> dict[str, str]:
    record = {"sid": f"CA{len(fields)}", "ended_at": "1500", "line": "+442079460100", "outcome": outcome,
              "queue": queue, "language": language if language is not None else queue.partition("-")[2]}
    record.update({k: str(v) for k, v in fields.items()})
    return record


def entry(engineer: str, state: str, at: float, **fields) -> dict[str, str]:
    return {"engineer": engineer, "state": state, "at": f"{at:.3f}", **{k: str(v) for k, v in fields.items()}}


# -- percentiles -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, p, expected", [
    (range(1, 11), 50, 5),          # rank ceil(5) = 5
    (range(1, 11), 90, 9),          # rank ceil(9) = 9
    ([4, 1, 3, 2], 50, 2),          # even count: the lower middle, a wait that happened
    (range(1, 21), 90, 18),         # rank 18
    (range(1, 12), 90, 10),         # rank ceil(9.9) = 10
    ([7.5], 50, 7.5),
    ([7.5], 90, 7.5),
    ([3, 3, 100], 90, 100),         # rank ceil(2.7) = 3
    ([1, 2], 100, 2),
])
def test_percentiles_are_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


def test_no_waits_have_no_percentile():
    assert percentile([], 50) is None


@pytest.mark.parametrize("p", [0, -1, 101])
def test_a_percentile_outside_0_to_100_is_refused(p):
    with pytest.raises(ValueError):
        percentile([1], p)


# -- where a call belongs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("record, expected", [
    ({"queue": "emea-de", "language": "de", "line": "+18005550100"}, ("emea", "de")),  # the queue wins
    ({"queue": "us-en", "line": "+18005550100"}, ("us", "en")),                         # language from the queue
    ({"line": "+442079460100", "language": "fr"}, ("emea", "fr")),                      # refused: the line's region
    ({"line": "+442079460100"}, ("emea", "-")),                                          # hung up in the menu
    ({"line": "+19995550000"}, ("-", "-")),                                              # a line no longer configured
    ({}, ("-", "-")),
])
def test_a_call_is_placed_by_its_queue_else_its_line(record, expected):
    assert place(record, LINES) == expected


# -- counts, waits and targets -----------------------------------------------------------------------------

def test_refusals_are_counted_by_reason_most_frequent_first():
    found = stats([call("refused", reason="outside_hours"), call("refused", reason="case_closed"),
                   call("refused", reason="outside_hours"), call("answered", wait_s=10, within_target=1)])

    assert found.refused == {"outside_hours": 2, "case_closed": 1}
    assert (found.calls, found.answered, found.refused_total) == (4, 1, 3)


def test_waits_are_times_in_queue_and_calls_never_queued_are_not_waits_of_zero():
    records = [call("answered", wait_s=w, within_target=1) for w in (10, 20, 30, 40)]
    records += [call("answered", queue="", decision="engineer", within_target=1),  # rung straight through
                call("refused", queue="", reason="case_closed"),
                call("abandoned", wait_s=300), call("callback", wait_s=600)]

    found = stats(records)

    assert found.waits.count == 6
    assert found.waits.median_s == 30.0       # [10, 20, 30, 40, 300, 600]: rank 3
    assert found.waits.p90_s == 600.0          # rank ceil(5.4) = 6
    assert (found.abandoned, found.callback) == (1, 1)


def test_the_share_within_target_counts_answered_calls_whose_target_was_judged():
    records = [call("answered", wait_s=5, within_target=1), call("answered", wait_s=5, within_target=1),
               call("answered", wait_s=2000, within_target=0),
               call("answered", wait_s=5),                      # no verdict recorded: not judged
               call("abandoned", wait_s=4000, within_target=0),  # not answered: not judged
               call("refused", reason="outside_hours")]

    found = stats(records)

    assert (found.within_target, found.judged) == (2, 3)
    assert found.share_within_target == pytest.approx(2 / 3)


def test_no_answered_call_has_no_share_rather_than_zero():
    assert stats([call("abandoned", wait_s=50)]).share_within_target is None


def test_rows_are_per_region_language_and_outcome_with_a_total_per_queue():
    records = [call("answered", wait_s=10, within_target=1),
               call("refused", queue="", language="de", reason="outside_hours"),
               call("abandoned", wait_s=70), call("answered", queue="us-en", wait_s=5, within_target=0,
                                                   line="+18005550100"),
               call("refused", queue="", language="", reason="case_not_found")]

    rows, totals = call_rows(records, LINES)

    assert [(r.region, r.language, r.outcome, r.stats.calls) for r in rows] == [
        ("emea", "-", "refused", 1),
        ("emea", "de", "answered", 1), ("emea", "de", "refused", 1), ("emea", "de", "abandoned", 1),
        ("us", "en", "answered", 1)]
    assert [(t.region, t.language, t.outcome, t.stats.calls) for t in totals] == [
        ("emea", "-", "all", 1), ("emea", "de", "all", 3), ("us", "en", "all", 1)]
    assert rows[2].stats.refused == {"outside_hours": 1}
    assert totals[1].stats.waits.median_s == 10.0


# -- occupancy ---------------------------------------------------------------------------------------------

def test_occupancy_with_a_call_a_wrap_up_and_an_away_spell():
    entries = [
        entry("anna", "available", 500),                              # on shift before the period
        entry("anna", "busy", 1100, offer="o1"),                      # rung, then on the call
        entry("anna", "wrap_up", 1300, until=1330, offer="o1"),       # free again at 1330 by itself
        entry("anna", "away", 1500),
        entry("anna", "available", 1700),
    ]

    found = engineer_occupancy(entries, PERIOD)["anna"]

    assert found.on_shift_s == pytest.approx(500 + 300)    # [1000, 1500) and [1700, 2000)
    assert found.occupied_s == pytest.approx(230)           # [1100, 1330)
    assert found.share == pytest.approx(230 / 800)


def test_a_wrap_up_ended_early_by_take_next_call_stops_counting_then():
    entries = [entry("anna", "available", 900), entry("anna", "busy", 1000, call="CA1"),
               entry("anna", "wrap_up", 1100, until=1130, call="CA1"),
               entry("anna", "available", 1110, call="wrap-up:CA1"), entry("anna", "available", 1110)]

    assert engineer_occupancy(entries, PERIOD)["anna"] == Occupancy(110, 1000)


def test_an_engineer_on_a_call_is_occupied_even_after_choosing_away_and_is_away_once_it_ends():
    entries = [entry("bob", "available", 1000), entry("bob", "busy", 1100, call="CA1"),
               entry("bob", "away", 1200),                               # chosen during the call
               entry("bob", "wrap_up", 1400, until=1420, call="CA1")]     # the wrap-up still counts

    assert engineer_occupancy(entries, PERIOD)["bob"] == Occupancy(320, 420)


def test_a_missed_offer_frees_the_engineer_who_is_then_set_away():
    entries = [entry("bob", "available", 1000), entry("bob", "busy", 1500, offer="o2"),
               entry("bob", "available", 1520, offer="o2"), entry("bob", "away", 1520)]

    assert engineer_occupancy(entries, PERIOD)["bob"] == Occupancy(20, 520)


def test_busy_chosen_by_hand_is_occupied_and_away_and_offline_are_off_shift():
    entries = [entry("cleo", "busy", 1000), entry("cleo", "offline", 1250), entry("cleo", "away", 1600),
               entry("cleo", "available", 1900)]

    assert engineer_occupancy(entries, PERIOD)["cleo"] == Occupancy(250, 350)


def test_occupancy_is_clipped_to_the_period_and_ignores_later_entries():
    entries = [entry("dora", "busy", 800, call="CA1"),                    # on a call when the period starts
               entry("dora", "wrap_up", 1950, until=2100, call="CA1"),    # wrap-up running past its end
               entry("dora", "available", 2100, call="CA1"), entry("dora", "offline", 2500)]

    assert engineer_occupancy(entries, PERIOD)["dora"] == Occupancy(1000, 1000)


def test_entries_are_taken_in_time_order_and_engineers_never_on_shift_are_left_out():
    entries = [entry("erik", "away", 1500), entry("erik", "available", 1000), entry("finn", "offline", 1200),
               entry("gus", "available", 2000), {"engineer": "erik", "state": "busy", "at": "not a time"}]

    found = engineer_occupancy(entries, PERIOD)

    assert found == {"erik": Occupancy(0, 500)}


def test_occupancy_per_region_counts_an_engineer_in_each_of_their_regions_and_overall_once():
    entries = [entry("anna", "available", 1000), entry("anna", "busy", 1500, call="c"),
               entry("bob", "available", 1000), entry("bob", "busy", 1000)]

    found = occupancy(entries, PERIOD, {"anna": ("emea",), "bob": ("us", "latam")})

    assert found.engineers == {"anna": Occupancy(500, 1000), "bob": Occupancy(1000, 1000)}
    assert found.regions == {"emea": Occupancy(500, 1000), "latam": Occupancy(1000, 1000),
                             "us": Occupancy(1000, 1000)}
    assert found.overall == Occupancy(1500, 2000) and found.overall.share == 0.75


def test_nobody_on_shift_has_no_occupancy_rather_than_zero():
    assert occupancy([], PERIOD).overall.share is None


# -- the charts' series and the whole report ---------------------------------------------------------------

def test_waits_fall_in_their_bins():
    records = [call("answered", wait_s=w) for w in (0, 29.9, 30, 59, 61, 3600)] + [call("refused")]

    counts = dict(wait_histogram(records))

    assert counts["under 30 s"] == 2 and counts["30–60 s"] == 2 and counts["1–2 min"] == 1
    assert counts["30 min or more"] == 1 and sum(counts.values()) == 6


def test_a_day_is_shown_hour_by_hour_with_the_quiet_hours():
    day = Period(86400 * 20000, 86400 * 20001)
    records = [call("answered", ended_at=day.start + 10), call("refused", ended_at=day.start + 3 * 3600 + 5),
               call("refused", ended_at=day.start + 3 * 3600 + 50), call("answered", ended_at=day.until + 1)]

    step, buckets = timeline(records, day)

    assert step == 3600 and len(buckets) == 24
    assert buckets[0][1] == {"answered": 1} and buckets[3][1] == {"refused": 2} and buckets[1][1] == {}


def test_a_report_is_one_json_object_of_its_period_rows_and_occupancy():
    records = [call("answered", wait_s=12, within_target=1), call("refused", queue="", reason="case_closed")]
    found = build_report(records, [entry("anna", "available", 1000)], PERIOD, LINES, {"anna": ("emea",)})

    data = json.loads(json.dumps(found.as_json()))

    assert set(data) == {"period", "rows", "totals", "overall", "occupancy"}
    assert data["period"]["since_epoch"] == 1000 and data["period"]["until_epoch"] == 2000
    assert data["overall"]["calls"] == 2 and data["overall"]["refused_by_reason"] == {"case_closed": 1}
    assert data["occupancy"]["engineers"]["anna"] == {"occupied_s": 0, "on_shift_s": 1000, "occupancy": 0.0}


def test_a_period_must_end_after_it_starts():
    with pytest.raises(ValueError):
        Period(2000, 2000)


@pytest.mark.parametrize("seconds, shown", [(None, "–"), (0, "0 s"), (0.4, "0.4 s"), (42, "42 s"),
                                            (60, "1 min"), (185, "3 min 5 s"), (7830, "2 h 10 min")])
def test_durations_read_as_people_say_them(seconds, shown):
    assert duration(seconds) == shown


# -- the page ----------------------------------------------------------------------------------------------

class Page(HTMLParser):
    """Collects the tags, attributes and text of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_the_page_escapes_values_from_the_data_and_needs_nothing_from_outside():
    hostile = '<script>alert("x")</script>&'
    records = [call("refused", queue="", reason=hostile), call("answered", wait_s=40, within_target=1),
               call("abandoned", queue=f"emea-{hostile}", wait_s=90)]
    found = build_report(records, [entry(hostile, "available", 1000), entry(hostile, "busy", 1500)], PERIOD,
                         LINES, {hostile: ("emea",)})

    page = render(found, 2000)
    parsed = Page()
    parsed.feed(page)

    assert "<script" not in page and "http" not in page.lower() and "url(" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert hostile in "".join(parsed.text)  # shown as text, exactly
    tags = [t for t, _a in parsed.tags]
    assert tags.count("svg") == 5 and "script" not in tags
    assert not [a for _t, attrs in parsed.tags for a in attrs if a in ("src", "href") or a.startswith("on")]
    for i, (tag, attrs) in enumerate(parsed.tags):
        if tag == "svg":
            assert attrs["role"] == "img"
            title, desc = attrs["aria-labelledby"].split()
            assert parsed.tags[i + 1] == ("title", {"id": title}) and parsed.tags[i + 2] == ("desc", {"id": desc})


def test_an_empty_period_says_so_instead_of_drawing_empty_charts():
    page = render(build_report([], [], PERIOD), 2000)

    assert "No calls ended in this period." in page and "No engineer was on shift in this period." in page
    assert "<svg" not in page


def test_the_arithmetic_imports_no_redis_flask_or_twilio_so_a_replay_can_reuse_it():
    import subprocess
    import sys

    probe = ("import sys, ivr.services.report; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'redis', 'flask', 'twilio', 'rq', 'click'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"
