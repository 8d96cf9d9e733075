"""Log lines carry no caller or case numbers (issue 6, item 11)."""
import copy
import logging

import pytest

from ivr.cli.serve import gunicorn_options
from ivr.logs import MaskNumbers, configure, mask
from ivr.config import DEFAULTS, build_settings


@pytest.mark.parametrize(("text", "masked"), [
    ("redis error for +14155550123 on /voice/incoming", "redis error for +*********23 on /voice/incoming"),
    ("case 30000002 not found", "case ******02 not found"),
    ("caller 4155550123, line +442079460100", "caller ********23, line +**********00"),
])
def test_numbers_are_masked_to_their_last_two_digits(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", ["call CA0123456789abcdef0123456789abcdef", "took 12 ms", "HTTP/1.1 200 1234",
                                  "2026-11-30 10:42:27"])
def test_call_ids_short_numbers_and_dates_are_left_alone(text):
    assert mask(text) == text


def test_the_filter_masks_the_formatted_message_whoever_logged_it():
    record = logging.LogRecord("redis", logging.ERROR, __file__, 1, "write failed for %s", ("+14155550123",), None)

    assert MaskNumbers().filter(record)

    assert record.getMessage() == "write failed for +*********23"


def test_serve_s_logging_masks_every_line_it_writes(capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure()
        logging.getLogger("ivr.voice").error("redis error for caller %s", "+14155550123")
    finally:
        root.handlers[:], root.level = saved

    assert "+*********23" in capsys.readouterr().err


def test_gunicorn_s_own_handlers_are_masked_when_it_starts():
    handler = logging.StreamHandler()
    logging.getLogger("gunicorn.access").addHandler(handler)
    try:
        options = gunicorn_options(build_settings(copy.deepcopy(DEFAULTS)), "127.0.0.1", 5000, 1)
        options["post_worker_init"](None)
        assert any(isinstance(f, MaskNumbers) for f in handler.filters)
    finally:
        logging.getLogger("gunicorn.access").removeHandler(handler)
