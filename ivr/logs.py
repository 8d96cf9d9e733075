"""Logs without personal data: phone and case numbers are masked in every line this process writes."""
from __future__ import annotations

import logging
import re

NUMBER = re.compile(r"(?<![\w+])(\+?)(\d{4,13})(\d{2})(?!\w)")
"""A run of 6 to 15 digits standing alone (phone numbers, case numbers), not digits inside a CallSid."""

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask(text: str) -> str:
    """Return text with every phone or case number reduced to its last two digits."""
    return NUMBER.sub(lambda m: f"{m[1]}{'*' * len(m[2])}{m[3]}", text)


class MaskNumbers(logging.Filter):
    """Mask numbers in a record's final message, whoever logged it (ours, gunicorn's, redis-py's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: int = logging.INFO) -> None:
    """Send this process's logs to stderr, masked; gunicorn's own handlers are masked too."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskNumbers())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def mask_handlers(*loggers: str) -> None:
    """Add the mask to the handlers of named loggers that do not propagate (gunicorn's)."""
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskNumbers) for f in handler.filters):
                handler.addFilter(MaskNumbers())
