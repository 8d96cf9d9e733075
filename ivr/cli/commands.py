"""The `ivr` command: serve, load, lines, presence, route, call and worker."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
import redis

from ivr.adapters.server.connection import masked
from ivr.adapters.directory.document import DocumentError, load_document, load_file
from ivr.adapters.server.embedded import EmbeddedRedisError
from ivr.adapters.directory.store import UnknownEngineer
from ivr.config import ConfigError
from ivr.services.routing import route_call
from routing import normalize_number
from routing.model import PRESENCE_STATES

from .runtime import Runtime

LOAD_TIMEOUT = 10.0
"""Seconds a load waits on Redis for one write: 5,000 cases take milliseconds, but a Redis rewriting its
append-only file may pause."""


def fail(message: str, code: int = 1):
    click.echo(f"ivr: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", envvar="IVR_CONFIG", type=click.Path(dir_okay=False), help="TOML configuration file [env IVR_CONFIG].")
@click.option("--data-dir", envvar="IVR_DATA_DIR", type=click.Path(file_okay=False),
              help="Where the embedded Redis keeps its data when REDIS_URL is not set [env IVR_DATA_DIR].")
@click.pass_context
def main(ctx: click.Context, config: str | None, data_dir: str | None) -> None:
    """Route calls to a software vendor's support lines (Twilio Voice webhooks)."""
    try:
        runtime = Runtime.from_environment(config, data_dir)
    except ConfigError as exc:
        fail(f"bad configuration: {exc}", 2)
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _store(runtime: Runtime, timeout: float | None = None):
    try:
        store = (runtime.services(timeout) if timeout else runtime.services()).store
        store.redis.ping()
    except redis.RedisError as exc:
        fail(f"cannot reach Redis at {masked(runtime.redis_url) if runtime.redis_url else runtime.data_dir}: {exc}")
    except (EmbeddedRedisError, OSError) as exc:
        fail(f"cannot start the embedded Redis in {runtime.data_dir}: {exc}")
    return store


class _LoadBars:
    """Progress bars for `ivr load`: checking the document (when its size is known), then storing it."""

    def __init__(self, file):
        import os
        import stat

        try:
            info = os.fstat(file.fileno())
            size = info.st_size if stat.S_ISREG(info.st_mode) else 0
        except (OSError, ValueError):  # no file descriptor
            size = 0
        self.bar = click.progressbar(length=size, label="checking", file=sys.stderr) if size else None
        if self.bar is not None:
            self.bar.__enter__()

    def read(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def checked(self, records: int) -> None:
        self.close()
        self.bar = click.progressbar(length=records, label="storing", file=sys.stderr, show_pos=True)
        self.bar.__enter__()

    def stored(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@main.command()
@click.argument("file", type=click.File("rb"))
@click.option("--lenient", is_flag=True, help="Warn about unknown fields in records and load anyway, instead of refusing.")
@click.pass_obj
def load(runtime: Runtime, file, lenient: bool) -> None:
    """Load directory data (accounts, engineers, cases) from a JSON FILE, or - for stdin.

    The document is checked whole first: if any record is bad, every bad record and field
    is listed and nothing stored changes. An unknown field in a record is an error, or with
    --lenient a warning. A good document is stored 5,000 cases at a time, while calls go on; if
    Redis fails meanwhile, loading the same document again finishes it.
    """
    store = _store(runtime, LOAD_TIMEOUT)
    try:
        bars = _LoadBars(file) if sys.stderr.isatty() else None
        try:
            result = load_file(store, file, runtime.settings.regions, lenient=lenient, progress=bars)
        finally:
            if bars is not None:
                bars.close()
    except DocumentError as exc:
        fail(f"{file.name}: {exc}")
    except redis.RedisError as exc:  # checked whole, but cut short while storing: say how to finish
        fail(f"{file.name}: Redis failed during the load ({exc}); the cases stored so far stay, each whole. "
             f"Load the same document again to finish: a load replaces by id")
    for warning in result.warnings:
        click.echo(f"warning: {file.name}: {warning}", err=True)
    if not result.ok:
        for error in result.errors:
            click.echo(f"{file.name}: {error}", err=True)
        fail(f"refused {file.name}: {len(result.errors)} error(s); nothing was stored")
    counts = result.counts
    held = store.counts()
    click.echo(f"loaded {counts['accounts']} accounts, {counts['engineers']} engineers, {counts['cases']} cases; "
               f"the directory holds {held['accounts']} accounts, {held['engineers']} engineers, "
               f"{held['cases']} cases")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def lines(runtime: Runtime, as_json: bool) -> None:
    """List the configured phone lines."""
    settings = runtime.settings
    rows = [
        {"number": line.number, "region": line.region, "audience": line.audience,
         "languages": list(line.languages), "timezone": line.timezone,
         "default": line.number == settings.default_line.number}
        for line in settings.lines.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            mark = " (default)" if row["default"] else ""
            click.echo(f"{row['number']:<16} {row['region']:<6} {row['audience']:<9} "
                       f"{' '.join(row['languages']):<20} {row['timezone']}{mark}")
    try:
        unconfigured = runtime.services().calls.unconfigured_numbers()
    except redis.RedisError as error:  # the lines are configuration: listing them needs no Redis
        click.echo(f"note: calls to unconfigured numbers not checked ({error})", err=True)
        return
    for number, count in sorted(unconfigured.items(), key=lambda item: -item[1]):
        click.echo(f"warning: {number} is called ({count} call(s)) but has no line: answered on the default line "
                   f"{settings.default_line.number}", err=True)


@main.command()
@click.argument("engineer")
@click.argument("state", type=click.Choice(PRESENCE_STATES), default="offline")
@click.pass_obj
def presence(runtime: Runtime, engineer: str, state: str) -> None:
    """Set an ENGINEER's presence: available, busy, away or offline (the default)."""
    from ivr.services.presence import change_presence

    _store(runtime)
    services = runtime.services()
    try:
        change_presence(services, engineer, state)  # an engineer now available is offered a caller at once
    except UnknownEngineer:
        fail(f"no engineer {engineer!r} in the directory (load it with `ivr load`)")
    click.echo(f"{engineer} is {state}")


def parse_moment(text: str | None, tz: ZoneInfo) -> datetime:
    """Return an aware moment from ISO-8601; a time without offset is in the given zone."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO-8601 moment like 2026-11-27T08:00:00+01:00", param_hint="--at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def decision_json(decision) -> dict:
    """Return a decision as the documented JSON object."""
    deadline = getattr(decision, "deadline", None)
    next_open = getattr(decision, "next_open", None)
    return {
        "decision": decision.kind,
        "reason": decision.reason,
        "engineer": getattr(decision, "engineer", None),
        "queue": getattr(decision, "queue", None),
        "deadline": deadline.isoformat(timespec="seconds") if deadline else None,
        "next_open": next_open.isoformat(timespec="seconds") if next_open else None,
    }


@main.command("route")
@click.argument("case")
@click.option("--line", "line_number", required=True, help="The number called (E.164).")
@click.option("--language", required=True, help="The caller's language code.")
@click.option("--at", "at", help="ISO-8601 moment to ask about (default now); without an offset, the customer's local time.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def route_command(runtime: Runtime, case: str, line_number: str, language: str, at: str | None, as_json: bool) -> None:
    """Show where a call about CASE would go: the staff's what-if tool."""
    settings = runtime.settings
    line = settings.line_for(line_number)
    if normalize_number(line_number) not in settings.lines:
        click.echo(f"note: {line_number} is not a configured line; using the default line {line.number}", err=True)
    if language not in line.languages:
        raise click.BadParameter(f"{language!r} is not offered on {line.number} ({', '.join(line.languages)})", param_hint="--language")
    store = _store(runtime)
    decision = route_call(store, settings.policy, case, line, language, lambda zone: parse_moment(at, zone)).decision
    out = decision_json(decision)
    if as_json:
        click.echo(json.dumps(out))
        return
    if decision.kind == "refused":
        text = f"refused: {decision.reason}"
        if out["next_open"]:
            text += f" (phones open {out['next_open']})"
    elif decision.kind == "engineer":
        text = f"ring engineer {decision.engineer}, then queue {decision.queue} if unanswered (deadline {out['deadline']})"
    else:
        text = f"queue {decision.queue} (deadline {out['deadline']})"
        if decision.preferred:
            text += f"; first claim for busy engineer {decision.preferred}"
    click.echo(text)


@main.group()
def staff() -> None:
    """What support staff see and do."""


@staff.command("queue")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def staff_queue(runtime: Runtime, as_json: bool) -> None:
    """List the waiting callers in the order they will be offered: earliest deadline first."""
    from ivr.services.staff import waiting_in_order

    _store(runtime)
    services = runtime.services()
    rows = waiting_in_order(services)
    services.close()
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows]))
        return
    if not rows:
        click.echo("nobody is waiting")
    for row in rows:
        claim = f"  held for {row.claimed_by}" if row.claimed_by else ""
        click.echo(f"{row.deadline}  {row.queue:<9} case {row.case}  {row.plan} sev {row.severity}  "
                   f"waiting {row.waiting_s} s  {row.call_sid}{claim}")


@staff.command("set-password")
@click.argument("engineer")
@click.pass_obj
def staff_set_password(runtime: Runtime, engineer: str) -> None:
    """Set the password ENGINEER signs in to the staff console with.

    On a terminal it is asked for twice, unseen; otherwise the first line of standard input is
    the password. Stored as a salted scrypt hash; sessions signed in with the old one end.
    """
    from ivr.adapters.directory.staff_accounts import PasswordRefused, check_new_password

    store = _store(runtime)
    record = store.engineer(engineer)
    if record is None:
        fail(f"no engineer {engineer!r} in the directory (load it with `ivr load`)")
    if sys.stdin.isatty():
        password = click.prompt(f"New console password for {engineer}", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            fail("no password: give it as the first line of standard input (or run on a terminal to be asked)")
    try:
        check_new_password(password)
    except PasswordRefused as exc:
        fail(f"password not set: {exc}")
    runtime.services().accounts.set_password(engineer, password)
    note = "" if record.active else " (note: this engineer is inactive in the directory and cannot sign in)"
    click.echo(f"password set for {engineer} ({record.name}); sign in at /console/{note}")


DEMO_TOKEN_FILE = "demo-token"
"""Where `ivr serve --demo` leaves its local auth token for `ivr call --url` to find."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Gunicorn worker processes.")
@click.option("--demo", is_flag=True, help="Load sample data, make a local auth token, and print numbers to try.")
@click.option("--no-worker", is_flag=True, help="Do not run `ivr worker` (jobs and dispatch) beside the webhooks.")
@click.pass_obj
def serve(runtime: Runtime, host: str, port: int, workers: int, demo: bool, no_worker: bool) -> None:
    """Run the Twilio webhooks (gunicorn) and a worker; without REDIS_URL, on the embedded Redis."""
    import os
    import secrets

    from ivr.app import build
    from ivr.logs import configure
    from .serve import BackgroundWorker, Server, gunicorn_options

    configure()

    token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not token and not demo:
        fail("TWILIO_AUTH_TOKEN is not set; set it to the Twilio account's auth token "
             "(or use `ivr serve --demo` to try the service with a local token)", 2)
    store = _store(runtime, LOAD_TIMEOUT)
    url = runtime.url()
    if demo:
        token = token or secrets.token_hex(16)
        _load_demo(runtime, store)
        token_file = runtime.private_data_dir() / DEMO_TOKEN_FILE
        # 0600 from the start, not chmod-ed after the token is in it (an older file was tightened above).
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token)
        click.echo(f"demo auth token: {token}  (also in {token_file})")
        click.echo(f"try: ivr call --url http://{host}:{port} --to {runtime.settings.default_line.number} "
                   f"--from +15555550123 --press 1,10000001")
    config = {"TWILIO_AUTH_TOKEN": token, "REDIS_URL": url, "SETTINGS": runtime.settings, "ALLOW_AT": demo}
    _console(config, demo, host, port)
    build(config)  # fail here, in the foreground, on anything the workers would trip over
    click.echo(f"serving on http://{host}:{port} (Redis: {masked(url)}; configuration: {runtime.settings.source})")
    runtime.supervise()  # a killed embedded Redis comes back on its data within a second
    background = None if no_worker else BackgroundWorker(url, demo).start()
    try:
        Server(lambda: build(config), gunicorn_options(runtime.settings, host, port, workers)).run()
    finally:
        if background is not None:
            background.stop()


def _console(config: dict, demo: bool, host: str, port: int) -> None:
    """Give the demo a console secret key when none is set, and say where the console is, or why it is off."""
    import os
    import secrets

    from ivr.console import MIN_SECRET_KEY, secret_key_problem

    key = os.environ.get("IVR_SECRET_KEY") or ""
    if demo and not key:
        # Signs the console's sessions; a new one each start signs everyone out, which a demo can afford.
        config["IVR_SECRET_KEY"] = key = secrets.token_hex(32)
    if len(key) >= MIN_SECRET_KEY:
        example = "us-en" if demo else "ENGINEER"
        click.echo(f"staff console: http://{host}:{port}/console/ (give an engineer a password with "
                   f"`ivr staff set-password {example}`)")
    else:
        click.echo(f"staff console off: {secret_key_problem(key)}; the webhooks are served all the same", err=True)


def _load_demo(runtime: Runtime, store) -> None:
    import time

    from .demo import DEMO_CALL_SECONDS, demo_document, demo_presence

    document, guide = demo_document(runtime.settings)
    result = load_document(store, document, runtime.settings.regions)
    if not result.ok:  # pragma: no cover - the sample is checked by the tests
        fail("; ".join(map(str, result.errors)))
    services = runtime.services()
    for engineer, state in demo_presence(document).items():
        if state == "busy":
            # On a call that ends by itself, so their first claim on their case's caller can be seen to work.
            store.set_presence(engineer, "available")
            services.offers.engage(engineer, "demo-call", DEMO_CALL_SECONDS, free_at=time.time() + DEMO_CALL_SECONDS)
        else:
            store.set_presence(engineer, state)
    services.close()
    click.echo(f"demo data: {len(document['accounts'])} accounts, {len(document['engineers'])} engineers, "
               f"{len(document['cases'])} cases. Cases to try (press the language key first on multi-language lines):")
    for line, case, outcome in guide:
        click.echo(f"  {line:<15} {case}  {outcome}")


@main.command()
@click.option("--to", "to", required=True, help="The number called.")
@click.option("--from", "caller", default="+15555550123", show_default=True, help="The caller's number.")
@click.option("--press", default="", help="Keys per gather, comma-separated: digits, w (wait), n (engineer does not "
                                        "answer), s:TEXT (say TEXT).")
@click.option("--at", "at", help="ISO-8601 moment to place the call at (with an offset).")
@click.option("--url", help="A running server to call (default: the app, in this process).")
@click.option("--token", envvar="TWILIO_AUTH_TOKEN", help="Auth token to sign with [env TWILIO_AUTH_TOKEN].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def call(runtime: Runtime, to: str, caller: str, press: str, at: str | None, url: str | None, token: str | None,
         as_json: bool) -> None:
    """Play Twilio's part in a call and print what the caller hears and where the call ends."""
    import secrets

    from .simulator import CallSimulator, LoopError, parse_presses

    if at:
        try:
            if datetime.fromisoformat(at).tzinfo is None:
                raise ValueError
        except ValueError:
            raise click.BadParameter(f"{at!r} is not an ISO-8601 moment with an offset, like 2026-11-30T08:00:00-05:00",
                                     param_hint="--at") from None
    if url:
        import requests

        token = token or _demo_token(runtime)
        if not token:
            fail("no auth token: set TWILIO_AUTH_TOKEN or pass --token (ivr serve --demo prints one)")
        session = requests.Session()

        def send(absolute, params, headers):
            reply = session.post(absolute, data=params, headers=headers, timeout=10)
            return reply.status_code, reply.text, reply.headers

        # A real server: the call is a rehearsal, offered to no engineer and leaving nothing behind.
        simulator = CallSimulator(url, token, send, at, rehearsal=True)
    else:
        from ivr.app import build

        token = token or secrets.token_hex(16)
        _store(runtime)
        app = build({"TWILIO_AUTH_TOKEN": token, "REDIS_URL": runtime.url(), "SETTINGS": runtime.settings,
                     "ALLOW_AT": True})
        client = app.test_client()

        def send(absolute, params, headers):
            reply = client.post(absolute, data=params, headers=headers)
            return reply.status_code, reply.get_data(as_text=True), reply.headers

        simulator = CallSimulator("http://localhost/", token, send, at)
    try:
        result = simulator.call(to, caller, parse_presses(press))
    except LoopError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    for heard in result.heard:
        click.echo(f"[{heard['language']} {heard['voice']}] {heard['text']}")
    for heard in result.whisper:
        click.echo(f"  (engineer hears) [{heard['language']}] {heard['text']}")
    o = result.outcome
    click.echo(f"=> {o['kind']}" + (f" {o['target']}" if o["target"] else "") + (f" ({o['reason']})" if o["reason"] else ""))


def _demo_token(runtime: Runtime) -> str | None:
    path = runtime.data_dir / DEMO_TOKEN_FILE if runtime.data_dir else None
    return path.read_text().strip() if path and path.exists() else None


MAINTENANCE_INTERVAL = 30
"""Seconds between a worker's checks for jobs a killed worker left unfinished (RQ retries them)."""

WORKER_TIMEOUT = 5.0
"""Seconds the worker's Redis commands may take: longer than the dispatcher's wait for a wake-up."""

WORKER_RESTART = 2.0
"""Seconds before `ivr worker` starts its job worker again after it gave up on Redis (a failover, a restart):
RQ's worker quits on a Redis error outside its wait for a job; the dispatcher keeps running meanwhile."""


def _pause_before_restart(jobs) -> bool:
    """Wait before a new job worker; return False if told to stop meanwhile (the last worker's signal handlers,
    RQ's, are still set; before any worker ran, the default ones end the process)."""
    import time

    from rq.exceptions import StopRequested

    click.echo(f"error: the job worker quit on a Redis failure; starting it again in {WORKER_RESTART:.0f} s", err=True)
    try:
        time.sleep(WORKER_RESTART)
    except StopRequested:
        return False
    return jobs is None or not jobs.told_to_stop


@main.command()
@click.option("--burst", is_flag=True, help="Run the queued jobs and one dispatch pass, then stop.")
@click.option("--demo", is_flag=True, help="With no Twilio account set, show REST requests instead of sending them.")
@click.option("--no-dispatch", is_flag=True, help="Run background jobs only, no dispatcher.")
@click.pass_obj
def worker(runtime: Runtime, burst: bool, demo: bool, no_dispatch: bool) -> None:
    """Run the background jobs (RQ) and the dispatcher that offers waiting callers to free engineers."""
    from rq import Queue, SimpleWorker

    from ivr.dispatch.dispatcher import Dispatcher
    from ivr.dispatch.rest import MissingCredentials, rest_client
    from ivr.logs import configure
    from ivr.wiring import Services, worker_connection
    from workers.queues import QUEUES, SERIALIZER
    from workers.context import use

    configure()
    _store(runtime)
    url = runtime.url()
    services = Services.for_commands(runtime.settings, url, WORKER_TIMEOUT)
    dispatcher = stop = None
    try:
        rest = rest_client(runtime.settings, demo_log=services.redis if demo else None)
    except MissingCredentials as error:
        rest = None
        click.echo(f"error: dispatch is off: {error}", err=True)
    use(services, rest)
    if rest is not None:
        if not no_dispatch:
            dispatcher = Dispatcher(services, rest)
            if burst:
                dispatcher.run_once()
            else:
                _thread, stop = dispatcher.start()
    from workers.records import queue_all_due_records, start_sweeping

    connection = worker_connection(url)
    if burst:
        queue_all_due_records(services)
        sweeping = None
    else:
        sweeping = start_sweeping(services)

    class JobWorker(SimpleWorker):
        """RQ's in-process worker, knowing whether it was told to stop or gave up on Redis."""

        told_to_stop = False

        def handle_warm_shutdown_request(self):
            self.told_to_stop = True
            super().handle_warm_shutdown_request()

    # In-process jobs: they are short REST requests, and forking beside the dispatcher's threads is unsafe.
    jobs = None
    try:
        while True:
            try:  # RQ's worker names itself to Redis as it is made: with no primary known, that fails too
                jobs = JobWorker([Queue(name, connection=connection, serializer=SERIALIZER) for name in QUEUES],
                                 connection=connection, serializer=SERIALIZER,
                                 maintenance_interval=MAINTENANCE_INTERVAL,
                                 # An idle worker checks for a killed worker's jobs only between waits of
                                 # worker_ttl - 15 s.
                                 worker_ttl=MAINTENANCE_INTERVAL + 15)
            except redis.RedisError as error:
                if burst:
                    fail(f"the job worker cannot start: {error}")
                click.echo(f"error: the job worker cannot start: {error}", err=True)
                if not _pause_before_restart(jobs):
                    break
                continue
            try:
                jobs.work(burst=burst, with_scheduler=True)
            except redis.RedisError as error:  # its own teardown failed too: Redis is still away
                click.echo(f"error: the job worker stopped: {error}", err=True)
                if jobs.pubsub_thread is not None:
                    jobs.pubsub_thread.stop()
                if burst:
                    fail(f"the job worker stopped: {error}")
            if burst or jobs.told_to_stop or not _pause_before_restart(jobs):
                break
    finally:
        if sweeping is not None:
            sweeping.set()
        if stop is not None:
            stop.set()
        if dispatcher is not None:
            dispatcher.pool.shutdown(wait=True)
