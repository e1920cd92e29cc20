"""A lean blocking WebSocket client (RFC 6455) for the benches that read a stream from a server
on the same two cores: it reads frames straight from a buffered socket, where the
``websockets`` library spends about 2.5 ms of CPU per megabyte received in its own thread,
which the server would then lack.

    with TextSocket.open("http://127.0.0.1:8000", "/graphql", "graphql-transport-ws") as ws:
        ws.send('{"type": "connection_init"}')
        message = ws.recv()          # a text message's bytes (UTF-8)

Text and binary messages, fragmented or not; pings are answered; a close frame ends it
(``SocketClosed``). Nothing else (no TLS, no compression, no redirects) is needed on loopback.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import struct
from typing import IO, cast

_TEXT, _BINARY, _CONTINUATION = 0x1, 0x2, 0x0
_CLOSE, _PING, _PONG = 0x8, 0x9, 0xA


class SocketClosed(ConnectionError):
    """The server closed the socket (its code and reason in the message)."""


class TextSocket:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = cast(IO[bytes], sock.makefile("rb", buffering=1 << 20))

    @classmethod
    def open(cls, base_url: str, path: str, subprotocol: str,
             timeout: float = 60.0) -> TextSocket:
        host, _, port = base_url.removeprefix("http://").rstrip("/").partition(":")
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {subprotocol}\r\n"
                      "\r\n").encode())
        client = cls(sock)
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = client._reader.readline()
            if not line:
                raise SocketClosed("closed during the handshake")
            head += line
        if not head.startswith(b"HTTP/1.1 101"):
            client.close()
            raise SocketClosed(f"handshake refused: {head.splitlines()[0]!r}")
        return client

    def send(self, text: str) -> None:
        self._frame(_TEXT, text.encode())

    def recv(self) -> bytes:
        """The next text or binary message, whole."""
        parts: list[bytes] = []
        while True:
            first, second = self._exactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._exactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._exactly(8))[0]
            payload = self._exactly(length) if length else b""
            if opcode == _PING:
                self._frame(_PONG, payload)
            elif opcode == _CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise SocketClosed(f"closed by the server: {code} {payload[2:]!r}")
            elif opcode in (_TEXT, _BINARY, _CONTINUATION):
                parts.append(payload)
                if first & 0x80:
                    return parts[0] if len(parts) == 1 else b"".join(parts)

    def _exactly(self, count: int) -> bytes:
        data = self._reader.read(count)
        if len(data) != count:
            raise SocketClosed("the connection ended")
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        """A client's frame: final, masked (RFC 6455 5.3)."""
        length = len(payload)
        if length < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        mask = os.urandom(4)
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
                  ).to_bytes(length, "big")
        self._sock.sendall(head + mask + masked)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._frame(_CLOSE, struct.pack("!H", 1000))
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> TextSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
