"""`ivr presence ENGINEER STATE`: what routing sees of an engineer's availability."""
from __future__ import annotations

import pytest

from .conftest import dump_all

AT = "2026-11-27T10:00:00"
"""A Friday morning in Berlin: every plan of the case used here is open."""


@pytest.mark.parametrize("state", ["available", "busy", "away", "offline"])
def test_each_state_is_stored_and_reported(loaded, services, state):
    # Start from a different state so that storing the new one is observable.
    other = "away" if state != "away" else "busy"
    assert loaded("presence", "anna", other).exit_code == 0

    result = loaded("presence", "anna", state)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"anna is {state}"
    assert services.store.presence("anna") == state


def test_the_state_defaults_to_offline(loaded, services):
    assert loaded("presence", "anna", "available").exit_code == 0

    result = loaded("presence", "anna")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "anna is offline"
    assert services.store.presence("anna") == "offline"


def test_an_unknown_engineer_is_refused_by_name(loaded, redis_url):
    before = dump_all(redis_url)

    result = loaded("presence", "zed", "available")

    assert result.exit_code == 1
    assert "'zed'" in result.stderr
    assert "no engineer" in result.stderr
    assert dump_all(redis_url) == before


def test_an_engineer_is_unknown_before_any_load(ivr, redis_url):
    result = ivr("presence", "anna", "available")

    assert result.exit_code == 1, result.exit_code
    assert "'anna'" in result.stderr
    assert dump_all(redis_url) == {}


@pytest.mark.parametrize("state", ["sleeping", "Available", "on_call", ""])
def test_a_bad_state_is_a_usage_error(loaded, services, state):
    assert loaded("presence", "anna", "busy").exit_code == 0

    result = loaded("presence", "anna", state)

    assert result.exit_code == 2
    assert f"'{state}'" in result.stderr
    assert "available" in result.stderr and "offline" in result.stderr
    assert services.store.presence("anna") == "busy"


@pytest.mark.parametrize(("state", "decision", "engineer"), [
    ("available", "engineer", "anna"),
    ("busy", "queue", None),
    ("away", "queue", None),
    ("offline", "queue", None),
])
def test_routing_follows_presence(loaded, state, decision, engineer):
    assert loaded("presence", "anna", state).exit_code == 0

    out = loaded.route("07123456", language="de", at=AT)

    assert (out["decision"], out["engineer"], out["queue"]) == (decision, engineer, "emea-de")


def test_presence_is_per_engineer(loaded, services):
    assert loaded("presence", "anna", "available").exit_code == 0
    assert loaded("presence", "bob", "busy").exit_code == 0

    assert services.store.presence("anna") == "available"
    assert services.store.presence("bob") == "busy"
    assert services.store.presence("carl") == "offline"  # never set: the default, untouched by the others
