"""Loopback TCP -> the timing proxy's Unix socket, inside an attempt's container (no network but loopback).

For scaffolds whose HTTP client cannot speak to a Unix socket: an adapter copies this file into the container and
starts it (as the agent's user) before the scaffold, which is then pointed at http://127.0.0.1:PORT. Standard
library only: it runs on whatever Python the task image has. Bytes go through unchanged, both ways; it prints
"ready" once it listens, so the adapter can wait for it.

    python3 forwarder.py SOCKET_PATH PORT

One thread and a selector: every hop it adds is on a scaffold's TTFT, and a thread per direction, started for each
connection, cost ~0.6 ms of a new connection's first answer (bench/proxy_overhead.py). A connection's two sockets
are read as data comes and written at once; what a socket will not take yet waits, and its source is not read
until it has gone (a slow reader holds back its writer, as it would on a direct connection). An end of input is
passed on as a half-close once what came before it has been written; the pair closes when both ways have ended.
"""

import contextlib
import selectors
import socket
import sys

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class Pair:
    """A scaffold's TCP connection and its connection to the proxy's socket."""

    def __init__(self, selector: selectors.BaseSelector, client: socket.socket, upstream: socket.socket) -> None:
        self.selector = selector
        self.peer = {client: upstream, upstream: client}
        self.waiting = {client: b"", upstream: b""}  # bytes not yet taken by each socket
        self.reading = {client: True, upstream: True}
        self.ended = {client: False, upstream: False}  # its input ended (passed on once `waiting` is written)
        self.events = {client: 0, upstream: 0}  # what the selector watches for, per socket (0: unregistered)
        for sock in self.peer:
            self.watch(sock)

    def ready(self, sock: socket.socket, events: int) -> None:
        if events & WRITE:
            self.write(sock, b"")
        if events & READ and sock in self.waiting and self.reading[sock]:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if data:
                self.write(self.peer[sock], data)
            else:
                self.reading[sock] = False
                self.ended[sock] = True
                self.watch(sock)
                self.pass_end(sock)

    def write(self, sock: socket.socket, data: bytes) -> None:
        if sock not in self.waiting:  # closed
            return
        data = self.waiting[sock] + data
        sent = 0
        try:
            while sent < len(data):
                sent += sock.send(data[sent:])
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.close()
            return
        self.waiting[sock] = data[sent:]
        source = self.peer[sock]
        self.reading[source] = not self.waiting[sock] and not self.ended[source]  # hold the source back meanwhile
        self.watch(sock)
        self.watch(source)
        if not self.waiting[sock] and self.ended[source]:
            self.pass_end(source)

    def pass_end(self, source: socket.socket) -> None:
        """`source`'s input ended: its peer's output ends too, once what was waiting for it is written."""
        peer = self.peer[source]
        if self.waiting.get(peer):
            return
        with contextlib.suppress(OSError):
            peer.shutdown(socket.SHUT_WR)
        if all(self.ended.values()):
            self.close()

    def watch(self, sock: socket.socket) -> None:
        if sock not in self.waiting:
            return
        events = (READ if self.reading[sock] else 0) | (WRITE if self.waiting[sock] else 0)
        before, self.events[sock] = self.events[sock], events
        if events == before:
            return
        if not before:
            self.selector.register(sock, events, self)
        elif events:
            self.selector.modify(sock, events, self)
        else:
            self.selector.unregister(sock)

    def close(self) -> None:
        for sock in list(self.waiting):
            if self.events[sock]:
                self.selector.unregister(sock)
            sock.close()
        self.waiting.clear()


def accept(listener: socket.socket, selector: selectors.BaseSelector, path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # out of descriptors, say: this connection is refused, the next may not be
            return
        # Connected at once (not once the request is in hand): the proxy accepts it while the request is read
        # here, on the other core, rather than after (~0.1 ms of TTFT, measured both ways).
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(path)  # a local socket: at once, or refused
        except OSError:
            client.close()
            upstream.close()
            continue
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a streamed token must not wait for the next
        client.setblocking(False)
        upstream.setblocking(False)
        # A client sends its request right after connecting: read it now, not after another turn of the selector.
        Pair(selector, client, upstream).ready(client, READ)


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, READ, None)
    print("ready", flush=True)
    while True:
        for key, events in selector.select():
            if key.fileobj is listener:
                accept(listener, selector, path)
            elif key.data is not None:
                key.data.ready(key.fileobj, events)


if __name__ == "__main__":
    main()
