"""Shared by the dispatch and callback tests: dispatch against a real Redis and the real twilio-python client talking to a local stand-in for Twilio.

Callers reach their queue through the signed webhooks, as Twilio would send them; the
dispatcher, the bridge job and the offer webhooks run as the worker and the web app run them.
Not a test module itself.
"""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest

from ivr.adapters.directory.document import load_document
from ivr.dispatch.bridge import bridge
from ivr.dispatch.dispatcher import Dispatcher
from ivr.dispatch.rest import rest_client
from ivr.voice.speech import Catalogs
from routing import queue_name
from workers.queues import DISPATCH

from .webhook_support import (Twilio, build_app, call_params, close_app, services_at, settings_with, sign, twiml)

WEDNESDAY_NOON = "2026-12-02T12:00:00+01:00"
PUBLIC = "https://ivr.example.com"
CASE_URL = "/voice/case?line=%2B442079460100&lang=de&attempt=1"
QUEUE_SID = "QU" + "1" * 32
DE = queue_name("emea", "de")

ENGINEERS = [
    {"id": "anna", "name": "Anna Weber", "languages": ["de", "en"], "regions": ["emea"], "client": "anna",
     "phone": None, "active": True},
    {"id": "dora", "name": "Dora Klein", "languages": ["de"], "regions": ["emea"], "client": None,
     "phone": "+4930123456", "active": True},
    {"id": "emil", "name": "Emil Roth", "languages": ["de"], "regions": ["emea"], "client": "emil",
     "phone": None, "active": True},
]
ACCOUNTS = [{"id": "acme", "name": "Acme GmbH", "plan": "production", "maintenance_expires": "2099-12-31",
             "timezone": "Europe/Berlin"},
            {"id": "tiny", "name": "Tiny KG", "plan": "premium", "maintenance_expires": "2099-12-31",
             "timezone": "Europe/Berlin"},
            {"id": "slow", "name": "Slow OHG", "plan": "basic", "maintenance_expires": "2099-12-31",
             "timezone": "Europe/Berlin"}]
CASES = [
    # production severity 3: 360 minutes
    {"number": "01000003", "account": "acme", "type": "technical", "severity": 3, "status": "open", "engineer": None},
    # production severity 1: 60 minutes
    {"number": "01000001", "account": "acme", "type": "technical", "severity": 1, "status": "open", "engineer": None},
    # premium: 30 minutes
    {"number": "02000004", "account": "tiny", "type": "technical", "severity": 4, "status": "open", "engineer": None},
    # emil's case
    {"number": "03000002", "account": "acme", "type": "technical", "severity": 2, "status": "open", "engineer": "emil"},
    {"number": "06000001", "account": "acme", "type": "technical", "severity": 2, "status": "closed", "engineer": None},
    # basic: phones on weekdays 08:00-20:00 only
    {"number": "05000002", "account": "slow", "type": "technical", "severity": 2, "status": "open", "engineer": None},
]


@pytest.fixture
def world(redis_url, twilio_api):
    """The app, the dispatcher and the stand-in, with every engineer offline to start with."""
    with make_world(redis_url, twilio_api) as made:
        yield made


@contextmanager
def make_world(redis_url: str, twilio_api, **overrides):
    """Build the world on some settings overridden (as a TOML file would), and close it after."""
    settings = settings_with(**{"public_url": PUBLIC, "twilio": {"api_base": twilio_api.url},
                                "dispatch": {"claim_window": 60, "wrap_up": 30, "offer_timeout": 20}, **overrides})
    app = build_app(redis_url, settings=settings, allow_at=True)
    with services_at(redis_url, settings) as services:
        result = load_document(services.store, {"accounts": ACCOUNTS, "engineers": ENGINEERS, "cases": CASES},
                               settings.regions)
        assert result.ok, [str(e) for e in result.errors]
        rest = rest_client(settings, REST_ENV)
        dispatcher = Dispatcher(services, rest)
        try:
            yield World(app, services, dispatcher, rest, twilio_api)
        finally:
            dispatcher.pool.shutdown(wait=True)
    close_app(app)


REST_ENV = {"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "secret"}


class World:
    def __init__(self, app, services, dispatcher, rest, api):
        self.app, self.services, self.dispatcher, self.rest, self.api = app, services, dispatcher, rest, api
        self.twilio = Twilio(app)

    def post(self, url: str, params: dict):
        """POST a URL of the service (a path, or absolute under public_url), signed as Twilio signs it."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        params = {k: str(v) for k, v in params.items()}
        return self.twilio.client.post(path, data=params, base_url=PUBLIC,
                                       headers={"X-Twilio-Signature": sign(PUBLIC + path, params)})

    def queue(self, sid: str, case: str, *, hold: bool = True) -> str:
        """Route a German-speaking caller on the EMEA line into their queue; return the wait URL."""
        reply = self.post(CASE_URL, call_params(sid, Digits=case, IvrAt=WEDNESDAY_NOON))
        enqueue = twiml(reply).find("Enqueue")
        assert enqueue is not None, reply.get_data(as_text=True)
        if hold:
            self.hold(sid, enqueue.get("waitUrl"))
        return enqueue.get("waitUrl")

    def hold(self, sid: str, wait_url: str):
        return twiml(self.post(wait_url, call_params(sid, QueueSid=QUEUE_SID, QueuePosition="1",
                                                            QueueTime="5", AvgQueueTime="0", CurrentQueueSize="1")))

    def offers(self) -> list:
        return self.api.requests("/Calls.json")

    def dispatch(self):
        made = self.dispatcher.run_once()
        self.dispatcher.pool.shutdown(wait=True)  # the ringing REST requests are done before asserting
        self.dispatcher.pool = type(self.dispatcher.pool)(4)
        return made

    def engineer_answers(self, offer_request, digits: str | None = None, sid: str = "CAengineer0001"):
        """The engineer's leg picks up: Twilio requests the offer's URL; a phone may press a key."""
        # Twilio reports a Client leg's To without the parameters it carried.
        params = {"CallSid": sid, "AccountSid": "AC" + "a" * 32, "From": offer_request["From"],
                  "To": offer_request["To"].split("?")[0], "CallStatus": "in-progress", "Direction": "outbound-api"}
        root = twiml(self.post(offer_request["Url"], params))
        if digits is not None:
            action = root.find("Gather").get("action")
            root = twiml(self.post(action, {**params, "Digits": digits}))
        return root

    def engineer_call_ends(self, offer_request, status: str, sid: str = "CAengineer0001"):
        params = {"CallSid": sid, "AccountSid": "AC" + "a" * 32, "From": offer_request["From"],
                  "To": offer_request["To"].split("?")[0], "CallStatus": status, "Direction": "outbound-api"}
        reply = self.post(offer_request["StatusCallback"], params)
        assert reply.status_code == 204

    def run_jobs(self, queue: str) -> list:
        """Run the jobs waiting in a queue as `ivr worker` runs them (in this process, with these services)."""
        from workers.context import forget, use

        use(self.services, self.rest)
        try:
            jobs = self.services.jobs.waiting(queue)
            self.services.jobs.queues[queue].empty()
            return [job.func(*job.args) for job in jobs]
        finally:
            forget()

    def run_bridge_jobs(self):
        jobs = self.services.jobs.waiting(DISPATCH)
        outcomes = [bridge(self.services, self.rest, Catalogs(), job.args[0]) for job in jobs
                    if job.func_name.endswith("bridge_offer")]
        self.services.jobs.queues[DISPATCH].empty()
        return outcomes


GERMAN = Catalogs(["de"]).speaker("emea", "de")


def de(msgid, **values) -> str:
    """What a German-speaking caller (and their engineer) hears for a prompt."""
    return GERMAN.text(msgid, **values)


def offer_id(request) -> str:
    return parse_qs(urlsplit(request["Url"]).query)["offer"][0]


