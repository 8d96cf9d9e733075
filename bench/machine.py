"""What the machine is and how busy other work kept it while a phase ran.

Shared machines run other things (test suites, builds). `CpuShare` reads the whole machine's busy
CPU time from /proc/stat and subtracts this benchmark's own (this process, its reaped children, and
every live descendant), so each phase can say how many cores something else was using meanwhile.
"""
from __future__ import annotations

import os
import platform
import resource
import subprocess
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def describe() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    debian = ""
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        pass
    redis_version = ""
    try:
        from ivr.adapters.server.embedded import redis_server_binary

        redis_version = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True,
                                       timeout=10).stdout.split(" v=")[1].split()[0]
    except (OSError, IndexError, ImportError, subprocess.SubprocessError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": memory_gb, "kernel": platform.release(),
            "debian": debian, "python": platform.python_version(), "redis_server": redis_version}


def _busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def stat_fields(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name (state, ppid, ...), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children() -> dict[int, list[int]]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    return parents


def children(root: int) -> list[int]:
    """Return a process's children (gunicorn's workers)."""
    return _children().get(root, [])


def _descendants(root: int) -> list[int]:
    parents = _children()
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _own_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = me.ru_utime + me.ru_stime + reaped.ru_utime + reaped.ru_stime
    for pid in _descendants(os.getpid()):
        fields = stat_fields(pid)
        if fields:
            total += sum(int(x) for x in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    return total


class CpuShare:
    """Cores used by this benchmark and by everything else, between `start()` and `stop()`."""

    def start(self) -> CpuShare:
        self.wall, self.busy, self.own = time.monotonic(), _busy_seconds(), _own_seconds()
        self.load = os.getloadavg()[0]
        return self

    def stop(self) -> dict:
        wall = max(time.monotonic() - self.wall, 1e-6)
        busy, own = _busy_seconds() - self.busy, _own_seconds() - self.own
        return {"seconds": round(wall, 1), "bench_cores": round(own / wall, 2),
                "other_cores": round(max(busy - own, 0.0) / wall, 2), "loadavg_at_start": round(self.load, 2)}
