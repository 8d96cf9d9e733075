"""Oversized bodies against the real server: refused from the headers, memory flat (issue 6, item 1)."""
from __future__ import annotations

import socket
import time
from pathlib import Path

HUGE = 300 * 1024 * 1024
"""The body an attacker announces: 300 MB, five thousand times what Twilio ever sends."""

SENT_AT_MOST = 64 * 1024 * 1024
"""What the test actually pushes before it expects the server to have given up on the request."""


def _server_rss(port: int) -> int:
    """Return the resident memory (kB) of every `ivr serve` process listening on a port."""
    total = 0
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"serve" in cmdline and str(port).encode() in cmdline:
                status = (proc / "status").read_text()
                total += int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:")))
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _post_huge(port: int, headers: str) -> str:
    """Send headers, then push body bytes until the server answers or stops reading; return its status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(headers.encode())
        chunk = b"SpeechResult=" + b"7" * (1024 * 1024)
        sent, deadline = 0, time.monotonic() + 20
        sock.setblocking(False)
        reply = b""
        while sent < SENT_AT_MOST and time.monotonic() < deadline and not reply:
            try:
                sent += sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                reply += sock.recv(4096)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n" not in reply:
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
        except (ConnectionResetError, TimeoutError):
            pass
    return reply.split(b"\r\n", 1)[0].decode(errors="replace")


def test_a_300_mb_body_is_refused_with_413_and_the_server_does_not_grow(servers):
    port = servers.ports[0]
    before = _server_rss(port)

    status = _post_huge(port, f"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                              f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {HUGE}\r\n\r\n")

    assert status.startswith("HTTP/1.1 413"), status
    assert _server_rss(port) - before < 32 * 1024  # kB: nothing of the body was kept


def test_a_chunked_body_past_the_limit_is_refused_with_413(servers):
    port = servers.ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode())
        piece = b"7" * 16384
        for _ in range(8):  # 128 KB in all: twice the default limit
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        reply = sock.recv(4096)

    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
