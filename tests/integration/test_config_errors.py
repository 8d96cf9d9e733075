"""A bad IVR_CONFIG stops every command before it touches Redis, naming the key and why."""
from __future__ import annotations

import json

import pytest

from .conftest import BASE_DOCUMENT, EMEA, dump_all

BAD_CONFIGS = [
    pytest.param("[dial]\ntimeout = 0\n", "dial.timeout", "must be a whole number of seconds from 5 to 600",
                 id="dial-timeout"),
    pytest.param("[dial]\ntimeout = 100000\n", "dial.timeout", "100000 must be a whole number of seconds from 5 to 600",
                 id="dial-timeout-beyond-twilio"),
    pytest.param("[calls]\nstate_ttl = 9223372036854775807\n", "calls.state_ttl", "from 600 to 2592000",
                 id="state-ttl-beyond-redis"),
    pytest.param('[proxy]\ntrusted = ["localhost", "not an ip"]\n', "proxy.trusted", "'localhost' is not an IP address",
                 id="trusted-proxy"),
    pytest.param('[overflow]\n"emea-ru" = "emea-de"\n"emea-de" = "emea-ru"\n', "overflow.emea-ru",
                 "emea-ru -> emea-de -> emea-ru", id="overflow-cycle"),
    pytest.param('[queue]\nhold_music = "https://example.com/hold.mp3\\n"\n', "queue.hold_music",
                 "must be an http(s) URL", id="hold-music-newline"),
    pytest.param('[[lines]]\nnumber = "12345"\nregion = "us"\n', "lines[0].number", "is not an E.164 number",
                 id="line-number"),
    pytest.param('[[lines]]\nnumber = "+18005550100"\nregion = "mars"\n', "lines[0].region",
                 "'mars' is not a configured region", id="line-region"),
    pytest.param('default_line = "+19995550100"\n', "default_line", "is not the number of a configured line",
                 id="default-line"),
    pytest.param('[regions.emea]\ntimezone = "Europe/Atlantis"\n', "regions.emea.timezone",
                 "'Europe/Atlantis' is not an IANA time zone", id="region-timezone"),
    pytest.param('[plans.basic]\nopen = "25:00"\n', "plans.basic.open", "must be a time like 08:00", id="plan-open"),
    pytest.param('[plans.premium]\nopen = "08:00"\n', "plans.premium", "only business-hours plans", id="plan-24-7"),
    pytest.param('colour = "blue"\n', "colour", "unknown key", id="unknown-key"),
    pytest.param('[overflow]\n"emea-de" = "mars-en"\n', "overflow.emea-de", "is not a queue", id="overflow"),
    pytest.param("lines = [\n", "(syntax)", "", id="toml-syntax"),
]

COMMANDS = [
    pytest.param(("load", "{doc}"), id="load"),
    pytest.param(("lines", "--json"), id="lines"),
    pytest.param(("presence", "anna", "available"), id="presence"),
    pytest.param(("route", "07123456", "--line", EMEA, "--language", "de", "--json"), id="route"),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("toml", "key", "reason"), BAD_CONFIGS)
def test_a_bad_configuration_stops_every_command(ivr, redis_url, tmp_path, command, toml, key, reason):
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    doc = ivr.write(BASE_DOCUMENT)
    args = [arg.format(doc=doc) for arg in command]

    result = ivr(*args, env={"IVR_CONFIG": str(config)})

    assert result.exit_code == 2
    assert result.stderr.startswith(f"ivr: bad configuration: {config}: {key}: "), result.stderr
    assert reason in result.stderr
    assert result.stdout == ""
    assert dump_all(redis_url) == {}


def test_a_missing_configuration_file_is_named(ivr, tmp_path):
    missing = tmp_path / "nowhere.toml"

    result = ivr("lines", env={"IVR_CONFIG": str(missing)})

    assert result.exit_code == 2
    assert f"IVR_CONFIG: {missing} does not exist" in result.stderr


def test_the_config_option_is_checked_like_the_variable(ivr, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[queue]\nmax_wait = -5\n", encoding="utf-8")

    result = ivr("--config", str(config), "lines")

    assert result.exit_code == 2
    assert "queue.max_wait: -5 must be a whole number of seconds from 60 to 86400" in result.stderr


def test_a_configuration_file_not_in_utf_8_is_named_with_the_byte(ivr, tmp_path):
    config = tmp_path / "latin.toml"
    config.write_bytes('portal = "aide.exemple.fr"\nemail = "café@exemple.fr"\n'.encode("latin-1"))

    result = ivr("lines", env={"IVR_CONFIG": str(config)})

    assert result.exit_code == 2
    assert result.stderr.startswith(f"ivr: bad configuration: {config}: (encoding): "), result.stderr
    assert "byte 39 " in result.stderr
    assert "Traceback" not in result.stderr


def test_a_utf_8_configuration_file_with_a_byte_order_mark_is_used(ivr, tmp_path):
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbf" + 'default_line = "+442079460100"\n'.encode())

    result = ivr("lines", "--json", env={"IVR_CONFIG": str(config)})

    assert result.exit_code == 0, result.output
    assert [row["number"] for row in json.loads(result.stdout) if row["default"]] == [EMEA]


def test_a_good_configuration_file_is_used(ivr, tmp_path):
    config = tmp_path / "good.toml"
    config.write_text("[plans.basic]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\"]\n"
                      'open = "09:00"\nclose = "18:00"\n', encoding="utf-8")
    assert ivr.load(BASE_DOCUMENT).exit_code == 0

    saturday = ivr("route", "07123458", "--line", EMEA, "--language", "de", "--at", "2026-11-28T09:00:00", "--json",
                   env={"IVR_CONFIG": str(config)})

    assert saturday.exit_code == 0, saturday.output
    assert '"decision": "queue"' in saturday.stdout
    eight = ivr("route", "07123458", "--line", EMEA, "--language", "de", "--at", "2026-11-30T08:30:00", "--json",
                env={"IVR_CONFIG": str(config)})
    assert '"next_open": "2026-11-30T09:00:00+01:00"' in eight.stdout
