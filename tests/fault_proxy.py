"""A TCP proxy between psycopg and PostgreSQL that loses the answer to one COMMIT.

    with CommitLosingProxy(admin_params) as proxy:
        url = proxy.params(owner_params).url(password=True)   # connect through the proxy
        proxy.arm()                 # the next transaction that appends events (it NOTIFYs)...
        store.save(aggregate)       # ...commits on the server, but its CommandComplete for
        assert proxy.fired.is_set() # COMMIT goes to nobody and both sides are closed

A real network fault: the server committed, the client sees its connection drop. Only the
server-to-client stream is read (message by message, protocol 3); ``sslmode`` and
``gssencmode`` are turned off in the parameters it hands out, so every server message has a
type byte.

``arm(skip=n)`` lets ``n`` appending transactions through first. ``arm(at="INSERT")`` loses
the connection at the events' INSERT instead, before the COMMIT was sent (the server rolls
back); ``arm(then=f)`` runs ``f`` once both ends are closed, while every client's next bytes
wait (a writer that must get in before the retry does).
``down()`` closes every connection the proxy has and each new one at once, until ``up()``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType

from danvan.infra.database import ConnParams

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class CommitLosingProxy:
    def __init__(self, upstream: ConnParams) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.armed = threading.Event()
        self.fired = threading.Event()
        self.is_down = threading.Event()
        self._at = b"COMMIT"
        self._skip = 0
        self._then: Callable[[], object] | None = None
        self._gate = threading.Event()
        self._gate.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def params(self, params: ConnParams) -> ConnParams:
        """``params`` pointed at the proxy (same role, password and database)."""
        return replace(params, host="127.0.0.1", port=str(self.port),
                       extra={**params.extra, "sslmode": "disable", "gssencmode": "disable"})

    def arm(self, at: str = "COMMIT", then: Callable[[], object] | None = None,
            skip: int = 0) -> None:
        """Lose the connection of the next appending transaction (after ``skip`` of them)
        when the server answers its ``at`` statement (``COMMIT``: committed; ``INSERT``:
        never committed), then run ``then`` before any client's next bytes reach the server."""
        self._at, self._then, self._skip = at.encode(), then, skip
        self.fired.clear()
        self.armed.set()

    def down(self) -> None:
        """Close every connection now and each new one as it comes, until ``up()``."""
        with self._lock:  # with _accept's check under the same lock, no connection slips by
            self.is_down.set()
            for sock in list(self._sockets):
                _close(sock)

    def up(self) -> None:
        self.is_down.clear()

    def __enter__(self) -> CommitLosingProxy:
        self._accepting.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._closing = True
        _close(self.listener)
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)
        self._accepting.join(timeout=5)

    # --- plumbing ------------------------------------------------------------------------

    def _connect_upstream(self) -> socket.socket:
        host, port = self.upstream.host, int(self.upstream.port)
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(f"{host}/.s.PGSQL.{port}")
            return sock
        return socket.create_connection((host, port))

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_down.is_set():
                _close(client)
                continue
            try:
                server = self._connect_upstream()
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self.is_down.is_set():  # went down while this one was connecting
                    _close(client)
                    _close(server)
                    continue
                self._sockets.update((client, server))
            threading.Thread(target=self._client_to_server, args=(client, server),
                             daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client),
                             daemon=True).start()

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)
                _close(sock)

    def _skipped(self) -> bool:
        """Whether this transaction is one to let through."""
        with self._lock:
            if self._skip:
                self._skip -= 1
                return True
            return False

    def _lose(self, client: socket.socket, server: socket.socket) -> None:
        self._gate.clear()
        try:
            self._forget(client, server)
            if self._then is not None:
                self._then()
        finally:
            self._gate.set()
            self.fired.set()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        try:
            first = True
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if first and len(data) >= 8 and \
                        struct.unpack("!i", data[4:8])[0] in (_SSL_REQUEST, _GSSENC_REQUEST):
                    raise AssertionError("connect through CommitLosingProxy.params(): "
                                         "sslmode and gssencmode must be disabled")
                first = False
                self._gate.wait()
                server.sendall(data)
        except OSError:
            pass
        finally:
            self._forget(client, server)

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        """Forward message by message; in a transaction that sent NOTIFY (one that appends
        events), an armed proxy swallows the COMMIT's CommandComplete and closes both ends."""
        buffer = b""
        appending = False
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                buffer += data
                out = bytearray()
                while len(buffer) >= 5:
                    kind = buffer[:1]
                    length = struct.unpack("!i", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    message, buffer = buffer[:1 + length], buffer[1 + length:]
                    body = message[5:]
                    if kind == b"C" and body.startswith(b"NOTIFY"):
                        appending = True
                    elif kind == b"C" and appending and self.armed.is_set() \
                            and body.split(b" ")[0].rstrip(b"\x00") == self._at \
                            and not self._skipped():
                        self.armed.clear()
                        client.sendall(bytes(out))  # everything before the lost answer
                        self._lose(client, server)
                        return
                    elif kind == b"Z" and body == b"I":  # out of the transaction
                        appending = False
                    out += message
                if out:
                    client.sendall(bytes(out))
        except OSError:
            pass
        finally:
            self._forget(client, server)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
