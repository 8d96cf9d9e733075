"""Contact attempts (issue 8, item 7; SPEC §5.9): three unanswered business days cancel a case, one day does not."""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis
from rq import Queue

from ivr.adapters import keys
from ivr.adapters.calls.attempts import Attempts
from ivr.adapters.calls.records import Records
from ivr.dispatch.rest import rest_client
from ivr.services.attempts import cancel_if_unreached
from ivr.voice.speech import Catalogs
from ivr.wiring import Services
from tests.integration.webhook_support import run_jobs as support_run_jobs
from tests.integration.webhook_support import (CALLER, EMEA, Twilio, build_app, call_params, close_app,
                                               settings_with, spoken, twiml)
from workers.queues import CASE_SYSTEM, SERIALIZER

CASE = "07123456"
"""Acme's open case (Europe/Berlin, production), engineer anna (EMEA): British public holidays."""
BERLIN = ZoneInfo("Europe/Berlin")
WED, THU, FRI, SAT, MON = "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-23"
"""Past days in a week with no British public holiday; attempts are recorded once made."""

ENV = {"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "secret"}


@pytest.fixture
def texts(twilio_api):
    """The REST stand-in, which takes text messages (Messages.json) as Twilio does: 201 with an SM sid."""
    return twilio_api


def attempt(ivr, *args: str, case: str = CASE):
    return ivr("cases", "attempt", case, *args)


def attempt_json(ivr, at: str, note: str = "", case: str = CASE) -> dict:
    result = attempt(ivr, "--at", at, "--note", note, "--json", case=case)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_jobs(redis_url: str, api_url: str | None = None) -> None:
    """Run the queued jobs as `ivr worker --burst` does, with the stand-in for Twilio's REST API when given."""
    settings = settings_with(twilio={"api_base": api_url}) if api_url else settings_with()
    support_run_jobs(redis_url, settings, rest_client(settings, ENV) if api_url else None)


def cancel_jobs(redis_url: str) -> list[str]:
    connection = redis.Redis.from_url(redis_url)
    try:
        return [job.id for job in Queue(CASE_SYSTEM, connection=connection, serializer=SERIALIZER).jobs
                if job.id.startswith("cancel-unreached-")]
    finally:
        connection.close()


def events(services, kind: str) -> list[dict]:
    return [event for _id, event in services.outbox.events() if event["type"] == kind]


def a_call(redis_url: str, case: str, ended: datetime, language_key: str = "2") -> str:
    """Have the customer call the EMEA line about a case in a language, and its record say it ended at a moment."""
    app = build_app(redis_url)
    twilio, sid = Twilio(app), "CA" + uuid.uuid4().hex
    try:
        twiml(twilio.post("/voice/incoming", call_params(sid)))
        twiml(twilio.post("/voice/language?line=%2B442079460100&attempt=1", call_params(sid, Digits=language_key)))
        twiml(twilio.post("/voice/case?line=%2B442079460100&lang=de&attempt=3", call_params(sid, Digits=case)))
    finally:
        close_app(app)
    with_records = Services.for_commands(settings_with(), redis_url)
    try:
        Records(with_records.redis).keep(sid, ended.timestamp(), 90 * 86400)  # as the call's record job would
    finally:
        with_records.close()
    return sid


def at(day: str, time: str = "10:00") -> str:
    return f"{day}T{time}:00+01:00"


def test_three_attempts_on_one_day_count_once_and_do_not_cancel(loaded, services, redis_url):
    for time in ("09:00", "12:30", "17:45"):
        out = attempt_json(loaded, at(WED, time), note=f"rang at {time}, no answer")

    assert out["business_days"] == [WED] and out["due"] is False and out["counted"] == "same_day"
    run_jobs(redis_url)
    assert cancel_jobs(redis_url) == []
    assert services.store.case_file(CASE).case.status == "open"
    assert len(events(services, "contact_attempt")) == 3 and events(services, "case_cancelled") == []


def test_a_third_unanswered_attempt_on_a_third_business_day_cancels_the_case(loaded, services, redis_url):
    first = attempt(loaded, "--at", at(WED), "--note", "voicemail")
    second = attempt(loaded, "--at", at(THU))
    assert first.exit_code == second.exit_code == 0
    assert "1 of 3 (2026-11-18)" in first.output
    assert "business days without contact: 2 of 3 (2026-11-18, 2026-11-19)" in second.output
    assert "an unanswered attempt on one more business day cancels the case" in second.output
    assert services.store.case_file(CASE).case.status == "open"

    third = attempt(loaded, "--at", at(FRI))

    assert third.exit_code == 0, third.output
    assert "3 of 3 (2026-11-18, 2026-11-19, 2026-11-20)" in third.output and "due for cancellation" in third.output
    assert len(cancel_jobs(redis_url)) == 1
    run_jobs(redis_url)
    assert services.store.case_file(CASE).case.status == "cancelled"
    [cancelled] = events(services, "case_cancelled")
    assert cancelled["case"] == CASE
    assert cancelled["data"]["business_days"] == [WED, THU, FRI] and cancelled["data"]["notify_customer"] is True
    assert loaded.route(CASE)["reason"] == "case_closed"


def test_a_call_about_the_cancelled_case_hears_to_open_a_new_case_mentioning_it(loaded, services, redis_url):
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    run_jobs(redis_url)
    app = build_app(redis_url, allow_at=True)
    sid = "CA" + uuid.uuid4().hex
    try:
        root = twiml(Twilio(app).post("/voice/case?line=%2B442079460100&lang=de&attempt=3",
                                      call_params(sid, Digits=CASE, IvrAt=at(MON, "11:00"))))
    finally:
        close_app(app)

    assert services.calls.get(sid)["reason"] == "case_closed"
    assert "einen neuen Fall mit Verweis auf Fall 0 7 1 2 3 4 5 6" in spoken(root)


def test_a_weekend_attempt_does_not_count_and_says_why(loaded, services):
    attempt_json(loaded, at(THU))
    result = attempt(loaded, "--at", at(SAT))

    assert result.exit_code == 0, result.output
    assert "Saturday 2026-11-21 is not a business day for the customer (Europe/Berlin, public holidays of GB)" \
        in result.output
    assert "1 of 3 (2026-11-19)" in result.output
    assert attempt_json(loaded, at(MON))["business_days"] == [THU, MON]


def test_a_call_from_the_customer_in_between_starts_the_count_again(loaded, services, redis_url):
    attempt_json(loaded, at(WED))
    attempt_json(loaded, at(THU))
    a_call(redis_url, CASE, datetime.fromisoformat(at(THU, "15:00")))

    out = attempt_json(loaded, at(FRI))

    assert out["business_days"] == [FRI] and out["due"] is False
    assert out["since"] == "2026-11-19T14:00:00+00:00"
    assert cancel_jobs(redis_url) == []


def test_contact_after_the_cancellation_was_queued_stops_it(loaded, services, redis_url):
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    assert len(cancel_jobs(redis_url)) == 1
    a_call(redis_url, CASE, datetime.fromisoformat(at(FRI, "16:00")))  # the customer called back first

    run_jobs(redis_url)

    assert services.store.case_file(CASE).case.status == "open"
    assert events(services, "case_cancelled") == []


def test_the_customer_is_texted_in_the_language_of_their_call_from_the_line_they_called(loaded, services, redis_url,
                                                                                        texts):
    a_call(redis_url, CASE, datetime.fromisoformat(at(WED, "08:00")))  # in German, before the attempts
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))

    run_jobs(redis_url, texts.url)

    [sms] = texts.requests("/Messages.json", "POST")
    assert (sms["To"], sms["From"]) == (CALLER, EMEA)
    assert sms["Body"].startswith("Technischer Support: Wir haben an drei verschiedenen Werktagen")
    assert f"Verweis auf Fall {CASE}." in sms["Body"] and "support.example.com" in sms["Body"]
    [notified] = events(services, "customer_notified")
    assert notified["data"]["channel"] == "sms" and notified["data"]["to"] == CALLER


def test_cancelling_twice_has_one_effect(loaded, services, redis_url, texts):
    a_call(redis_url, CASE, datetime.fromisoformat(at(WED, "08:00")))
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    rest = rest_client(settings_with(twilio={"api_base": texts.url}), ENV)

    outcomes = [cancel_if_unreached(services, rest, Catalogs(("de",)), CASE) for _ in range(2)]

    assert outcomes == [f"case {CASE} cancelled"] * 2
    assert len(texts.requests("/Messages.json")) == 1
    assert len(events(services, "case_cancelled")) == len(events(services, "customer_notified")) == 1


def test_a_text_twilio_could_not_take_is_sent_by_the_retry(loaded, services, redis_url, texts):
    a_call(redis_url, CASE, datetime.fromisoformat(at(WED, "08:00")))
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    rest = rest_client(settings_with(twilio={"api_base": texts.url}), ENV)
    texts.fail("/Messages.json", 503)

    with pytest.raises(Exception):
        cancel_if_unreached(services, rest, Catalogs(("de",)), CASE)
    assert services.store.case_file(CASE).case.status == "cancelled"  # cancelled; only the text is retried
    cancel_if_unreached(services, rest, Catalogs(("de",)), CASE)

    assert [r.method for r in texts.requests("/Messages.json")] == ["POST", "POST"]
    assert len(events(services, "customer_notified")) == 1


def test_a_number_that_takes_no_texts_is_not_tried_again(loaded, services, redis_url, texts):
    a_call(redis_url, CASE, datetime.fromisoformat(at(WED, "08:00")))
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    rest = rest_client(settings_with(twilio={"api_base": texts.url}), ENV)
    texts.fail("/Messages.json", 400, code=21614, message="'To' number is not a valid mobile number")

    for _ in range(2):
        assert cancel_if_unreached(services, rest, Catalogs(("de",)), CASE) == f"case {CASE} cancelled"

    assert len(texts.requests("/Messages.json")) == 1
    assert Attempts(services.redis, 86400).cancellation(CASE)["sms"] == "failed 21614"
    assert len(events(services, "case_cancelled")) == 1


def test_a_case_closed_before_the_job_runs_stays_closed(loaded, services, redis_url):
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    assert services.store.set_case_status(CASE, "resolved") == "open"

    run_jobs(redis_url)

    assert services.store.case_file(CASE).case.status == "resolved"
    assert events(services, "case_cancelled") == []


def test_a_case_reopened_after_a_cancellation_counts_from_scratch(loaded, services, redis_url):
    for day in (WED, THU, FRI):
        attempt_json(loaded, at(day))
    run_jobs(redis_url)
    assert services.store.set_case_status(CASE, "open") == "cancelled"  # the case system reopened it

    out = attempt_json(loaded, at(MON))

    assert out["business_days"] == [MON] and out["due"] is False


def test_an_unknown_case_is_named(loaded):
    result = attempt(loaded, case="09999999")

    assert result.exit_code == 1
    assert "no case '09999999' in the directory" in result.output


@pytest.mark.parametrize(("case", "status"), [("07123465", "closed"), ("07123466", "resolved"),
                                              ("07123467", "cancelled")])
def test_a_case_that_is_not_open_gets_no_attempt(loaded, services, case, status):
    result = attempt(loaded, case=case)

    assert result.exit_code == 1
    assert f"case {case} is {status}: no attempt recorded" in result.output
    assert Attempts(services.redis, 86400).of(case) == []


@pytest.mark.parametrize(("args", "message"), [
    (("--at", "2999-01-04T10:00:00+01:00"), "is in the future"),
    (("--at", "next tuesday"), "is not an ISO-8601 moment"),
    (("--note", "x" * 501), "at most 500"),
    (("--note", "bell\x07"), "control character U+0007"),
])
def test_bad_options_are_refused_and_record_nothing(loaded, services, args, message):
    result = attempt(loaded, *args)

    assert result.exit_code == 2 and message in result.output
    assert Attempts(services.redis, 86400).of(CASE) == []


def test_a_case_number_must_have_eight_digits(loaded):
    result = attempt(loaded, case="7123456")

    assert result.exit_code == 2 and "is not a case number (8 digits)" in result.output


def test_a_time_without_offset_is_the_customer_s_local_time(loaded):
    # 23:30 on Wednesday in Berlin is 22:30 UTC: Wednesday for the customer.
    out = attempt_json(loaded, f"{WED}T23:30:00")

    assert out["attempt"]["at"] == f"{WED}T22:30:00+00:00"
    assert out["business_days"] == [WED]


def test_attempts_are_kept_bounded_and_expire(loaded, services):
    attempt_json(loaded, at(WED), note="first")

    ttl = services.redis.ttl(keys.attempts(CASE))
    assert 0 < ttl <= settings_with().record_ttl
    [kept] = Attempts(services.redis, 86400).of(CASE)
    assert kept["note"] == "first"


def test_set_case_status_changes_only_from_the_statuses_named(loaded, services):
    assert services.store.set_case_status(CASE, "cancelled", only_from=("awaiting_customer",)) == "open"
    assert services.store.case_file(CASE).case.status == "open"
    assert services.store.set_case_status("09999999", "cancelled") is None
    with pytest.raises(ValueError):
        services.store.set_case_status(CASE, "gone")
