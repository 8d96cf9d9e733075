"""The `ivr` command: serve, worker, load, lines, presence, route and call."""
from .commands import main

__all__ = ["main"]
