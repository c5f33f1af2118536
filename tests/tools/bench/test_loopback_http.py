"""The latency bench's load client: keep-alive HTTP/1.1, bounded in flight, answers by status."""

from __future__ import annotations

import asyncio

from tools.bench.loopback_http import LoopbackPool, post_request


async def _server(answers: dict[bytes, bytes]) -> tuple[asyncio.Server, list[int]]:
    """Answers each request by its path: ``answers[path]`` as the body (status 202).

    ``/close`` closes the connection instead; the list records the most requests any one
    connection had in flight at once (HTTP/1.1 without pipelining: never above 1).
    """
    most = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            path = head.split(b" ")[1]
            if path == b"/close":
                writer.close()
                return
            await asyncio.sleep(0.01)
            # A request sent before this answer (pipelined) would be in the buffer by now.
            most[0] = max(most[0], 1 + (b"HTTP/1.1" in bytes(reader._buffer)))  # type: ignore[attr-defined]
            body = answers[path]
            writer.write(
                b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
                + b"content-length: %d\r\n\r\n" % len(body)
                + body
            )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, most


def test_requests_beyond_the_connections_wait_and_every_one_is_answered() -> None:
    async def run() -> tuple[list[tuple[int, bytes]], list[int], int]:
        server, most = await _server({b"/a": b'{"accepted":["a"]}', b"/b": b"{}"})
        port = server.sockets[0].getsockname()[1]
        pool = LoopbackPool("127.0.0.1", port, connections=2)
        await pool.open()
        got: list[tuple[int, bytes]] = []
        all_done = asyncio.Event()
        peak = 0

        def answer(status: int, body: bytes) -> None:
            got.append((status, body))
            if len(got) == 10:
                all_done.set()

        for i in range(10):
            path = "/a" if i % 2 == 0 else "/b"
            req = post_request(f"127.0.0.1:{port}", path, {"Authorization": "Bearer t"}, b"{}")
            pool.submit(req, answer)
            peak = max(peak, pool.in_flight)
        assert pool.queued == 8
        await asyncio.wait_for(all_done.wait(), 10)
        pool.close()
        server.close()
        return got, most, peak

    got, most, peak = asyncio.run(run())
    assert len(got) == 10 and {s for s, _ in got} == {202}
    assert sorted(b for _, b in got).count(b'{"accepted":["a"]}') == 5
    assert peak == 2 and most == [1]


def test_a_closed_connection_answers_its_request_with_status_0() -> None:
    async def run() -> list[int]:
        server, _ = await _server({})
        port = server.sockets[0].getsockname()[1]
        pool = LoopbackPool("127.0.0.1", port, connections=1)
        await pool.open()
        statuses: list[int] = []
        gone = asyncio.Event()

        def answer(status: int, _body: bytes) -> None:
            statuses.append(status)
            gone.set()

        pool.submit(
            post_request(f"127.0.0.1:{port}", "/close", {}, b""),
            answer,
        )
        await asyncio.wait_for(gone.wait(), 10)
        # No connection left: a new request is answered 0 at once, not queued forever.
        pool.submit(
            post_request(f"127.0.0.1:{port}", "/a", {}, b""), lambda s, _b: statuses.append(s)
        )
        server.close()
        return statuses

    assert asyncio.run(run()) == [0, 0]
