"""The in-container forwarder (loopback TCP -> the proxy's Unix socket), run as a scaffold's container runs it:
bytes pass unchanged both ways, several connections at once, a slow reader holds its writer back without loss,
an end of input is passed on as a half-close, and nothing is left open after the connections end."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ripsaw.agents.proxy import FORWARDER


class DigestServer:
    """On a Unix socket: reads a connection to its end (the client's half-close), then answers with the input's
    SHA-256 and `echo` times its first 10 bytes."""

    def __init__(self, path: Path, echo: int) -> None:
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.echo = echo
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            conn.sendall(hashlib.sha256(data).hexdigest().encode() + data[:10] * self.echo)


@pytest.fixture
def forwarder(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    path = tmp_path / "model.sock"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(FORWARDER), str(path), str(port)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and b"ready" in proc.stdout.readline()
        yield port, proc, path
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def exchange(port: int, payload: bytes, slow: bool) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
            if slow and len(got) < 300_000:
                time.sleep(0.001)  # reads late: the answer backs up into the forwarder
        return got


def test_bytes_pass_both_ways_unchanged_and_a_slow_reader_loses_nothing(
    forwarder: tuple[int, subprocess.Popen[bytes], Path],
) -> None:
    port, proc, path = forwarder
    server = DigestServer(path, echo=300_000)  # a 3 MB answer to each
    sizes = [0, 1, 70_000, 5_000_000]
    payloads = [os.urandom(n) for n in sizes]
    answers: dict[int, bytes] = {}
    threads = [
        threading.Thread(target=lambda i=i: answers.__setitem__(i, exchange(port, payloads[i], slow=i % 2 == 1)))
        for i in range(len(sizes))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, payload in enumerate(payloads):
        assert answers[i] == hashlib.sha256(payload).hexdigest().encode() + payload[:10] * 300_000, sizes[i]
    time.sleep(0.2)  # the last closes reach the forwarder
    open_fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    server.listener.close()
    assert open_fds <= 5  # stdin, stdout, stderr, the listener, the selector: no connection left behind


def test_a_connection_the_socket_refuses_is_closed(forwarder: tuple[int, subprocess.Popen[bytes], Path]) -> None:
    port, _, _ = forwarder  # nothing listens on the socket
    try:
        got = exchange(port, b"POST / HTTP/1.1\r\n\r\n", slow=False)  # not left waiting: its timeout would raise
    except ConnectionResetError:  # closed with the request unread
        got = b""
    assert got == b""
