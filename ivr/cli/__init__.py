"""The `ivr` command: serve, worker, load, lines, presence, route, call, staff, calls, events and report."""
from . import background  # noqa: F401 - registers its commands on `main`
from . import cases  # noqa: F401 - registers `ivr cases` on `main`
from . import report  # noqa: F401 - registers `ivr report` on `main`
from .commands import main

__all__ = ["main"]
