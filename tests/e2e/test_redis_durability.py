"""`kill -9` of the embedded Redis under load loses nothing written a second before (issue 10, item 2).

One real `ivr serve` (gunicorn and its `ivr worker` with the dispatcher) on the embedded Redis, whose AOF is
fsynced every second; Twilio's REST API played by the local stand-in. Calls flow a few a second through the
`Phone` helper while the test kills redis-server with SIGKILL; the supervisor in `ivr serve` restarts it on the
same data directory. What was written more than a second before the kill must be there after it: the directory,
the waiting callers with their deadlines, a pending callback, a caller held for their busy engineer (the claim),
and the call records. And the dispatcher's view is rebuilt from Redis alone: an engineer who comes on shift after
the restart is offered the caller who was waiting before the kill.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from twilio.request_validator import RequestValidator

from ivr.adapters.calls.records import Records
from ivr.services.staff import waiting_in_order
from tests.redis_server import free_port
from tests.twilio_api import TwilioApi

from .conftest import EMEA, IVR, START_TIMEOUT, TOKEN, Phone, Servers, _stop, services_at
from .site import offer_case

ACCOUNT_SID = "AC" + "6" * 32
DE = "emea-de"
LOAD_PER_SECOND = 3
OUTAGE_LIMIT = 5.0
"""Seconds from the kill within which the restarted Redis must answer (the supervisor polls twice a second)."""

DIRECTORY = {
    "accounts": [
        {"id": "acme", "name": "Acme GmbH", "plan": "production", "maintenance_expires": "2099-12-31",
         "timezone": "Europe/Berlin"},
        {"id": "tiny", "name": "Tiny KG", "plan": "premium", "maintenance_expires": "2099-12-31",
         "timezone": "Europe/Berlin"},
        {"id": "hobby", "name": "Hobbyist", "plan": "community"},
    ],
    "engineers": [
        {"id": name, "name": name.title(), "languages": ["de", "en"], "regions": ["emea"], "client": name,
         "phone": None, "active": True} for name in ("anna", "bob", "emil")
    ],
    "cases": [
        {"number": "02000001", "account": "tiny", "type": "technical", "severity": 2, "status": "open",
         "engineer": None},  # premium: 30 minutes, the earliest deadline of the day
        {"number": "02000002", "account": "tiny", "type": "technical", "severity": 2, "status": "open",
         "engineer": None},
        {"number": "01000003", "account": "acme", "type": "technical", "severity": 3, "status": "open",
         "engineer": None},  # production severity 3: 6 hours
        {"number": "01000004", "account": "acme", "type": "technical", "severity": 4, "status": "open",
         "engineer": None},  # production severity 4: 8 hours (the load's callers)
        {"number": "03000002", "account": "acme", "type": "technical", "severity": 2, "status": "open",
         "engineer": "emil"},
        {"number": "08000001", "account": "hobby", "type": "technical", "severity": 2, "status": "open",
         "engineer": None},  # community: no phone support
    ],
}

CONFIG = """[twilio]
api_base = "{api}"
[dispatch]
wrap_up = 300
claim_window = 600
offer_timeout = 20
[calls]
record_delay = 0
"""
"""A long wrap-up, so emil, rung for his own case, is still busy (and his caller held for him) after the restart;
records written as soon as a call ends."""


@pytest.fixture
def service():
    """`ivr serve` (with its worker) on the embedded Redis in a short data directory, and the REST stand-in."""
    root = Path(tempfile.mkdtemp(prefix="ivr-e2e-"))  # a Unix socket path is limited to ~100 bytes
    data_dir, log, port = root / "data", root / "serve.log", free_port()
    with TwilioApi() as api:
        (root / "ivr.toml").write_text(CONFIG.format(api=api.url))
        (root / "directory.json").write_text(json.dumps(DIRECTORY))
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "IVR_CONFIG")}
        env.update(TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID=ACCOUNT_SID, IVR_DATA_DIR=str(data_dir),
                   IVR_CONFIG=str(root / "ivr.toml"), PYTHONUNBUFFERED="1")
        loaded = subprocess.run([IVR, "load", str(root / "directory.json")], env=env, capture_output=True, text=True,
                                timeout=60)
        assert loaded.returncode == 0, loaded.stderr
        with log.open("wb") as out:
            process = subprocess.Popen([IVR, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                       env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _ready(port):
                assert process.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.1)
            yield Service(root, data_dir, log, port, env, api)
        finally:
            _stop(process)
            # A server that outlived a failed test: the pidfile names the one in this directory only.
            try:
                pid = int((data_dir / "redis.pid").read_text())
                if str(data_dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
            shutil.rmtree(root, ignore_errors=True)


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Service:
    def __init__(self, root: Path, data_dir: Path, log: Path, port: int, env: dict, api: TwilioApi):
        self.root, self.data_dir, self.log, self.port, self.env, self.api = root, data_dir, log, port, env, api
        self.redis_url = f"unix://{data_dir / 'redis.sock'}"
        self.base = f"http://127.0.0.1:{port}"
        self.session = requests.Session()
        self.phone = Phone(Servers(self.redis_url, [port], [data_dir], [log]), self.session)
        self.validator = RequestValidator(TOKEN)

    def ivr(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([IVR, *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done

    def call(self, press: str, caller: str):
        """A call to the EMEA line in German; a queued caller stays holding (the Phone sends no closing callbacks)."""
        return self.phone.call(EMEA, f"2,{press}", None, caller=caller)

    def post(self, path: str, params: dict, session: requests.Session | None = None) -> requests.Response:
        url = self.base + path
        params = {k: str(v) for k, v in params.items()}
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
        return (session or self.session).post(url, data=params, headers=headers, timeout=10)

    def hang_up(self, sid: str, caller: str, session: requests.Session | None = None, *, waiting: bool) -> None:
        """End a call as Twilio does: a caller still waiting leaves the queue; then the final status."""
        params = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": caller, "To": EMEA, "Direction": "inbound"}
        if waiting:
            self.post("/voice/queue-result?line=%2B442079460100&lang=de&queue=emea-de",
                      dict(params, QueueResult="hangup", QueueTime="20"), session)
        self.post("/voice/status", dict(params, CallStatus="completed", CallDuration="40"), session)


class Load:
    """Calls a few a second from a thread of its own: refused ones, and callers who queue and soon hang up."""

    def __init__(self, service: Service):
        self.service = service
        self.stop = threading.Event()
        self.placed = 0
        self.failed: list[str] = []
        self.thread = threading.Thread(target=self._run, name="load", daemon=True)

    def _run(self) -> None:
        rng = random.Random(10)
        session = requests.Session()
        phone = Phone(self.service.phone.servers, session)
        while not self.stop.is_set():
            started = time.monotonic()
            caller = f"+4930{7000000 + self.placed}"
            try:
                queued = rng.random() < 0.5
                call = phone.call(EMEA, "2,01000004" if queued else "2,08000001", None, caller=caller)
                self.service.hang_up(call.sid, caller, session, waiting=call.outcome.get("kind") == "queue")
            except Exception as error:  # noqa: BLE001 - whatever it was, the test must see it, not a dead thread
                self.failed.append(repr(error))
            self.placed += 1
            self.stop.wait(max(0.0, 1 / LOAD_PER_SECOND - (time.monotonic() - started)))
        session.close()

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)


def test_kill_9_under_load_loses_nothing_written_a_second_before_and_dispatch_picks_up_again(service):
    svc = services_at(service.redis_url)
    try:
        _durability(service, svc)
    finally:
        svc.close()


def _durability(service: Service, svc) -> None:
    began = time.monotonic()
    # -- before the kill: emil on a call of his own case, a caller held for him, callers waiting, a callback --------
    service.ivr("presence", "emil", "available")
    direct = service.call("03000002", "+4930100001")
    assert direct.outcome == {"kind": "engineer", "target": "emil", "reason": "preferred_engineer"}
    held = service.call("03000002", "+4930100002")  # emil is wrapping up: held for him
    assert held.outcome["kind"] == "queue"
    first = service.call("02000001", "+4930100003")  # premium: the earliest deadline
    second = service.call("02000002", "+4930100004")
    callback = service.call("01000003,1,1", "+4930100005")  # presses 1, confirms the number read back: a callback
    assert callback.outcome["reason"] == "callback"
    waiting = [held.sid, first.sid, second.sid]
    assert sorted(svc.waiting.callers(DE)) == sorted(waiting)
    deadlines = {sid: svc.waiting.deadline(DE, sid) for sid in waiting}
    assert svc.callbacks.pending(DE) == [callback.sid]
    [claim] = [row for row in waiting_in_order(svc) if row.call_sid == held.sid]
    assert claim.claimed_by == "emil"
    # Two calls end, and the worker writes their records.
    service.hang_up(direct.sid, "+4930100001", waiting=False)
    service.hang_up(callback.sid, "+4930100005", waiting=False)

    with Load(service) as load:
        records = Records(svc.redis)
        deadline = time.monotonic() + 15
        while not (records.get(direct.sid) and records.get(callback.sid) and len(records.since(0)) >= 8):
            assert time.monotonic() < deadline, f"no call records were written:\n{_tail(service.log)}"
            time.sleep(0.1)
        # Everything written so far: the records, and what the directory and the queues hold.
        written = {r["sid"]: r for r in records.since(0)}
        callback_state = svc.callbacks.get(callback.sid)
        time.sleep(1.2)  # the AOF is fsynced every second: all of it is on disk now
        placed_before = load.placed

        killed = int((service.data_dir / "redis.pid").read_text())
        os.kill(killed, signal.SIGKILL)
        killed_at = time.monotonic()
        while True:  # the supervisor in `ivr serve` restarts it on the same data directory
            try:
                if int((service.data_dir / "redis.pid").read_text()) != killed and svc.redis.ping():
                    break
            except Exception:  # noqa: BLE001 - down, or a pidfile being rewritten: look again
                pass
            assert time.monotonic() - killed_at < OUTAGE_LIMIT, f"Redis was not back:\n{_tail(service.log)}"
            time.sleep(0.05)
        back_after = time.monotonic() - killed_at
        while not _ready(service.port):
            assert time.monotonic() - killed_at < OUTAGE_LIMIT + 2, _tail(service.log)
            time.sleep(0.05)
        time.sleep(1.0)  # calls keep coming after the restart too
    assert load.placed - placed_before >= LOAD_PER_SECOND, (load.placed, placed_before)
    assert load.failed == []

    # -- after: nothing written a second before the kill is lost --------------------------------------------------
    assert "(restart 1)" in service.log.read_text(errors="replace")
    assert {e.id for e in svc.store.engineers()} == {"anna", "bob", "emil"}
    assert svc.store.case_file("03000002").case.engineer == "emil"
    assert svc.store.case_file("08000001").account.plan == "community"
    for sid in waiting:
        assert svc.waiting.deadline(DE, sid) == deadlines[sid], sid
    assert svc.callbacks.pending(DE) == [callback.sid]
    assert svc.callbacks.get(callback.sid) == callback_state
    [claim] = [row for row in waiting_in_order(svc) if row.call_sid == held.sid]
    assert claim.claimed_by == "emil" and svc.store.presence("emil") == "busy"
    lost = {sid: record for sid, record in written.items() if Records(svc.redis).get(sid) != record}
    assert lost == {}, f"{len(lost)} of {len(written)} records changed or lost"
    # Calls route fully again: a refusal needs the directory.
    refused = service.call("08000001", "+4930100006")
    assert refused.outcome == {"kind": "hangup", "target": None, "reason": "no_phone_support"}

    # -- the dispatcher's view is rebuilt from Redis: a caller waiting since before the kill is offered -----------
    assert service.api.requests("/Calls.json") == []  # nobody was free until now
    service.ivr("presence", "anna", "available")
    [offer] = service.api.wait_for("/Calls.json", timeout=10)
    assert offer["To"].startswith("client:anna?") and offer_case(offer) == "02000001"
    print(f"redis back {back_after:.2f} s after the kill; {load.placed} calls placed under load "
          f"({load.placed - placed_before} from the kill on); {len(written)} records kept; "
          f"{time.monotonic() - began:.1f} s from the first call")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
