"""Service configuration: built-in defaults (SPEC §2–§4) overridden by the IVR_CONFIG TOML file."""
from __future__ import annotations

import copy
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from routing import Hours, Line, Plan, Policy, Target
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
    "portal": "support.example.com",
    "email": "support@example.com",
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
        {"number": "+61255500100", "region": "apac", "audience": "customer"},
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
    "calls": {"state_ttl": 14400},
    "proxy": {"trusted": []},
}
"""Defaults mirroring SPEC §2–§4; a TOML file given by IVR_CONFIG overrides any key."""

_TOP_KEYS = set(DEFAULTS)
_REGION_KEYS = {"name", "languages", "timezone", "holidays"}
_LINE_KEYS = {"number", "region", "audience", "languages", "timezone", "name"}
_PLAN_KEYS = {"days", "open", "close"}
_SECTION_KEYS = {"dial": {"timeout"}, "queue": {"max_wait", "hold_music"},
                 "calls": {"state_ttl"}, "proxy": {"trusted"}}
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


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
    dial_timeout: int
    max_wait: int
    state_ttl: int
    hold_music: str
    trusted_proxies: tuple[str, ...] = ()
    source: str = "built-in defaults"

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


def _positive_int(raw: dict, section: str, key: str, source: str) -> int:
    value = raw[section][key]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{section}.{key}", f"{value!r} must be a positive whole number of seconds", source)
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
        match = _HHMM.match(value) if isinstance(value, str) else None
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
        if not re.match(r"^[a-z][a-z0-9]*$", code):
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

    for section, allowed in _SECTION_KEYS.items():
        if not isinstance(raw[section], dict):
            raise ConfigError(section, "must be a table", source)
        _unknown(raw[section], allowed, f"{section}.", source)
    trusted = raw["proxy"]["trusted"]
    if not isinstance(trusted, list) or not all(isinstance(a, str) for a in trusted):
        raise ConfigError("proxy.trusted", "must be a list of proxy IP addresses", source)
    for key in ("portal", "email"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise ConfigError(key, "must be a non-empty string", source)

    return Settings(
        regions=regions,
        lines=lines,
        default_line=lines[default],
        policy=Policy(plans=plans, holiday_countries={c: r.holidays for c, r in regions.items()}, overflow=dict(raw["overflow"])),
        portal=raw["portal"],
        email=raw["email"],
        dial_timeout=_positive_int(raw, "dial", "timeout", source),
        max_wait=_positive_int(raw, "queue", "max_wait", source),
        state_ttl=_positive_int(raw, "calls", "state_ttl", source),
        hold_music=_url(raw["queue"]["hold_music"], "queue.hold_music", source),
        trusted_proxies=tuple(trusted),
        source=source,
    )


def _url(value, key: str, source: str) -> str:
    if value == "":
        return value
    if not isinstance(value, str) or not re.match(r"^https?://[^\s]+$", value):
        raise ConfigError(key, f"{value!r} must be an http(s) URL of an audio file", source)
    return value


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
        with Path(path).open("rb") as fh:
            override = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("IVR_CONFIG", f"{source} does not exist", source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", str(exc), source) from None
    return build_settings(_merge(DEFAULTS, override), source)
