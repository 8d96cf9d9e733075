"""Configuration: the built-in defaults mirror SPEC §2–§4; a TOML file overrides keys or is refused by key."""
from __future__ import annotations

import codecs
import sys
from datetime import time
from pathlib import Path

import pytest

from ivr.config import ConfigError, load_settings


@pytest.fixture
def defaults(monkeypatch):
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    return load_settings()


@pytest.fixture
def toml(tmp_path, monkeypatch):
    """Write a TOML override and load the settings from it."""
    monkeypatch.delenv("IVR_CONFIG", raising=False)

    def load(text: str):
        path = tmp_path / "ivr.toml"
        path.write_text(text, encoding="utf-8")
        return load_settings(path)

    return load


SPEC_REGIONS = [
    # code, languages in menu order, default time zone, holiday country
    ("us", ("en", "es"), "America/New_York", "US"),
    ("ca", ("en", "fr"), "America/Toronto", "CA"),
    ("emea", ("en", "de", "fr", "ru", "es", "it"), "Europe/London", "GB"),
    ("apac", ("en", "ja", "zh"), "Asia/Singapore", "SG"),
    ("latam", ("en", "es", "pt"), "America/Sao_Paulo", "BR"),
]


def test_defaults_configure_the_five_regions_of_the_spec_in_order(defaults):
    assert list(defaults.regions) == [code for code, *_ in SPEC_REGIONS]


@pytest.mark.parametrize(("code", "languages", "timezone", "country"), SPEC_REGIONS)
def test_default_region_has_the_spec_s_languages_in_menu_order_and_its_time_zone(
    defaults, code, languages, timezone, country
):
    region = defaults.regions[code]
    assert (region.languages, region.timezone, region.holidays) == (languages, timezone, country)
    assert defaults.policy.holiday_countries[code] == country


def test_defaults_configure_six_lines_one_customer_line_per_region_and_the_emea_partner_line(defaults):
    assert len(defaults.lines) == 6
    customer = sorted(line.region for line in defaults.lines.values() if line.audience == "customer")
    partner = [line for line in defaults.lines.values() if line.audience == "partner"]
    assert customer == sorted(code for code, *_ in SPEC_REGIONS)
    assert [(p.region, p.languages, p.timezone) for p in partner] == [("emea", ("en",), "Europe/London")]


@pytest.mark.parametrize(("code", "languages", "timezone", "country"), SPEC_REGIONS)
def test_default_customer_line_offers_its_region_s_menu_in_its_time_zone(defaults, code, languages, timezone, country):
    (line,) = [x for x in defaults.lines.values() if x.region == code and x.audience == "customer"]
    assert (line.languages, line.timezone) == (languages, timezone)
    assert defaults.lines[line.number] is line


def test_default_line_is_a_configured_line(defaults):
    assert defaults.default_line.number in defaults.lines
    assert defaults.default_line.region == "us"


def test_settings_send_an_unconfigured_number_to_the_default_line(defaults):
    assert defaults.line_for("+19995550000") is defaults.default_line
    assert defaults.line_for(None) is defaults.default_line
    assert defaults.line_for("+44 20 7946 0199").audience == "partner"


@pytest.mark.parametrize(("plan", "hours"), [("evaluation", "mon,tue,wed,thu,fri 08:00-17:00"),
                                             ("basic", "mon,tue,wed,thu,fri 08:00-20:00"),
                                             ("production", "24/7"), ("premium", "24/7")])
def test_default_plan_hours_are_those_of_the_spec(defaults, plan, hours):
    assert defaults.policy.plans[plan].hours.describe() == hours


def test_defaults_have_no_overflow_rules(defaults):
    assert dict(defaults.policy.overflow) == {}


def test_ivr_config_environment_variable_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "from-env.toml"
    path.write_text('portal = "help.example.org"\n', encoding="utf-8")
    monkeypatch.setenv("IVR_CONFIG", str(path))
    settings = load_settings()
    assert (settings.portal, settings.source) == ("help.example.org", str(path))


def test_override_of_one_key_leaves_its_neighbours_alone(toml, defaults):
    settings = toml("[queue]\nmax_wait = 90\n")
    assert settings.max_wait == 90
    assert settings.hold_music == defaults.hold_music
    assert settings.dial_timeout == defaults.dial_timeout
    assert settings.lines == defaults.lines


def test_override_of_a_region_s_time_zone_keeps_its_languages_and_moves_its_lines(toml):
    settings = toml('[regions.us]\ntimezone = "America/Chicago"\n')
    assert settings.regions["us"].timezone == "America/Chicago"
    assert settings.regions["us"].languages == ("en", "es")
    assert settings.lines["+18005550100"].timezone == "America/Chicago"
    assert settings.regions["ca"].timezone == "America/Toronto"


def test_override_of_a_plan_s_closing_time_keeps_its_days_and_opening(toml):
    settings = toml('[plans.basic]\nclose = "21:00"\n')
    hours = settings.policy.plans["basic"].hours
    assert (hours.start, hours.end, hours.weekdays) == (time(8), time(21), frozenset(range(5)))
    assert settings.policy.plans["basic"].targets == load_settings().policy.plans["basic"].targets


def test_lines_given_in_the_file_replace_the_default_lines(toml):
    settings = toml('[[lines]]\nnumber = "+18005550100"\nregion = "us"\nlanguages = ["es"]\n')
    assert list(settings.lines) == ["+18005550100"]
    assert settings.default_line.languages == ("es",)


def test_overflow_rule_is_configured(toml):
    settings = toml('[overflow]\nemea-ru = "emea-en"\n')
    assert dict(settings.policy.overflow) == {"emea-ru": "emea-en"}


def test_holidays_switched_off_clear_every_region_s_country(toml):
    settings = toml("holidays = false\n")
    assert set(settings.policy.holiday_countries.values()) == {None}


def test_holidays_switched_off_for_one_region_leave_the_others(toml):
    settings = toml("[regions.emea]\nholidays = false\n")
    assert settings.policy.holiday_countries["emea"] is None
    assert settings.policy.holiday_countries["us"] == "US"


def test_holiday_country_is_accepted_in_lower_case(toml):
    assert toml('[regions.emea]\nholidays = "ie"\n').regions["emea"].holidays == "IE"


def test_defaults_keep_records_90_days_accept_64_kb_bodies_and_pin_no_public_url(defaults):
    assert (defaults.record_ttl, defaults.max_body, defaults.public_url) == (7776000, 65536, "")


def test_trusted_proxies_are_addresses_and_networks_kept_as_written(toml):
    settings = toml('[proxy]\ntrusted = ["127.0.0.0/8", "10.0.0.1", "::1", "fd00::/8"]\n')
    assert settings.trusted_proxies == ("127.0.0.0/8", "10.0.0.1", "::1", "fd00::/8")


def test_overflow_chain_without_a_cycle_is_configured(toml):
    settings = toml('[overflow]\nemea-ru = "emea-de"\nemea-de = "emea-en"\nemea-it = "emea-en"\n')
    assert dict(settings.policy.overflow) == {"emea-ru": "emea-de", "emea-de": "emea-en", "emea-it": "emea-en"}


# Each number at both ends of its range; state_ttl must also outlive max_wait.
BOUNDS_KEPT = [
    pytest.param("[dial]\ntimeout = 5\n", "dial_timeout", 5, id="dial-timeout-5"),
    pytest.param("[dial]\ntimeout = 600\n", "dial_timeout", 600, id="dial-timeout-600"),
    pytest.param("[queue]\nmax_wait = 60\n", "max_wait", 60, id="max-wait-60"),
    pytest.param("[queue]\nmax_wait = 86400\n[calls]\nstate_ttl = 86401\n", "max_wait", 86400, id="max-wait-86400"),
    pytest.param("[queue]\nmax_wait = 599\n[calls]\nstate_ttl = 600\n", "state_ttl", 600, id="state-ttl-600"),
    pytest.param("[calls]\nstate_ttl = 2592000\n", "state_ttl", 2592000, id="state-ttl-30-days"),
    pytest.param("[calls]\nrecord_ttl = 86400\n", "record_ttl", 86400, id="record-ttl-1-day"),
    pytest.param("[calls]\nrecord_ttl = 315360000\n", "record_ttl", 315360000, id="record-ttl-10-years"),
    pytest.param("[http]\nmax_body = 1024\n", "max_body", 1024, id="max-body-1-kb"),
    pytest.param("[http]\nmax_body = 1048576\n", "max_body", 1048576, id="max-body-1-mb"),
]


@pytest.mark.parametrize(("text", "field", "value"), BOUNDS_KEPT)
def test_numbers_at_the_ends_of_their_ranges_are_accepted(toml, text, field, value):
    assert getattr(toml(text), field) == value


@pytest.mark.parametrize(("value", "stored"), [
    ("https://ivr.example.com", "https://ivr.example.com"),
    ("https://ivr.example.com/", "https://ivr.example.com"),
    ("https://ivr.example.com:8443", "https://ivr.example.com:8443"),
    ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
    ("https://[2001:db8::1]:443", "https://[2001:db8::1]:443"),
])
def test_public_url_is_a_base_url_kept_without_its_trailing_slash(toml, value, stored):
    assert toml(f'public_url = "{value}"\n').public_url == stored


LINE = '[[lines]]\nnumber = "+18005550100"\nregion = "us"\n'

BAD = [
    # TOML text, the key the error must name
    pytest.param('colour = "blue"\n', "colour", id="unknown-top-level-key"),
    pytest.param("[dial]\ntimeot = 5\n", "dial.timeot", id="unknown-key-in-a-section"),
    pytest.param('[regions.us]\nzone = "America/Chicago"\n', "regions.us.zone", id="unknown-key-in-a-region"),
    pytest.param(LINE + 'colour = "red"\n', "lines[0].colour", id="unknown-key-in-a-line"),
    pytest.param('[plans.basic]\nlunch = "12:00"\n', "plans.basic.lunch", id="unknown-key-in-a-plan"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\nregion = "mars"\n', "lines[0].region", id="bad-region-in-a-line"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\n', "lines[0].region", id="line-without-region"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\nregion = ["us"]\n', "lines[0].region", id="line-region-a-list"),
    pytest.param('[[lines]]\nnumber = "18005550100"\nregion = "us"\n', "lines[0].number", id="line-number-not-e164"),
    pytest.param(LINE + LINE, "lines[1].number", id="line-number-twice"),
    pytest.param(LINE + 'audience = "vip"\n', "lines[0].audience", id="bad-audience"),
    pytest.param(LINE + 'languages = ["en", "tlh"]\n', "lines[0].languages", id="bad-line-language"),
    pytest.param(LINE + 'timezone = "America/Gotham"\n', "lines[0].timezone", id="bad-line-time-zone"),
    pytest.param("lines = []\n", "lines", id="no-lines"),
    pytest.param('[regions.us]\ntimezone = "America/Nowhere"\n', "regions.us.timezone", id="bad-time-zone"),
    pytest.param("[regions.us]\ntimezone = 5\n", "regions.us.timezone", id="time-zone-not-text"),
    pytest.param('[regions.us]\nlanguages = ["en", "xx"]\n', "regions.us.languages", id="bad-region-language"),
    pytest.param('[regions.us]\nlanguages = ["en", "en"]\n', "regions.us.languages", id="language-twice"),
    pytest.param("[regions.us]\nlanguages = []\n", "regions.us.languages", id="no-languages"),
    pytest.param('[regions.mena]\nlanguages = ["en"]\n', "regions.mena.timezone", id="new-region-without-zone"),
    pytest.param('[regions.Mena]\nlanguages = ["en"]\ntimezone = "Asia/Dubai"\n', "regions.Mena", id="bad-region-code"),
    pytest.param('[regions.us]\nholidays = "XX"\n', "regions.us.holidays", id="unknown-holiday-country"),
    pytest.param("[regions.us]\nholidays = true\n", "regions.us.holidays", id="holiday-country-not-text"),
    pytest.param('holidays = "yes"\n', "holidays", id="holidays-not-a-switch"),
    pytest.param('[plans.basic]\nopen = "25:00"\n', "plans.basic.open", id="hour-25"),
    pytest.param('[plans.basic]\nclose = "20:60"\n', "plans.basic.close", id="minute-60"),
    pytest.param('[plans.basic]\nopen = "8:00"\n', "plans.basic.open", id="hour-without-two-digits"),
    pytest.param("[plans.basic]\nopen = 800\n", "plans.basic.open", id="time-not-text"),
    pytest.param('[plans.evaluation]\nopen = "17:00"\nclose = "08:00"\n', "plans.evaluation.close", id="close-before-open"),
    pytest.param('[plans.evaluation]\nopen = "08:00"\nclose = "08:00"\n', "plans.evaluation.close", id="close-at-open"),
    pytest.param('[plans.basic]\ndays = ["mon", "funday"]\n', "plans.basic.days", id="bad-day"),
    pytest.param("[plans.basic]\ndays = []\n", "plans.basic.days", id="no-days"),
    pytest.param('[plans.production]\nopen = "09:00"\n', "plans.production", id="hours-for-round-the-clock-plan"),
    pytest.param('[plans.community]\nopen = "09:00"\n', "plans.community", id="hours-for-plan-without-phone"),
    pytest.param('[plans.gold]\nopen = "09:00"\n', "plans.gold", id="unknown-plan"),
    pytest.param('[overflow]\nemea-ru = "emea-xx"\n', "overflow.emea-ru", id="overflow-to-unknown-queue"),
    pytest.param('[overflow]\nemea-ru = "apac-ru"\n', "overflow.emea-ru", id="overflow-to-language-region-lacks"),
    pytest.param('[overflow]\nmars-en = "emea-en"\n', "overflow.mars-en", id="overflow-from-unknown-queue"),
    pytest.param('[overflow]\nemea-en = "emea-en"\n', "overflow.emea-en", id="overflow-to-itself"),
    pytest.param('[overflow]\nemea-ru = ["emea-en"]\n', "overflow.emea-ru", id="overflow-to-a-list"),
    pytest.param('[overflow.emea-ru]\nqueue = "emea-en"\n', "overflow.emea-ru", id="overflow-to-a-table"),
    pytest.param('overflow = "emea-en"\n', "overflow", id="overflow-not-a-table"),
    pytest.param('default_line = "+19995550000"\n', "default_line", id="default-line-not-configured"),
    pytest.param('default_line = ["+18005550100"]\n', "default_line", id="default-line-a-list"),
    pytest.param("[dial]\ntimeout = 0\n", "dial.timeout", id="zero-timeout"),
    pytest.param("[dial]\ntimeout = true\n", "dial.timeout", id="boolean-timeout"),
    pytest.param('[queue]\nmax_wait = "1h"\n', "queue.max_wait", id="wait-not-a-number"),
    pytest.param('[proxy]\ntrusted = "10.0.0.1"\n', "proxy.trusted", id="trusted-proxies-not-a-list"),
    pytest.param('portal = ""\n', "portal", id="empty-portal"),
    pytest.param('[proxy]\ntrusted = ["localhost"]\n', "proxy.trusted", id="trusted-proxy-a-host-name"),
    pytest.param('[proxy]\ntrusted = ["127.0.0.1", "not an ip"]\n', "proxy.trusted", id="trusted-proxy-not-an-ip"),
    pytest.param('[proxy]\ntrusted = ["10.0.0.0/33"]\n', "proxy.trusted", id="trusted-network-prefix-33"),
    pytest.param('[proxy]\ntrusted = ["10.0.0.1/8"]\n', "proxy.trusted", id="trusted-network-with-host-bits"),
    pytest.param('[proxy]\ntrusted = ["10.0.0.1\\n"]\n', "proxy.trusted", id="trusted-proxy-trailing-newline"),
    pytest.param("[proxy]\ntrusted = [1]\n", "proxy.trusted", id="trusted-proxy-a-number"),
    pytest.param("[dial]\ntimeout = 4\n", "dial.timeout", id="timeout-below-5"),
    pytest.param("[dial]\ntimeout = 601\n", "dial.timeout", id="timeout-above-600"),
    pytest.param("[dial]\ntimeout = 100000\n", "dial.timeout", id="timeout-100000"),
    pytest.param("[queue]\nmax_wait = 59\n", "queue.max_wait", id="wait-below-a-minute"),
    pytest.param("[queue]\nmax_wait = 86401\n[calls]\nstate_ttl = 90000\n", "queue.max_wait", id="wait-above-a-day"),
    pytest.param("[queue]\nmax_wait = 60\n[calls]\nstate_ttl = 599\n", "calls.state_ttl", id="state-ttl-below-10-min"),
    pytest.param("[calls]\nstate_ttl = 2592001\n", "calls.state_ttl", id="state-ttl-above-30-days"),
    pytest.param("[calls]\nstate_ttl = 9223372036854775807\n", "calls.state_ttl", id="state-ttl-int64-max"),
    pytest.param("[calls]\nstate_ttl = 3600\n", "calls.state_ttl", id="state-ttl-equal-to-max-wait"),
    pytest.param("[queue]\nmax_wait = 7200\n[calls]\nstate_ttl = 3600\n", "calls.state_ttl",
                 id="state-ttl-shorter-than-max-wait"),
    pytest.param("[calls]\nrecord_ttl = 86399\n", "calls.record_ttl", id="record-ttl-below-a-day"),
    pytest.param("[calls]\nrecord_ttl = 315360001\n", "calls.record_ttl", id="record-ttl-above-10-years"),
    pytest.param('[calls]\nrecord_ttl = "90d"\n', "calls.record_ttl", id="record-ttl-not-a-number"),
    pytest.param("[http]\nmax_body = 1023\n", "http.max_body", id="max-body-below-1-kb"),
    pytest.param("[http]\nmax_body = 1048577\n", "http.max_body", id="max-body-above-1-mb"),
    pytest.param("[http]\nmax_body = true\n", "http.max_body", id="max-body-a-boolean"),
    pytest.param("[http]\nmax_size = 1024\n", "http.max_size", id="unknown-key-in-http"),
    pytest.param('http = "fast"\n', "http", id="http-not-a-table"),
    pytest.param('public_url = "ivr.example.com"\n', "public_url", id="public-url-without-scheme"),
    pytest.param('public_url = "ftp://ivr.example.com"\n', "public_url", id="public-url-ftp"),
    pytest.param('public_url = "https://"\n', "public_url", id="public-url-without-host"),
    pytest.param('public_url = "https://ivr.example.com/voice"\n', "public_url", id="public-url-with-path"),
    pytest.param('public_url = "https://ivr.example.com//"\n', "public_url", id="public-url-two-slashes"),
    pytest.param('public_url = "https://ivr.example.com?x=1"\n', "public_url", id="public-url-with-query"),
    pytest.param('public_url = "https://ivr.example.com?"\n', "public_url", id="public-url-with-empty-query"),
    pytest.param('public_url = "https://ivr.example.com/#top"\n', "public_url", id="public-url-with-fragment"),
    pytest.param('public_url = "https://user:pw@ivr.example.com"\n', "public_url", id="public-url-with-password"),
    pytest.param('public_url = "https://ivr.example.com:99999"\n', "public_url", id="public-url-port-too-big"),
    pytest.param('public_url = "https://ivr.example.com:"\n', "public_url", id="public-url-empty-port"),
    pytest.param('public_url = "https://ivr.example.com\\n"\n', "public_url", id="public-url-trailing-newline"),
    pytest.param('public_url = "https://ivr.exa\\tmple.com"\n', "public_url", id="public-url-with-a-tab"),
    pytest.param('public_url = "https://ivr exam.com"\n', "public_url", id="public-url-with-a-space"),
    pytest.param('public_url = "https://ivr..example.com"\n', "public_url", id="public-url-empty-label"),
    pytest.param('public_url = "https://[fe80::zz]"\n', "public_url", id="public-url-bad-ipv6"),
    pytest.param("public_url = 443\n", "public_url", id="public-url-a-number"),
    pytest.param('[overflow]\nemea-ru = "emea-de"\nemea-de = "emea-ru"\n', "overflow.emea-ru",
                 id="overflow-cycle-of-two"),
    pytest.param('[overflow]\nemea-fr = "emea-en"\nemea-ru = "emea-de"\nemea-de = "emea-it"\nemea-it = "emea-ru"\n',
                 "overflow.emea-ru", id="overflow-cycle-of-three"),
    pytest.param('[queue]\nhold_music = "https://example.com/hold.mp3\\n"\n', "queue.hold_music",
                 id="hold-music-trailing-newline"),
    pytest.param('[queue]\nhold_music = "https://example.com/hold\\u0000.mp3"\n', "queue.hold_music",
                 id="hold-music-control-character"),
    pytest.param('[plans.basic]\nopen = "08:00\\n"\n', "plans.basic.open", id="hour-trailing-newline"),
    pytest.param('[regions."mena\\n"]\nlanguages = ["en"]\ntimezone = "Asia/Dubai"\n', "regions.mena\n",
                 id="region-code-trailing-newline"),
]


@pytest.mark.parametrize(("text", "key"), BAD)
def test_bad_configuration_is_refused_naming_the_key(toml, tmp_path, text, key):
    with pytest.raises(ConfigError) as caught:
        toml(text)
    assert caught.value.key == key
    assert f": {key}: " in str(caught.value)
    assert caught.value.reason  # says why
    assert str(tmp_path / "ivr.toml") in str(caught.value)


@pytest.mark.parametrize(("text", "words"), [
    pytest.param("[dial]\ntimeout = 100000\n", "100000 must be a whole number of seconds from 5 to 600", id="dial"),
    pytest.param("[queue]\nmax_wait = 59\n", "59 must be a whole number of seconds from 60 to 86400", id="wait"),
    pytest.param("[calls]\nstate_ttl = 9223372036854775807\n",
                 "9223372036854775807 must be a whole number of seconds from 600 to 2592000", id="state"),
    pytest.param("[calls]\nstate_ttl = 3000\n", "3000 must be greater than queue.max_wait (3600)", id="state-vs-wait"),
    pytest.param("[calls]\nrecord_ttl = 1\n", "1 must be a whole number of seconds from 86400 to 315360000",
                 id="record"),
    pytest.param("[http]\nmax_body = 2000000\n", "2000000 must be a whole number of bytes from 1024 to 1048576",
                 id="body"),
])
def test_a_number_out_of_range_is_refused_with_its_range(toml, text, words):
    with pytest.raises(ConfigError) as caught:
        toml(text)
    assert words in caught.value.reason


@pytest.mark.parametrize("bad", ["localhost", "not an ip", "10.0.0.1/8"])
def test_a_bad_trusted_proxy_is_named(toml, bad):
    with pytest.raises(ConfigError) as caught:
        toml(f'[proxy]\ntrusted = ["127.0.0.1", "{bad}"]\n')
    assert repr(bad) in caught.value.reason


def test_a_trusted_network_with_host_bits_is_refused_with_the_network_to_write(toml):
    with pytest.raises(ConfigError) as caught:
        toml('[proxy]\ntrusted = ["10.1.2.3/8"]\n')
    assert "10.0.0.0/8" in caught.value.reason


def test_an_overflow_cycle_is_refused_naming_the_cycle(toml):
    with pytest.raises(ConfigError) as caught:
        toml('[overflow]\nemea-fr = "emea-en"\nemea-ru = "emea-de"\nemea-de = "emea-it"\nemea-it = "emea-ru"\n')
    assert "emea-ru -> emea-de -> emea-it -> emea-ru" in caught.value.reason


@pytest.fixture
def raw(tmp_path, monkeypatch):
    """Write raw bytes as the configuration file and load the settings from it."""
    monkeypatch.delenv("IVR_CONFIG", raising=False)

    def load(data: bytes):
        path = tmp_path / "ivr.toml"
        path.write_bytes(data)
        return load_settings(path)

    return load


def test_a_utf_8_file_with_a_byte_order_mark_is_read(raw):
    assert raw(codecs.BOM_UTF8 + 'portal = "aide.exemple.fr"\nemail = "café@exemple.fr"\n'.encode()).email == (
        "café@exemple.fr")


@pytest.mark.parametrize(("data", "offset"), [
    pytest.param('portal = "café.example.com"\n'.encode("latin-1"), 13, id="latin-1"),
    pytest.param(codecs.BOM_UTF8 + 'portal = "café.example.com"\n'.encode("latin-1"), 16, id="latin-1-after-a-bom"),
    pytest.param('portal = "help.example.com"\n'.encode("utf-16"), 0, id="utf-16"),
])
def test_a_file_not_in_utf_8_is_refused_naming_the_file_and_the_byte(raw, tmp_path, data, offset):
    with pytest.raises(ConfigError) as caught:
        raw(data)
    assert caught.value.key == "(encoding)"
    assert str(tmp_path / "ivr.toml") in str(caught.value)
    assert f"byte {offset} " in caught.value.reason


def test_a_directory_given_as_the_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert caught.value.key == "IVR_CONFIG"
    assert f"{tmp_path} is a directory" in str(caught.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/mem is Linux's")
def test_a_file_that_fails_to_read_is_a_configuration_error():
    # Reading /proc/self/mem from offset 0 fails with EIO, even for root.
    with pytest.raises(ConfigError) as caught:
        load_settings(Path("/proc/self/mem"))
    assert caught.value.key == "IVR_CONFIG"
    assert "cannot be read" in caught.value.reason


def test_toml_syntax_error_is_a_configuration_error(toml):
    with pytest.raises(ConfigError) as caught:
        toml("[dial\ntimeout = 3\n")
    assert caught.value.key == "(syntax)"


def test_missing_configuration_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nowhere.toml")
    assert caught.value.key == "IVR_CONFIG"
    assert "does not exist" in str(caught.value)
