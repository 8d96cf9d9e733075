"""A throwaway Redis Sentinel deployment on loopback: a primary, a replica and three Sentinels, real processes.

The Sentinels monitor the primary as `ivr` with quorum 2, count it down after 1 s and may fail over
again 5 s later. `url` is the REDIS_URL naming them (`redis+sentinel://.../ivr/<db>`).
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from ivr.adapters.server.embedded import redis_server_binary
from tests.redis_server import free_port

SERVICE = "ivr"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
START_TIMEOUT = 20.0


class SentinelSet:
    def __init__(self, workdir: Path, replicas: int = 1, sentinels: int = 3):
        self.workdir = workdir
        self.binary = redis_server_binary()
        self.servers: dict[int, subprocess.Popen] = {}
        self.sentinels: dict[int, subprocess.Popen] = {}
        try:
            self.primary_port = self._server()
            self.replica_ports = [self._server(replicaof=self.primary_port) for _ in range(replicas)]
            self._until(lambda: all(self.role(port) == "slave" and self._linked(port) for port in self.replica_ports),
                        "the replicas to sync")
            for _ in range(sentinels):
                self._sentinel()
            self.wait_settled(self.primary_port)
        except BaseException:
            self.stop()
            raise

    # -- processes ------------------------------------------------------------------------------------

    def _server(self, replicaof: int | None = None) -> int:
        port = free_port()
        data = self.workdir / f"redis-{port}"
        data.mkdir(parents=True)
        command = [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(data), "--databases", "16", "--logfile", str(data / "redis.log")]
        if replicaof:
            command += ["--replicaof", "127.0.0.1", str(replicaof)]
        self.servers[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._until(lambda: self._answers(port), f"redis-server on {port} to answer")
        return port

    def _sentinel(self) -> int:
        port = free_port()
        config = self.workdir / f"sentinel-{port}.conf"
        config.write_text("\n".join([
            f"port {port}", "bind 127.0.0.1", f"dir {self.workdir}", f"logfile {self.workdir / f'sentinel-{port}.log'}",
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {SERVICE} 1", ""]))
        self.sentinels[port] = subprocess.Popen([self.binary, str(config), "--sentinel"],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._until(lambda: self._answers(port), f"the Sentinel on {port} to answer")
        return port

    def stop(self) -> None:
        for process in [*self.sentinels.values(), *self.servers.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.sentinels.values(), *self.servers.values()]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def kill(self, port: int) -> None:
        """SIGKILL the redis-server on `port`, as a crash would."""
        self.servers[port].kill()
        self.servers[port].wait(10)

    # -- state ----------------------------------------------------------------------------------------

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}"

    def client(self, port: int, **options) -> redis.Redis:
        """A plain client of one server (or Sentinel), no retries; close it."""
        return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2, retry=None, **options)

    def _call(self, port: int, *command):
        with self.client(port) as client:
            return client.execute_command(*command)

    def _answers(self, port: int) -> bool:
        try:
            return bool(self._call(port, "PING"))
        except redis.RedisError:
            return False

    def role(self, port: int) -> str | None:
        try:
            role = self._call(port, "ROLE")[0]
        except redis.RedisError:
            return None
        return role.decode() if isinstance(role, bytes) else role

    def _linked(self, port: int) -> bool:
        with self.client(port) as client:
            return client.info("replication").get("master_link_status") == "up"

    def primary_seen(self) -> set[int | None]:
        """The primary's port as each Sentinel names it (None: a Sentinel that does not answer)."""
        seen = set()
        for port in self.sentinels:
            try:
                with self.client(port) as client:
                    seen.add(int(client.sentinel_get_master_addr_by_name(SERVICE)[1]))
            except (redis.RedisError, TypeError):
                seen.add(None)
        return seen

    def wait_settled(self, primary: int, timeout: float = START_TIMEOUT) -> None:
        """Wait until every Sentinel names `primary`, knows the others and a replica, and the quorum is reachable."""
        def settled() -> bool:
            if self.primary_seen() != {primary}:
                return False
            for port in self.sentinels:
                with self.client(port, decode_responses=True) as client:
                    state = client.sentinel_master(SERVICE)
                    if state["num-other-sentinels"] < len(self.sentinels) - 1 or state["num-slaves"] < 1:
                        return False
                    if not str(client.execute_command("SENTINEL", "CKQUORUM", SERVICE)).startswith("OK"):
                        return False
                    replicas = client.sentinel_slaves(SERVICE)
                    if not any(not r["is_sdown"] and r.get("master-link-status") == "ok" for r in replicas):
                        return False
            return True

        self._until(settled, f"the Sentinels to agree on {primary}", timeout)

    def failover(self, kill: bool = False) -> int:
        """Ask a Sentinel to fail over now, or SIGKILL the primary (`kill`) and let them find it down; return the
        new primary's port once every Sentinel names it."""
        old = self.primary_port
        if kill:
            self.kill(old)
        else:
            with self.client(next(iter(self.sentinels))) as client:
                client.execute_command("SENTINEL", "FAILOVER", SERVICE)
        self._until(lambda: len(seen := self.primary_seen()) == 1 and None not in seen and old not in seen,
                    "every Sentinel to name a new primary")
        [self.primary_port] = self.primary_seen()
        return self.primary_port

    @staticmethod
    def _until(condition, what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def __enter__(self) -> SentinelSet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def pin(client: redis.Redis, port: int) -> redis.Connection:
    """Leave an idle connection to the server on `port` in the client's pool, as a Sentinel's stale answer would."""
    pool = client.connection_pool
    pool.sentinel_manager.discover_master = lambda service: ("127.0.0.1", port)
    try:
        held = pool.get_connection()
        pool.release(held)
    finally:
        del pool.sentinel_manager.discover_master
    assert held.port == port and held.is_connected
    return held
