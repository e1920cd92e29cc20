"""A lean HTTP/1.1 keep-alive client on asyncio streams, for load generators that share the
machine with the server they measure: a request costs tens of microseconds of CPU here, where
a general-purpose client spends about a millisecond, which the server would then lack.

    connection = await KeepAlive.open("127.0.0.1", 8000)
    status, body = await connection.send("POST", "/api/v1/...", {"Authorization": ...}, data)
    connection.close()

Responses are read by ``Content-Length`` or chunked transfer encoding; nothing else (no
redirects, no TLS, no compression) is needed on loopback.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")
_CHUNKED = re.compile(rb"(?im)^transfer-encoding:\s*chunked\s*$")


class KeepAlive:
    """One connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 host: str) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host
        self.head = b""
        """The last response's status line and headers."""

    @classmethod
    async def open(cls, host: str, port: int) -> KeepAlive:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    def request_bytes(self, method: str, path: str, headers: Mapping[str, str],
                      body: bytes = b"") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def send(self, method: str, path: str, headers: Mapping[str, str],
                   body: bytes = b"") -> tuple[int, bytes]:
        """The response's status and body."""
        return await self.send_raw(self.request_bytes(method, path, headers, body))

    async def send_raw(self, request: bytes) -> tuple[int, bytes]:
        self._writer.write(request)
        head = self.head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = _LENGTH.search(head)
        if length is not None:
            return status, await self._reader.readexactly(int(length.group(1)))
        if _CHUNKED.search(head):
            return status, await self._read_chunks()
        return status, b""

    async def _read_chunks(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    def close(self) -> None:
        self._writer.close()


class Blocking:
    """``KeepAlive`` for a sequential client without a loop of its own: one connection, each
    request run to completion on a private loop.

        with Blocking("http://127.0.0.1:8000", {"Authorization": ...}) as client:
            status, body = client.post("/graphql", payload)
    """

    def __init__(self, base_url: str, headers: Mapping[str, str]) -> None:
        host, _, port = base_url.removeprefix("http://").rstrip("/").partition(":")
        self._loop = asyncio.new_event_loop()
        self._connection = self._loop.run_until_complete(KeepAlive.open(host, int(port)))
        self._headers = {**headers, "Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self._loop.run_until_complete(
            self._connection.send("POST", path, self._headers, body))

    def __enter__(self) -> Blocking:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()
        self._loop.close()
