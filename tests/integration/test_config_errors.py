"""A bad IVR_CONFIG stops every command before it touches Redis, naming the key and why."""
from __future__ import annotations

import pytest

from .conftest import BASE_DOCUMENT, EMEA, dump_all

BAD_CONFIGS = [
    pytest.param("[dial]\ntimeout = 0\n", "dial.timeout", "must be a positive whole number", id="dial-timeout"),
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
    assert "queue.max_wait: -5 must be a positive whole number" in result.stderr


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
