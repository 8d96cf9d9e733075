"""Service configuration: built-in defaults (SPEC §2–§4) overridden by the IVR_CONFIG TOML file."""
from __future__ import annotations

import codecs
import copy
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

from routing import Hours, Line, Plan, Policy
from routing.hours import WEEKDAYS
from routing.lines import normalize_number, queue_name
from routing.model import AUDIENCES, LANGUAGES
from routing.plans import DEFAULT_PLANS
from routing.records import E164, valid_timezone


class ConfigError(Exception):
    """A configuration value that cannot be used, naming its key and why."""

    def __init__(self, key: str, reason: str, source: str = "configuration"):
        self.key, self.reason, self.source = key, reason, source
        super().__init__(f"{source}: {key}: {reason}")


DEFAULTS: dict = {
    "default_line": "+18005550100",
    # Named in the greeting ("Thank you for calling Contoso technical support").
    "company": "Contoso",
    "portal": "support.example.com",
    "email": "support@example.com",
    # Where a customer whose maintenance has expired is sent to renew it: an e-mail address or a phone number.
    "renewals": "renewals@example.com",
    "regions": {
        "us": {"name": "United States", "languages": ["en", "es"], "timezone": "America/New_York", "holidays": "US"},
        "ca": {"name": "Canada", "languages": ["en", "fr"], "timezone": "America/Toronto", "holidays": "CA"},
        "emea": {"name": "Europe, Middle East, Africa", "languages": ["en", "de", "fr", "ru", "es", "it"],
                 "timezone": "Europe/London", "holidays": "GB"},
        "apac": {"name": "Asia-Pacific", "languages": ["en", "ja", "zh"], "timezone": "Asia/Singapore", "holidays": "SG"},
        "latam": {"name": "Latin America", "languages": ["en", "es", "pt"], "timezone": "America/Sao_Paulo", "holidays": "BR"},
    },
    # Fictional numbers from ranges set aside for drama and examples.
    "lines": [
        {"number": "+18005550100", "region": "us", "audience": "customer"},
        {"number": "+18885550101", "region": "ca", "audience": "customer"},
        {"number": "+442079460100", "region": "emea", "audience": "customer"},
        {"number": "+442079460199", "region": "emea", "audience": "partner", "languages": ["en"]},
        {"number": "+6518005550100", "region": "apac", "audience": "customer"},
        {"number": "+5511555500100", "region": "latam", "audience": "customer"},
    ],
    "plans": {
        "evaluation": {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "08:00", "close": "17:00"},
        "basic": {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "08:00", "close": "20:00"},
    },
    "holidays": True,
    "overflow": {},
    "dial": {"timeout": 20},
    "queue": {"max_wait": 3600,
              # Heard between position announcements; empty: the built-in 45 s clip at /audio/hold.wav.
              "hold_music": ""},
    "calls": {"state_ttl": 14400,
              # A finished call's record (workers/) is kept 90 days, then Redis expires it.
              "record_ttl": 7776000,
              # Seconds after a call's end before its record is written, so late callbacks are in it.
              "record_delay": 15},
    "http": {"max_body": 65536},
    "proxy": {"trusted": []},
    "dispatch": {"claim_window": 60, "wrap_up": 30, "offer_timeout": 20},
    # A customer who does not answer a callback is tried again, a few minutes apart.
    "callback": {"attempts": 3, "retry_interval": 300},
    # The duty manager: SLA breaches and callers asking for them. A URL getting signed JSON, a number, or both.
    "alerts": {"webhook": "", "sms": ""},
    # Case-number guessing: failed tries per calling number within a sliding window, past which the
    # call ends before any lookup; a surge of failures on one line alerts the duty manager instead.
    "security": {"guess_limit": 10, "guess_window": 3600, "surge": 30, "surge_window": 600},
    # Where events for the case system are POSTed (signed JSON); "": kept for `ivr events` only.
    "case_system": {"webhook": ""},
    # Twilio's REST API (offers, dequeues); an egress gateway, or a local stand-in in tests.
    "twilio": {"api_base": "https://api.twilio.com"},
    # Empty: not pinned, requests are checked against the URL they arrived on.
    "public_url": "",
}
"""Defaults mirroring SPEC §2–§4; a TOML file given by IVR_CONFIG overrides any key."""

_TOP_KEYS = set(DEFAULTS)
_REGION_KEYS = {"name", "languages", "timezone", "holidays"}
_LINE_KEYS = {"number", "region", "audience", "languages", "timezone", "name"}
_PLAN_KEYS = {"days", "open", "close"}
_SECTION_KEYS = {"dial": {"timeout"}, "queue": {"max_wait", "hold_music"},
                 "calls": {"state_ttl", "record_ttl", "record_delay"}, "http": {"max_body"}, "proxy": {"trusted"},
                 "dispatch": {"claim_window", "wrap_up", "offer_timeout"}, "twilio": {"api_base"},
                 "callback": {"attempts", "retry_interval"},
                 "case_system": {"webhook"}, "alerts": {"webhook", "sms"},
                 "security": {"guess_limit", "guess_window", "surge", "surge_window"}}
# Every pattern below is used with fullmatch: `$` would let a trailing newline through.
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_REGION_CODE = re.compile(r"[a-z][a-z0-9]*")
_AUDIO_URL = re.compile(r"https?://[^\x00-\x20\x7f]+")
_NETLOC = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

RANGES: dict[tuple[str, str], tuple[int, int, str]] = {
    ("security", "guess_limit"): (1, 1000, "failed tries"),
    ("security", "guess_window"): (60, 86400, "seconds"),
    ("security", "surge"): (2, 100000, "failed tries"),
    ("security", "surge_window"): (60, 86400, "seconds"),
    ("dial", "timeout"): (5, 600, "seconds"),
    ("queue", "max_wait"): (60, 86400, "seconds"),
    ("calls", "state_ttl"): (600, 2592000, "seconds"),
    ("calls", "record_ttl"): (86400, 315360000, "seconds"),
    ("calls", "record_delay"): (0, 600, "seconds"),
    ("http", "max_body"): (1024, 1048576, "bytes"),
    ("dispatch", "claim_window"): (0, 3600, "seconds"),
    ("dispatch", "wrap_up"): (0, 600, "seconds"),
    ("dispatch", "offer_timeout"): (5, 120, "seconds"),
    ("callback", "attempts"): (1, 10, "calls"),
    ("callback", "retry_interval"): (60, 86400, "seconds"),
}
"""(low, high, unit) of each number: what Twilio's <Dial timeout> accepts, a wait of one minute to
a day, call state for ten minutes to 30 days (and longer than any wait), records for a day to ten
years (a Redis TTL far below its 64-bit limit), bodies from 1 KB (Twilio's are a few KB) to 1 MB, and a
busy engineer's first claim on their case's caller from none to an hour, a wrap-up of none to ten
minutes, and an offer ringing from 5 s to two minutes (Twilio's REST `Timeout` allows 600)."""


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    languages: tuple[str, ...]
    timezone: str
    holidays: str | None


@dataclass(frozen=True)
class Settings:
    regions: dict[str, Region]
    lines: dict[str, Line]
    default_line: Line
    policy: Policy
    portal: str
    email: str
    company: str
    renewals: str
    dial_timeout: int
    max_wait: int
    state_ttl: int
    hold_music: str
    record_ttl: int
    max_body: int
    claim_window: int
    """Seconds a busy engineer's case caller stays theirs after the engineer becomes free (SPEC §5.3)."""
    public_url: str
    record_delay: int = 15
    """Seconds after a call ends before its record is written: Twilio's late callbacks land first."""
    wrap_up: int = 30
    """Seconds an engineer stays busy after a call before the next offer (SPEC §5.6)."""
    offer_timeout: int = 20
    """Seconds an offer rings the engineer before it counts as missed."""
    api_base: str = "https://api.twilio.com"
    """Where Twilio's REST API is reached."""
    callback_attempts: int = 3
    """Calls to a customer who does not answer before their callback is given up (and written to the case)."""
    callback_retry_interval: int = 300
    """Seconds between those calls."""
    alerts_webhook: str = ""
    """Where the duty manager's alerts are POSTed (signed JSON); empty for none."""
    alerts_sms: str = ""
    """The duty manager's number for alerts by SMS (E.164); empty for none."""
    case_system_webhook: str = ""
    """Where events for the case system are POSTed; empty: kept in Redis for `ivr events`."""
    guess_limit: int = 10
    """Failed case-number tries a calling number may make in `guess_window` seconds (`security.*`)."""
    guess_window: int = 3600
    surge: int = 30
    """Failed tries on one line in `surge_window` seconds that alert the duty manager."""
    surge_window: int = 600
    trusted_proxies: tuple[str, ...] = ()
    source: str = "built-in defaults"

    @property
    def queues(self) -> list[str]:
        """Return every queue: each region in each of its languages (SPEC §5.2)."""
        return [queue_name(code, lang) for code, region in self.regions.items() for lang in region.languages]

    def line_for(self, called: str | None) -> Line:
        """Return the line for a called number, or the default line."""
        return self.lines.get(normalize_number(called), self.default_line)


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        # Lists (lines) replace; tables merge so one key can be changed alone.
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in ("overflow",):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _unknown(keys, allowed, where: str, source: str) -> None:
    for key in keys:
        if key not in allowed:
            raise ConfigError(f"{where}{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}", source)


def _bounded_int(raw: dict, section: str, key: str, source: str) -> int:
    """Return a whole number within its range in RANGES, or raise ConfigError naming the range."""
    value = raw[section][key]
    low, high, unit = RANGES[section, key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{section}.{key}", f"{value!r} must be a whole number of {unit} from {low} to {high}",
                          source)
    return value


def _languages(value, key: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "must be a non-empty list of language codes", source)
    for lang in value:
        if lang not in LANGUAGES:
            raise ConfigError(key, f"{lang!r} is not one of {', '.join(LANGUAGES)}", source)
    if len(set(value)) != len(value):
        raise ConfigError(key, "lists a language twice", source)
    return tuple(value)


def _hours(spec: dict, key: str, source: str) -> Hours:
    _unknown(spec, _PLAN_KEYS, f"{key}.", source)
    days = spec.get("days")
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        raise ConfigError(f"{key}.days", f"{days!r} must be a non-empty list of {', '.join(WEEKDAYS)}", source)
    times = []
    for part in ("open", "close"):
        value = spec.get(part)
        match = _HHMM.fullmatch(value) if isinstance(value, str) else None
        if not match:
            raise ConfigError(f"{key}.{part}", f"{value!r} must be a time like 08:00", source)
        times.append(time(int(match[1]), int(match[2])))
    if times[0] >= times[1]:
        raise ConfigError(f"{key}.close", "must be later than open", source)
    return Hours(frozenset(WEEKDAYS.index(d) for d in days), times[0], times[1])


def build_settings(raw: dict, source: str = "built-in defaults") -> Settings:
    """Check a merged configuration and return the settings, or raise ConfigError naming the key."""
    _unknown(raw, _TOP_KEYS, "", source)
    regions: dict[str, Region] = {}
    if not isinstance(raw["regions"], dict) or not raw["regions"]:
        raise ConfigError("regions", "must be a table of regions", source)
    for code, spec in raw["regions"].items():
        key = f"regions.{code}"
        if not _REGION_CODE.fullmatch(code):
            raise ConfigError(key, "a region code is lower-case letters and digits", source)
        if not isinstance(spec, dict):
            raise ConfigError(key, "must be a table", source)
        _unknown(spec, _REGION_KEYS, f"{key}.", source)
        for required in ("languages", "timezone"):
            if required not in spec:
                raise ConfigError(f"{key}.{required}", "is required", source)
        tz = spec["timezone"]
        if not isinstance(tz, str) or not valid_timezone(tz):
            raise ConfigError(f"{key}.timezone", f"{tz!r} is not an IANA time zone", source)
        country = spec.get("holidays")
        if country is False or country is None or raw["holidays"] is False:
            country = None
        elif not isinstance(country, str) or not _known_country(country):
            raise ConfigError(f"{key}.holidays", f"{country!r} is not a country the holidays library knows (or false)", source)
        regions[code] = Region(code, spec.get("name", code), _languages(spec["languages"], f"{key}.languages", source), tz, country.upper() if country else None)
    if not isinstance(raw["holidays"], bool):
        raise ConfigError("holidays", "must be true or false", source)

    lines: dict[str, Line] = {}
    if not isinstance(raw["lines"], list) or not raw["lines"]:
        raise ConfigError("lines", "must be a non-empty list of [[lines]] tables", source)
    for i, spec in enumerate(raw["lines"]):
        key = f"lines[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError(key, "must be a table", source)
        _unknown(spec, _LINE_KEYS, f"{key}.", source)
        number = spec.get("number")
        if not isinstance(number, str) or not E164.match(number):
            raise ConfigError(f"{key}.number", f"{number!r} is not an E.164 number like +18005550100", source)
        if number in lines:
            raise ConfigError(f"{key}.number", f"{number} is configured twice", source)
        region = regions.get(spec.get("region")) if isinstance(spec.get("region"), str) else None
        if region is None:
            raise ConfigError(f"{key}.region", f"{spec.get('region')!r} is not a configured region ({', '.join(regions)})", source)
        audience = spec.get("audience", "customer")
        if audience not in AUDIENCES:
            raise ConfigError(f"{key}.audience", f"{audience!r} is not one of {', '.join(AUDIENCES)}", source)
        languages = _languages(spec.get("languages", list(region.languages)), f"{key}.languages", source)
        tz = spec.get("timezone", region.timezone)
        if not isinstance(tz, str) or not valid_timezone(tz):
            raise ConfigError(f"{key}.timezone", f"{tz!r} is not an IANA time zone", source)
        lines[number] = Line(number, region.code, audience, languages, tz, spec.get("name", f"{region.name} {audience}"))
    default = raw["default_line"]
    if not isinstance(default, str) or default not in lines:  # a list would raise TypeError
        raise ConfigError("default_line", f"{default!r} is not the number of a configured line", source)

    plans = dict(DEFAULT_PLANS)
    if not isinstance(raw["plans"], dict):
        raise ConfigError("plans", "must be a table of plan hours", source)
    for name, spec in raw["plans"].items():
        base = plans.get(name)
        if base is None or not base.phone or base.hours is None or base.hours.always:
            allowed = [n for n, p in DEFAULT_PLANS.items() if p.phone and not p.hours.always]
            raise ConfigError(f"plans.{name}", f"only business-hours plans have hours to set ({', '.join(allowed)})", source)
        if not isinstance(spec, dict):
            raise ConfigError(f"plans.{name}", "must be a table", source)
        plans[name] = Plan(name, True, _hours(spec, f"plans.{name}", source), base.targets)

    if not isinstance(raw["overflow"], dict):
        raise ConfigError("overflow", "must be a table of queue = queue", source)
    known_queues = {queue_name(r.code, lang) for r in regions.values() for lang in r.languages}
    for src, dst in raw["overflow"].items():
        for end, value in (("", src), (" target", dst)):
            if not isinstance(value, str) or value not in known_queues:  # a list would raise TypeError
                raise ConfigError(f"overflow.{src}", f"{value!r}{end} is not a queue <region>-<language> of a configured region", source)
        if src == dst:
            raise ConfigError(f"overflow.{src}", "a queue cannot overflow to itself", source)
    _no_overflow_cycle(raw["overflow"], source)

    for section, allowed in _SECTION_KEYS.items():
        if not isinstance(raw[section], dict):
            raise ConfigError(section, "must be a table", source)
        _unknown(raw[section], allowed, f"{section}.", source)
    numbers = {key: _bounded_int(raw, section, key, source) for section, key in RANGES}
    if numbers["state_ttl"] <= numbers["max_wait"]:
        # A caller's state must outlive the longest wait, or the queue webhooks lose the call.
        raise ConfigError("calls.state_ttl", f"{numbers['state_ttl']} must be greater than queue.max_wait "
                          f"({numbers['max_wait']}): a waiting caller's state would expire", source)
    for key in ("portal", "email", "company", "renewals"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise ConfigError(key, "must be a non-empty string", source)

    return Settings(
        regions=regions,
        lines=lines,
        default_line=lines[default],
        policy=Policy(plans=plans, holiday_countries={c: r.holidays for c, r in regions.items()},
                      overflow=dict(raw["overflow"]), holidays=raw["holidays"]),
        portal=raw["portal"],
        email=raw["email"],
        company=raw["company"],
        renewals=raw["renewals"],
        dial_timeout=numbers["timeout"],
        max_wait=numbers["max_wait"],
        state_ttl=numbers["state_ttl"],
        hold_music=_url(raw["queue"]["hold_music"], "queue.hold_music", source),
        record_ttl=numbers["record_ttl"],
        max_body=numbers["max_body"],
        claim_window=numbers["claim_window"],
        public_url=_public_url(raw["public_url"], source),
        record_delay=numbers["record_delay"],
        wrap_up=numbers["wrap_up"],
        offer_timeout=numbers["offer_timeout"],
        api_base=_api_base(raw["twilio"]["api_base"], source),
        callback_attempts=numbers["attempts"],
        callback_retry_interval=numbers["retry_interval"],
        alerts_webhook=_webhook(raw["alerts"]["webhook"], "alerts.webhook", source),
        alerts_sms=_phone(raw["alerts"]["sms"], "alerts.sms", source),
        case_system_webhook=_webhook(raw["case_system"]["webhook"], "case_system.webhook", source),
        guess_limit=numbers["guess_limit"],
        guess_window=numbers["guess_window"],
        surge=numbers["surge"],
        surge_window=numbers["surge_window"],
        trusted_proxies=_trusted_proxies(raw["proxy"]["trusted"], source),
        source=source,
    )


def _no_overflow_cycle(overflow: dict[str, str], source: str) -> None:
    """Raise ConfigError naming the first overflow rule that leads back to its own queue."""
    for start in overflow:
        chain = [start]
        while chain[-1] in overflow and overflow[chain[-1]] not in chain:
            chain.append(overflow[chain[-1]])
        if chain[-1] in overflow and overflow[chain[-1]] == start:
            cycle = " -> ".join(chain + [start])
            raise ConfigError(f"overflow.{start}", f"the overflow rules go round in a cycle: {cycle}", source)


def _trusted_proxies(value, source: str) -> tuple[str, ...]:
    """Return the proxy addresses and networks as written, or raise ConfigError naming a bad one."""
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ConfigError("proxy.trusted", "must be a list of proxy IP addresses or networks", source)
    for address in value:
        try:
            # Strict, as gunicorn's forwarded_allow_ips (given these strings) parses them.
            ipaddress.ip_network(address)
        except ValueError:
            raise ConfigError("proxy.trusted", _network_problem(address), source) from None
    return tuple(value)


def _network_problem(address: str) -> str:
    """Say why a string is not a proxy address or network, suggesting the network it may mean."""
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return f"{address!r} is not an IP address or network like 10.0.0.0/8"
    return f"{address!r} has host bits set after the prefix: write the network {network}"


def _url(value, key: str, source: str) -> str:
    if value == "":
        return value
    if not isinstance(value, str) or not _AUDIO_URL.fullmatch(value):
        raise ConfigError(key, f"{value!r} must be an http(s) URL of an audio file", source)
    return value


def _public_url(value, source: str) -> str:
    """Return the public base URL without its trailing slash, or raise ConfigError saying why."""
    if value == "":
        return value
    if not isinstance(value, str) or not _base_url(value):
        raise ConfigError("public_url", f"{value!r} must be a base URL like https://ivr.example.com "
                          "(a host and optional port; no path, query or fragment)", source)
    return value.removesuffix("/")


def _phone(value, key: str, source: str) -> str:
    """Return an E.164 number ("" for none), or raise ConfigError naming the key."""
    if value == "":
        return value
    if not isinstance(value, str) or not E164.fullmatch(value):
        raise ConfigError(key, f"{value!r} must be a phone number in E.164 form, like +442079460000", source)
    return value


def _webhook(value, key: str, source: str) -> str:
    """Return an http(s) URL to POST events to ("" for none), or raise ConfigError naming the key."""
    if value == "":
        return value
    if not isinstance(value, str) or not _AUDIO_URL.fullmatch(value) or not _base_url(
            f"{urlsplit(value).scheme}://{urlsplit(value).netloc}"):
        raise ConfigError(key, f"{value!r} must be an http(s) URL like https://cases.example.com/ivr-events", source)
    return value


def _api_base(value, source: str) -> str:
    """Return Twilio's REST base URL without its trailing slash, or raise ConfigError saying why."""
    if not isinstance(value, str) or not _base_url(value):
        raise ConfigError("twilio.api_base", f"{value!r} must be a base URL like https://api.twilio.com "
                          "(a host and optional port; no path, query or fragment)", source)
    return value.removesuffix("/")


def _base_url(value: str) -> bool:
    """Tell whether a string is exactly http(s)://host[:port] with at most a trailing slash."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an invalid [IPv6] host
        return False
    netloc = _NETLOC.fullmatch(parts.netloc)
    # urlsplit drops tabs and newlines and ignores a bare "?" or "#": compare with the rebuilt URL.
    base = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme not in ("http", "https") or netloc is None or value not in (base, base + "/"):
        return False
    port = netloc["port"]
    if port is not None and not 0 < int(port) <= 65535:
        return False
    return _host(netloc["host"])


def _host(host: str) -> bool:
    """Tell whether a URL's host is a DNS name or an IP address ([brackets] around IPv6)."""
    if host.startswith("["):
        try:
            return ipaddress.ip_address(host[1:-1]).version == 6
        except ValueError:
            return False
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in host.split("."))


def _known_country(code: str) -> bool:
    import holidays

    return code.upper() in holidays.list_supported_countries()


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Return the settings from a TOML file (default: $IVR_CONFIG) over the built-in defaults."""
    path = path if path is not None else os.environ.get("IVR_CONFIG") or None
    if path is None:
        return build_settings(copy.deepcopy(DEFAULTS))
    source = str(path)
    try:
        override = tomllib.loads(_read_text(Path(path), source))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", str(exc), source) from None
    return build_settings(_merge(DEFAULTS, override), source)


def _read_text(path: Path, source: str) -> str:
    """Return a configuration file's text, UTF-8 with or without a BOM, or raise ConfigError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("IVR_CONFIG", f"{source} does not exist", source) from None
    except IsADirectoryError:
        raise ConfigError("IVR_CONFIG", f"{source} is a directory, not a TOML file", source) from None
    except OSError as exc:
        raise ConfigError("IVR_CONFIG", f"{source} cannot be read: {exc.strerror or exc}", source) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The decoder counts from after the BOM it skipped; the operator counts from the file's start.
        offset = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise ConfigError("(encoding)", f"the file is not UTF-8: byte {offset} (line {line}) is "
                          f"{data[offset]:#04x}; save it as UTF-8", source) from None
