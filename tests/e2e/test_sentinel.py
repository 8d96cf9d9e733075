"""Beyond one machine (issue 10, item 3): the service on a Redis made highly available by Sentinel, failed over
while calls flow.

Real processes on loopback: a primary, a replica and three Sentinels (tests/sentinel_set.py), two
`ivr serve --no-worker` and one `ivr worker` with REDIS_URL=redis+sentinel://.../ivr/<db>, and the
local stand-in for Twilio's REST API. Callers are placed and hang up, some leaving a callback request,
in a loop, while a Sentinel is told to fail the primary over (SENTINEL FAILOVER), or the primary is
killed (SIGKILL) and the Sentinels find it down. Afterwards: every webhook was answered (the fail-safe
allowed during the switch), calls route on the new primary, what was written a second before the
failover is there and so is what was written after the switch, the worker and its dispatcher carry on,
every process stops cleanly, and a client left with a connection to the demoted primary recovers from
its READONLY answer.
"""
from __future__ import annotations

import itertools
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
import requests

from ivr.adapters.server.connection import SentinelClient
from ivr.adapters.calls.records import Records
from ivr.adapters.directory.store import connect
from ivr.voice import prompts
from ivr.voice.speech import Catalogs
from tests.sentinel_set import SentinelSet, pin
from tests.twilio_api import TwilioApi

from .conftest import services_at
from .site import EMEA, QUEUE_SID, Site, offer_case

pytestmark = pytest.mark.timeout(120)

DB = 3
"""The database the service uses: not 0, so the URL's database is seen to be followed."""
CASES = [f"01{i:06d}" for i in range(60)]
DIRECTORY = {
    "accounts": [{"id": "acme", "name": "Acme GmbH", "plan": "production", "maintenance_expires": "2099-12-31",
                  "timezone": "Europe/Berlin"}],
    "engineers": [{"id": "anna", "name": "Anna", "languages": ["de", "en"], "regions": ["emea"], "client": "anna",
                   "phone": None, "active": True}],
    "cases": [{"number": number, "account": "acme", "type": "technical", "severity": 2, "status": "open",
               "engineer": None} for number in CASES],
}
TROUBLE = Catalogs(("de",)).speaker("emea", "de").text(prompts.TECHNICAL_TROUBLE)
"""What the fail-safe answers say first, in German (the callers press 2 for German on the EMEA line)."""
DEMOTED_WITHIN = 30.0
"""Seconds the Sentinels may take to turn the old primary into a replica (they wait ~10 s for configs to spread)."""


@dataclass
class Exchange:
    path: str
    status: int | None
    body: str
    at: float


@dataclass
class Traffic:
    """The callers placed by the loop, and every webhook request they made."""

    exchanges: list[Exchange] = field(default_factory=list)
    completed: list[tuple[str, float]] = field(default_factory=list)
    """Callers who hung up (`completed` status callback answered), and when."""
    asked: list[tuple[str, float]] = field(default_factory=list)
    """Callers whose callback request was confirmed, and when."""

    lock: threading.Lock = field(default_factory=threading.Lock)

    def sids(self, kind: str, start: float = float("-inf"), end: float = float("inf")) -> list[str]:
        """The callers `completed` or `asked` between two moments (time.monotonic())."""
        with self.lock:
            return [sid for sid, at in getattr(self, kind) if start <= at <= end]

    def post(self, site: Site, url: str, params: dict) -> Exchange:
        try:
            reply = site.post(url, params)
            exchange = Exchange(url, reply.status_code, reply.text, time.monotonic())
        except requests.RequestException as error:
            exchange = Exchange(url, None, repr(error), time.monotonic())
        with self.lock:
            self.exchanges.append(exchange)
        return exchange


def twiml(exchange: Exchange) -> ET.Element | None:
    """The TwiML of a 200 answer, or None when it is not well-formed TwiML."""
    if exchange.status != 200:
        return None
    try:
        root = ET.fromstring(exchange.body)
    except ET.ParseError:
        return None
    return root if root.tag == "Response" else None


def failsafe(exchange: Exchange) -> bool:
    root = twiml(exchange)
    return root is not None and any(say.text == TROUBLE for say in root.iter("Say"))


def place(site: Site, traffic: Traffic, sid: str, case: str, server: int, callback: bool, hang_up: bool = True) -> bool:
    """One caller as Twilio plays it: the greeting, German, the case number, on hold; then, for some, a callback
    request; then the `completed` status callback. Return whether the case number was answered normally."""
    base = site.base(server)
    caller = site.caller(sid)
    traffic.post(site, f"{base}/voice/incoming", dict(caller, CallStatus="ringing"))
    traffic.post(site, f"{base}/voice/language?{urlencode({'line': EMEA, 'attempt': 1})}", dict(caller, Digits="2"))
    routed = traffic.post(site, f"{base}/voice/case?{urlencode({'line': EMEA, 'lang': 'de', 'attempt': 1})}",
                          dict(caller, Digits=case))
    root = twiml(routed)
    enqueue = root.find("Enqueue") if root is not None else None
    if enqueue is not None:
        wait = base + enqueue.get("waitUrl")
        held = dict(caller, QueueSid=QUEUE_SID, QueuePosition=1, QueueTime=1, AvgQueueTime=0, CurrentQueueSize=1)
        traffic.post(site, wait, held)
        if callback:
            traffic.post(site, wait.replace("/voice/wait", "/voice/queue-key"), dict(held, Digits="1"))
            confirmed = traffic.post(site, wait.replace("/voice/wait", "/voice/queue-confirm"), dict(held, Digits="1"))
            left = traffic.post(site, wait.replace("/voice/wait", "/voice/queue-result"),
                                dict(held, QueueResult="leave"))
            if "<Leave" in confirmed.body and not failsafe(confirmed) and not failsafe(left):
                with traffic.lock:
                    traffic.asked.append((sid, left.at))
    if hang_up:
        done = traffic.post(site, f"{base}/voice/status", dict(caller, CallStatus="completed", CallDuration="30"))
        if done.status == 204:
            with traffic.lock:
                traffic.completed.append((sid, done.at))
    return enqueue is not None and not failsafe(routed)


def loop(site: Site, traffic: Traffic, stop: threading.Event, numbers: itertools.count, lane: int) -> None:
    while not stop.is_set():
        i = next(numbers)
        place(site, traffic, f"CA{lane}{i:031d}", CASES[i % len(CASES)], i % 2, callback=i % 3 == 0)


def present(url: str, sids: list[str]) -> tuple[set[str], set[str]]:
    """(callers with a call record, callers with a callback request) of `sids`, as the Redis at `url` has them."""
    services = services_at(url)
    try:
        records = Records(services.redis)
        recorded = {sid for sid in sids if records.get(sid)}
        asked = {request["sid"] for request in services.callbacks.requests()} & set(sids)
        return recorded, asked
    finally:
        services.close()


@pytest.fixture
def deployment(tmp_path):
    with SentinelSet(tmp_path / "redis") as sentinels, TwilioApi() as api:
        root = tmp_path / "site"
        root.mkdir()
        # Site speaks redis:// to flush its database: give it the primary's, then the Sentinels' to everyone.
        site = Site(f"redis://127.0.0.1:{sentinels.primary_port}/{DB}", root, api, servers=2, workers=1,
                    settings={"calls": {"record_delay": 0}}, dispatch={"offer_timeout": 20})
        site.redis.close()
        site.redis_url = site.env["REDIS_URL"] = sentinels.url(DB)
        site.redis = connect(site.redis_url, 2.0)
        with site:
            yield sentinels, site


@dataclass
class Run:
    traffic: Traffic
    before: tuple[set[str], set[str]]
    """The call records and callback requests the primary had a second before the failover began."""
    placed_before: list[str]
    old: int
    new: int
    began: float
    switched: float
    """When every Sentinel named the new primary."""
    settled: float
    """When the old primary was demoted (a SENTINEL FAILOVER), or `switched` (it was killed)."""


def through_failover(sentinels: SentinelSet, site: Site, kill: bool) -> Run:
    """Place calls in two lanes, fail the primary over while they flow, and go on a second after it settled."""
    site.start(DIRECTORY)
    old = sentinels.primary_port
    traffic, stop, numbers = Traffic(), threading.Event(), itertools.count()
    lanes = [threading.Thread(target=loop, args=(site, traffic, stop, numbers, lane), daemon=True) for lane in (1, 2)]
    for lane in lanes:
        lane.start()
    try:
        deadline = time.monotonic() + 20
        while True:  # calls flow on the first primary until the worker has recorded some
            time.sleep(1.0)
            placed_before = traffic.sids("completed")
            before = present(site.redis_url, placed_before)
            if len(before[0]) >= 5 and before[1]:
                break
            assert time.monotonic() < deadline, f"no call records or callback requests:\n{site.logs()}"
        time.sleep(1.0)  # what `before` saw is a second old when the failover begins

        began = time.monotonic()
        new = sentinels.failover(kill=kill)
        switched = settled = time.monotonic()
        if not kill:
            deadline = switched + DEMOTED_WITHIN
            while sentinels.role(old) != "slave":  # the Sentinels turn the old primary into a replica of the new one
                assert time.monotonic() < deadline, "the old primary was not demoted"
                time.sleep(0.1)
            settled = time.monotonic()
        time.sleep(3.0)  # calls go on a while on the new primary
    finally:
        stop.set()
        for lane in lanes:
            lane.join(30)
    return Run(traffic, before, placed_before, old, new, began, switched, settled)


def check_the_service_carried_on(site: Site, run: Run) -> list[Exchange]:
    """Every webhook answered; calls routed, recorded and dispatched on the new primary; nothing written a second
    before the failover lost. Return the fail-safe answers."""
    traffic, on_new = run.traffic, f"redis://127.0.0.1:{run.new}/{DB}"
    # Every webhook was answered: 200 and well-formed TwiML (the fail-safe's during the switch), 204 for the
    # status callbacks.
    voice = [e for e in traffic.exchanges if not e.path.endswith("/voice/status")]
    statuses = [e for e in traffic.exchanges if e.path.endswith("/voice/status")]
    assert [e for e in voice if twiml(e) is None] == []
    assert [e for e in statuses if e.status != 204] == []
    fallbacks = [e for e in voice if failsafe(e)]
    assert all(run.began <= e.at <= run.settled + 1.0 for e in fallbacks), "fail-safe answers outside the switch"
    assert len(traffic.sids("completed", run.settled + 0.5)) > 5, "calls went on being placed after the switch"

    # Calls routed after the switch are on the new primary: callers placed now wait in its queue.
    holding = [f"CA9{i:031d}" for i in range(3)]
    for i, sid in enumerate(holding):
        assert place(site, traffic, sid, CASES[i], i % 2, callback=False, hang_up=False), traffic.exchanges[-3:]
    services = services_at(on_new)
    try:
        assert set(holding) <= set(services.waiting.callers("emea-de"))
    finally:
        services.close()

    # What was written a second before the failover is on the new primary (the worker's records, the callback
    # requests), and so is what was written after the switch (even while the old primary took writes still):
    # the worker carried on, recording the calls that ended after it.
    after = present(on_new, run.placed_before)
    assert run.before[0] <= after[0] and run.before[1] <= after[1]
    ended = traffic.sids("completed", run.switched + 2.0)
    asked = set(traffic.sids("asked", run.switched + 2.0))
    assert ended and asked
    # A worker that gave up on Redis during the switch starts its job worker again 2 s later, on a machine that
    # may be busy: the records come within seconds, but the bound is generous.
    deadline = time.monotonic() + 45
    while (found := present(on_new, ended))[0] != set(ended) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(ended) - found[0] == set(), f"calls ended after the switch were not recorded:\n{site.logs()}"
    assert asked <= present(on_new, list(asked))[1]
    # The dispatcher carries on too: a free engineer is offered a waiting caller.
    site.presence("anna", "available")
    [offer] = site.api.wait_for("/Calls.json", timeout=15)
    assert offer["To"].startswith("client:anna?") and offer_case(offer) in CASES
    assert all(process.poll() is None for process in site.processes), site.logs()
    return fallbacks


def stop_cleanly(site: Site) -> None:
    """Every process stops when told, at once: none is left reading an answer meant for another command."""
    for process in site.processes:
        process.terminate()
    assert [process.wait(10) for process in site.processes] == [0] * len(site.processes), site.logs()


def test_calls_flow_through_a_sentinel_failover_and_nothing_written_before_it_is_lost(deployment):
    sentinels, site = deployment
    run = through_failover(sentinels, site, kill=False)
    fallbacks = check_the_service_carried_on(site, run)
    # The old primary took writes for seconds after the switch, and dropped them when demoted: the processes
    # had left it within a second, so calls ended in between are on the new primary, recorded.
    between = run.traffic.sids("completed", run.switched + 2.0, run.settled - 0.5)
    assert between and set(between) <= present(f"redis://127.0.0.1:{run.new}/{DB}", between)[0]

    # A client left holding a connection to the old primary (a Sentinel's stale answer) gets READONLY for a
    # write: the connection is dropped, the Sentinels are asked again, and the write lands on the new primary.
    client = connect(site.redis_url)
    try:
        assert isinstance(client, SentinelClient)
        pool = client.connection_pool
        pin(client, run.old)
        assert sentinels.role(run.old) == "slave"
        client.set("ivr:test:after-failover", "written")
        assert pool.master_address == ("127.0.0.1", run.new)
        with sentinels.client(run.new, db=DB, decode_responses=True) as direct:
            assert direct.get("ivr:test:after-failover") == "written"
    finally:
        client.close()
    stop_cleanly(site)
    print(f"SENTINEL FAILOVER: {len(run.traffic.completed)} calls, {len(run.traffic.exchanges)} webhooks, "
          f"{len(fallbacks)} fail-safe answers; switch {run.switched - run.began:.1f} s, old primary demoted "
          f"{run.settled - run.switched:.1f} s later")


def test_calls_are_answered_through_the_primary_killed_the_fail_safe_at_worst_while_none_is_known(deployment):
    sentinels, site = deployment
    run = through_failover(sentinels, site, kill=True)
    fallbacks = check_the_service_carried_on(site, run)
    stop_cleanly(site)
    print(f"primary killed: {len(run.traffic.completed)} calls, {len(run.traffic.exchanges)} webhooks, "
          f"{len(fallbacks)} fail-safe answers; new primary named {run.switched - run.began:.1f} s after the kill")
