"""`ivr report` on real Redis: calls played through the webhooks, recorded by the worker's jobs, reported (issue 8, item 3)."""
from __future__ import annotations

import json
import time
import uuid
from html.parser import HTMLParser

import pytest

from ivr.adapters.calls.records import Records
from ivr.cli.report import today_utc
from tests.integration.conftest import run_ivr, subprocess_env
from tests.integration.webhook_support import run_jobs
from tests.integration.webhook_support import CALLER, Twilio, call_params, settings_with, twiml, verbs

EMEA = "/voice/case?line=%2B442079460100&lang={lang}&attempt=1"
HOSTILE = '<img src=x onerror="alert(1)">&amp;'


@pytest.fixture
def settings():
    return settings_with(calls={"record_ttl": 86400, "record_delay": 0})


@pytest.fixture
def app_options() -> dict:
    return {"strict": False}


def _sid() -> str:
    return "CA" + uuid.uuid4().hex


def _call(twilio: Twilio, sid: str, language: str, case: str) -> list[str]:
    """Play a caller on the EMEA line from the start: the welcome, the language menu, the case number."""
    twiml(twilio.post("/voice/incoming", call_params(sid)))
    key = {"en": "1", "de": "2"}[language]
    twiml(twilio.post("/voice/language?line=%2B442079460100&attempt=1", call_params(sid, Digits=key)))
    root = twiml(twilio.post(EMEA.format(lang=language), call_params(sid, Digits=case)))
    redirect = root.find("Redirect")
    if redirect is not None and "closed=1" in redirect.text:  # asked for another number, the caller says nothing
        root = twiml(twilio.post(redirect.text, call_params(sid)))
    return verbs(root)


def _run_jobs(redis_url: str, settings) -> None:
    run_jobs(redis_url, settings)


@pytest.fixture
def day_of_calls(twilio, redis_url, settings) -> float:
    """Three calls on the EMEA line: one answered by its case's engineer, one that hung up while queued in German,
    one refused for a closed case; recorded by the jobs. Returns when it started."""
    started = time.time()
    answered, queued, refused = _sid(), _sid(), _sid()
    assert _call(twilio, answered, "en", "30000001")[-1] == "Dial"
    twilio.post("/voice/dial-result?line=%2B442079460100&lang=en", call_params(answered, DialCallStatus="completed"))
    twilio.post("/voice/status", call_params(answered, CallStatus="completed", CallDuration="300"))

    assert _call(twilio, queued, "de", "30000002")[-1] == "Enqueue"
    time.sleep(0.05)  # a wait the report can see
    twilio.post("/voice/status", call_params(queued, CallStatus="completed", CallDuration="30"))

    assert _call(twilio, refused, "en", "30000006")[-1] == "Hangup"
    twilio.post("/voice/status", call_params(refused, CallStatus="completed", CallDuration="20"))

    _run_jobs(redis_url, settings)
    return started


def _since(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(moment - 60))


def _row(data: dict, region: str, language: str, outcome: str) -> dict:
    [row] = [r for r in data["rows"] if (r["region"], r["language"], r["outcome"]) == (region, language, outcome)]
    return row


def test_the_json_report_counts_each_queue_and_outcome_with_waits_and_occupancy(ivr, day_of_calls):
    result = ivr("report", "--since", _since(day_of_calls), "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["overall"]["calls"] == 3
    assert data["overall"]["answered"] == 1 and data["overall"]["abandoned"] == 1
    assert data["overall"]["refused_by_reason"] == {"case_closed": 1}
    answered = _row(data, "emea", "en", "answered")
    assert answered["calls"] == 1 and answered["judged"] == 1 and answered["share_within_target"] == 1.0
    assert answered["waits"] == 0 and answered["median_wait_s"] is None  # rung straight through: no wait
    waited = _row(data, "emea", "de", "abandoned")
    assert waited["waits"] == 1 and 0 <= waited["median_wait_s"] == waited["p90_wait_s"] < 60
    assert _row(data, "emea", "en", "refused")["refused_by_reason"] == {"case_closed": 1}
    assert [(t["region"], t["language"], t["calls"]) for t in data["totals"]] == [("emea", "de", 1), ("emea", "en", 2)]
    # The engineer the first call rang was busy, then wrapping up: occupied; every demo engineer was on shift.
    engineers = data["occupancy"]["engineers"]
    assert engineers["emea-en"]["occupied_s"] > 0 and engineers["emea-en"]["on_shift_s"] > 0
    assert engineers["emea-de"]["occupied_s"] == 0 and engineers["emea-de"]["on_shift_s"] > 0
    assert 0 < data["occupancy"]["regions"]["emea"]["occupancy"] <= 1
    assert 0 < data["occupancy"]["overall"]["occupancy"] <= 1


def test_the_text_report_is_a_table_of_queues_and_outcomes_then_occupancy(ivr, day_of_calls):
    result = ivr("report", "--since", _since(day_of_calls))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2].split()[:4] == ["region", "language", "outcome", "calls"]
    assert any(line.split()[:4] == ["emea", "en", "refused", "1"] and line.endswith("case_closed 1") for line in lines)
    assert any(line.split()[:4] == ["emea", "de", "abandoned", "1"] for line in lines)
    assert any(line.split()[:4] == ["all", "3", "1", "1"] for line in lines)  # calls, answered, refused
    assert "Engineer occupancy" in result.stdout
    assert any(line.startswith("engineer emea-en") for line in lines)


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_report_is_one_self_contained_page_with_charts_of_the_days_calls(day_of_calls, redis_url, tmp_path):
    page_file = tmp_path / "day.html"

    done = run_ivr("report", "--html", str(page_file), env=subprocess_env(REDIS_URL=redis_url, IVR_CONFIG=""))

    assert done.returncode == 0, done.stderr
    assert done.stdout == b"" and b"3 calls" in done.stderr
    page = page_file.read_text(encoding="utf-8")
    parsed = Page()
    parsed.feed(page)
    tags = [t for t, _a in parsed.tags]
    assert tags.count("svg") >= 4 and "script" not in tags and "img" not in tags and "link" not in tags
    assert "http" not in page.lower()  # no CDN, font, image or namespace URL: it reads the same offline
    assert CALLER not in page and "30000001" not in page  # callers' numbers and cases are not the report's
    text = " ".join(parsed.text)
    assert "emea-de" in text and "emea-en" in text and "case_closed 1" in text
    rects = [a for t, a in parsed.tags if t == "rect"]
    assert rects and all(float(a["width"]) >= 0 and float(a["height"]) >= 0 for a in rects)


def test_values_from_the_records_are_escaped_on_the_page(ivr, services, tmp_path):
    sid = _sid()
    services.calls.update(sid, line="+442079460100", language="en", decision="refused", reason=HOSTILE)
    Records(services.redis).keep(sid, time.time(), 86400)
    page_file = tmp_path / "report.html"

    result = ivr("report", "--html", str(page_file), "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["refused_by_reason"] == {HOSTILE: 1}
    page = page_file.read_text(encoding="utf-8")
    assert HOSTILE not in page and "<img" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in page
    parsed = Page()
    parsed.feed(page)
    assert "img" not in [t for t, _a in parsed.tags]
    assert HOSTILE in "".join(parsed.text)


def test_the_default_period_is_today_in_utc_and_the_options_choose_another(ivr, services):
    records = Records(services.redis)
    midnight = today_utc(time.time())
    for sid, ended in (("CAtoday", time.time() - 1), ("CAyesterday", midnight - 3600), ("CAold", midnight - 5 * 86400)):
        services.calls.update(sid, line="+18005550100", language="en", decision="refused", reason="outside_hours")
        records.keep(sid, ended, 30 * 86400)
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(midnight - 3600))

    def calls(*args: str) -> int:
        result = ivr("report", "--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["overall"]["calls"]

    assert calls() == 1
    assert calls("--since", yesterday) == 2
    assert calls("--since", yesterday, "--until", yesterday) == 1  # a date as --until includes that day
    assert calls("--since", "2000-01-01") == 3


@pytest.mark.parametrize("args, message", [
    (("--since", "yesterday"), "is not a date"),
    (("--since", "2026-06-02", "--until", "2026-06-01"), "must end after it starts"),
])
def test_a_bad_period_is_refused_with_why(ivr, args, message):
    result = ivr("report", *args)

    assert result.exit_code == 2
    assert message in result.output


def test_a_quiet_day_says_so(ivr):
    result = ivr("report")

    assert result.exit_code == 0, result.output
    assert "no calls ended in this period" in result.stdout
    assert "no engineer was on shift in this period" in result.stdout
