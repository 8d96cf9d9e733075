"""Dispatch end to end: two `ivr serve` and two `ivr worker` processes on one Redis, Twilio's REST API played
by a local stand-in that the real twilio-python client in the workers talks to (`twilio.api_base`)."""
from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.twilio_api import TwilioApi

from .conftest import services_at
from .site import QUEUE_SID, Site, offer_case

E2E_DISPATCH_DB = 11
"""A database of its own: the other e2e servers share database 10."""

ACCOUNTS = [{"id": "acme", "name": "Acme GmbH", "plan": "production", "maintenance_expires": "2099-12-31",
             "timezone": "Europe/Berlin"}]


def engineer(ident: str) -> dict:
    return {"id": ident, "name": ident.title(), "languages": ["de", "en"], "regions": ["emea"], "client": ident,
            "phone": None, "active": True}


def case(number: str, severity: int, engineer: str | None = None) -> dict:
    return {"number": number, "account": "acme", "type": "technical", "severity": severity, "status": "open",
            "engineer": engineer}


@pytest.fixture
def site(redis_server, tmp_path):
    redis_url = redis_server.rsplit("/", 1)[0] + f"/{E2E_DISPATCH_DB}"
    with TwilioApi() as api, Site(redis_url, tmp_path, api, dispatch={"offer_timeout": 20}) as site:
        yield site


def test_a_free_engineer_is_rung_and_joined_to_the_caller_with_the_earlier_deadline(site):
    site.start({"accounts": ACCOUNTS, "engineers": [engineer("anna")],
                "cases": [case("01000003", 3), case("01000001", 1)]})
    later, earlier = "CA" + "1" * 32, "CA" + "2" * 32
    site.join(later, "01000003", server=0)  # production severity 3: 6 hours
    site.join(earlier, "01000001", server=1)  # production severity 1: 1 hour
    time.sleep(1.5)
    assert site.api.requests("/Calls.json") == []  # nobody free: nobody rung

    site.presence("anna", "available")
    [offer] = site.api.wait_for("/Calls.json", timeout=5)
    assert offer["To"].startswith("client:anna?") and offer_case(offer) == "01000001"
    # The offer's URLs are where Twilio reached the webhooks (no public_url configured).
    assert urlsplit(offer["Url"]).netloc in {urlsplit(site.base(i)).netloc for i in (0, 1)}

    twiml = site.answer(offer, "CA" + "e" * 32)
    assert "<Conference" in twiml
    [dequeue] = site.api.wait_for("/Members/", timeout=5)
    assert dequeue.path.endswith(f"/Queues/{QUEUE_SID}/Members/{earlier}.json")
    time.sleep(1.5)  # sweeps run meanwhile: still one offer and one dequeue
    assert len(site.api.requests("/Calls.json")) == 1 and len(site.api.requests("/Members/")) == 1
    caller = site.post(dequeue["Url"], site.caller(earlier))
    assert "<Conference" in caller.text
    services = services_at(site.redis_url)
    try:
        assert services.waiting.callers("emea-de") == [later]
        # Answering a case with no engineer made anna its engineer.
        assert services.store.case_file("01000001").case.engineer == "anna"
    finally:
        services.close()


def test_an_unanswered_offer_leaves_the_caller_in_place_and_goes_to_the_next_engineer(site):
    site.start({"accounts": ACCOUNTS, "engineers": [engineer("anna"), engineer("bea")],
                "cases": [case("01000003", 3)]})
    sid = "CA" + "3" * 32
    site.join(sid, "01000003")
    services = services_at(site.redis_url)
    try:
        deadline = services.waiting.deadline("emea-de", sid)
        site.presence("anna", "available")
        [first] = site.api.wait_for("/Calls.json", timeout=5)
        site.ended(first, "no-answer", "CA" + "a" * 32)
        assert services.store.presence("anna") == "away"
        assert services.waiting.deadline("emea-de", sid) == deadline
        site.presence("bea", "available")
        second = site.api.wait_for("/Calls.json", count=2, timeout=5)[1]
        assert second["To"].startswith("client:bea?")
        assert site.api.requests("/Members/") == []
    finally:
        services.close()


def test_two_web_processes_and_two_workers_never_offer_anyone_twice(site):
    engineers = [engineer(name) for name in ("anna", "bea", "carl", "dora")]
    cases = [case(f"0200000{i}", 3) for i in range(8)]
    site.start({"accounts": ACCOUNTS, "engineers": engineers, "cases": cases})
    joins = [threading.Thread(target=site.join, args=(f"CA{i:032d}", c["number"], i % 2)) for i, c in enumerate(cases)]
    for t in joins:
        t.start()
    for t in joins:
        t.join()
    flips = [threading.Thread(target=site.presence, args=(e["id"], "available")) for e in engineers]
    for t in flips:
        t.start()
    for t in flips:
        t.join()
    offers = site.api.wait_for("/Calls.json", count=4, timeout=10)
    time.sleep(2.5)  # two more sweeps by each worker
    offers = site.api.requests("/Calls.json")
    assert len(offers) == 4, [o["To"] for o in offers]
    assert len({o["To"].split("?")[0] for o in offers}) == 4
    assert len({offer_case(o) for o in offers}) == 4


def test_the_dispatch_latency_benchmark_runs_end_to_end():
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "bench" / "dispatch_latency.py"), "--callers", "3",
                           "--servers", "1", "--workers", "1"], capture_output=True, text=True, timeout=180, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"caller joins -> offer REST request received: median [0-9.]+ ms", done.stdout), done.stdout


def test_a_caller_who_asked_for_a_callback_is_called_back_when_an_engineer_is_free(site):
    site.start({"accounts": ACCOUNTS, "engineers": [engineer("anna")],
                "cases": [case("01000003", 3), case("01000001", 1)]})
    later, sooner = "CA" + "6" * 32, "CA" + "7" * 32
    site.join(later, "01000003", server=0)
    wait = site.join(sooner, "01000001", server=1)
    # The caller with the earlier deadline asks for a callback: the key, the number read back, confirmed.
    caller = site.caller(sooner, QueueSid=QUEUE_SID, QueuePosition=1, QueueTime=20)
    asked = site.post(wait.replace("/voice/wait", "/voice/queue-key"), dict(caller, Digits="1"))
    assert " ".join(caller["From"]) in asked.text
    left = site.post(wait.replace("/voice/wait", "/voice/queue-confirm"), dict(caller, Digits="1"))
    assert "<Leave" in left.text
    done = site.post(wait.replace("/voice/wait", "/voice/queue-result"), dict(caller, QueueResult="leave"))
    assert done.status_code == 200

    site.presence("anna", "available")
    [offer] = site.api.wait_for("/Calls.json", timeout=5)
    assert offer_case(offer) == "01000001"  # the callback keeps its place ahead of the later deadline
    assert "<Conference" in site.answer(offer, "CA" + "e" * 32)
    [customer] = site.api.wait_for(lambda r: r.path.endswith("/Calls.json") and r["To"] == caller["From"], timeout=10)
    assert customer["From"] == "+442079460100"
    assert site.api.requests("/Members/") == []
