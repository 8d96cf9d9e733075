"""Callback requests: asked for while waiting, handed to the workers once the caller has left the queue."""
from __future__ import annotations

import redis

from . import keys
from .call_state import CallState
from .events import now, pairs

_CALLBACK = """
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'callback', 'requested', 'callback_reason', ARGV[5]) end
if redis.call('HGET', KEYS[1], 'callback') ~= 'requested' then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('HSETNX', KEYS[1], 'callback_at', ARGV[2]) == 0 then return 1 end
local details = {}
for i = 6, #ARGV do details[#details + 1] = ARGV[i] end
details[#details + 1] = 'reason'
details[#details + 1] = redis.call('HGET', KEYS[1], 'callback_reason') or ''
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'sid', ARGV[1], 'at', ARGV[2], unpack(details))
return 1
"""
"""Turn a caller's callback request into one entry for the workers, however often it is confirmed."""


class Callbacks:
    """Records callback requests (`ivr:callbacks`, capped) and reads them back."""

    def __init__(self, client: redis.Redis, state: CallState):
        self.redis, self.state = client, state
        self._callback = client.register_script(_CALLBACK)

    def ask(self, sid: str, reason: str) -> None:
        """Note that a waiting caller asked to be called back; it takes effect when they leave the queue."""
        self.state.update(sid, event="callback_asked", callback="requested", callback_reason=reason)

    def confirm(self, sid: str, reason: str | None = None, **details) -> bool:
        """Hand the caller's callback request to the workers, once; return whether one is on record.

        With a reason, the request is made and confirmed at once (the queue was full).
        """
        if not sid:
            return False
        args = [sid, now(), self.state.ttl, keys.CALLBACKS_MAXLEN, reason or ""]
        return bool(self._callback(keys=[keys.call(sid), keys.CALLBACKS], args=args + pairs(details)))


    def requests(self) -> list[dict[str, str]]:
        """Return the callback requests handed to the workers, oldest first."""
        return [fields for _id, fields in self.redis.xrange(keys.CALLBACKS)]
