"""The `ivr` command: serve, worker, load, lines, presence, route, call, staff, calls and events."""
from . import background  # noqa: F401 - registers its commands on `main`
from .commands import main

__all__ = ["main"]
