"""A deliberately small HTTP/1.1 client for the latency bench's load: cheap per request.

The load client is not the system under test, but on a 2-core machine it shares the
cores with what it measures: at 1,000 single-event POSTs/s aiohttp spent ~330 µs of CPU
per POST (a task, a request object with its header multidict, a response parser, a
payload reader), about a third of a core taken from the API, the worker and the broker.
This client keeps ``connections`` keep-alive connections open on plain asyncio
protocols and writes requests whose bytes were encoded before the run; the answer's
status line and ``Content-Length`` are all it parses. It is still a real HTTP/1.1 client
over loopback: one request per event on a connection, the next one only after the
answer (no pipelining), so at most ``connections`` requests are in flight; requests
beyond that wait in the client, and their wait counts in the bench's latency (measured
from when each was due).

Not a general client: no chunked answers, redirects, TLS or reconnects (the API answers
every request of the bench with a ``Content-Length``; a closed connection fails its
request and the connection leaves the pool).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import cast

#: (HTTP status, body); status 0: no answer (connection closed or unparsable)
Done = Callable[[int, bytes], None]


def post_request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """One POST's bytes on the wire, encoded once before the run."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self, pool: LoopbackPool) -> None:
        self._pool = pool
        self._buf = bytearray()
        self._done: Done | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes, done: Done) -> None:
        assert self.transport is not None
        self._done = done
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        length = _content_length(buf, head_end)
        if length is None:
            self._fail()
            return
        total = head_end + 4 + length
        if len(buf) < total:
            return
        status = int(buf[9:12])
        body = bytes(buf[head_end + 4 : total])
        del buf[:total]
        done, self._done = self._done, None
        if done is not None:
            done(status, body)
        self._pool.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._pool.lost(self)
        done, self._done = self._done, None
        if done is not None:
            done(0, b"")

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _content_length(buf: bytearray, head_end: int) -> int | None:
    # Header names are case-insensitive; uvicorn writes them in lower case.
    head = bytes(buf[:head_end]).lower()
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return None
    end = head.find(b"\r\n", at + 2)
    return int(head[at + 17 : end if end >= 0 else len(head)])


class LoopbackPool:
    """``connections`` keep-alive connections to one server; :meth:`submit` never blocks."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host = host
        self.port = port
        self.size = connections
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._waiting: deque[tuple[bytes, Done]] = deque()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self.size):
            _, conn = await loop.create_connection(lambda: _Connection(self), self.host, self.port)
            self._open.add(conn)
            self._idle.append(conn)

    @property
    def in_flight(self) -> int:
        return len(self._open) - len(self._idle)

    @property
    def queued(self) -> int:
        return len(self._waiting)

    def submit(self, request: bytes, done: Done) -> None:
        """Send ``request`` on an idle connection, or queue it for the next one free."""
        if self._idle:
            self._idle.pop().send(request, done)
        elif self._open:
            self._waiting.append((request, done))
        else:
            done(0, b"")

    def idle(self, conn: _Connection) -> None:
        if self._waiting:
            conn.send(*self._waiting.popleft())
        else:
            self._idle.append(conn)

    def lost(self, conn: _Connection) -> None:
        self._open.discard(conn)
        if conn in self._idle:
            self._idle.remove(conn)
        if not self._open:
            while self._waiting:
                self._waiting.popleft()[1](0, b"")

    def close(self) -> None:
        for conn in list(self._open):
            if conn.transport is not None:
                conn.transport.close()
