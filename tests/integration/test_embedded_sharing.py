"""Commands sharing one embedded Redis: whoever started it, the last one out stops it."""
import subprocess
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOLD = """
import sys
from ivr.embedded import EmbeddedRedis
EmbeddedRedis(sys.argv[1]).start()
print("up", flush=True)
sys.stdin.read()
"""


def _hold(data_dir):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "up"
    return process


def _release(process):
    process.stdin.close()
    process.wait(15)
    process.stdout.close()


def _serving(data_dir) -> bool:
    try:
        client = redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), socket_timeout=1, retry=Retry(NoBackoff(), 0))
        return client.ping()
    except redis.RedisError:
        return False


def _stops(data_dir, within: float = 5) -> bool:
    """Wait (bounded) for the server to go; tell whether it went."""
    deadline = time.monotonic() + within
    while _serving(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _serving(data_dir)


def test_the_server_outlives_the_command_that_started_it_while_another_still_uses_it(tmp_path):
    starter = _hold(tmp_path)
    later = _hold(tmp_path)
    _release(starter)
    time.sleep(0.2)
    assert _serving(tmp_path)
    _release(later)
    assert _stops(tmp_path)


def test_a_short_command_leaves_a_long_running_ones_server_up(tmp_path):
    long_running = _hold(tmp_path)
    quick = _hold(tmp_path)
    _release(quick)
    assert _serving(tmp_path)
    _release(long_running)
    assert _stops(tmp_path)
