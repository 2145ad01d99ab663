"""A small asyncio HTTP/1.1 load generator for pre-built POST requests (keep-alive).

Closed loop (`saturate`: N connections, each sends as soon as the last answer came) to
find the maximum throughput; open loop (`paced`: requests started at a fixed rate,
whatever the answers do) to measure latency at a given load without hiding queueing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    """Latencies (seconds) of answered requests, statuses, and the wall time."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def describe(self) -> str:
        return (
            f"{self.rate:7.0f} req/s  p50 {self.percentile(50) * 1000:6.1f} ms  "
            f"p99 {self.percentile(99) * 1000:6.1f} ms  statuses {self.statuses}"
            + (f"  errors {self.errors}" if self.errors else "")
        )


def build(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """Raw bytes of one keep-alive POST."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await self.reader.readexactly(length)
        if b"connection: close" in head.lower():
            self.writer.close()
            self.writer = None
        return status


async def _one(connection: _Connection, raw: bytes, result: Result) -> None:
    started = time.perf_counter()
    reused = connection.writer is not None
    try:
        status = await connection.send(raw)
    except (OSError, asyncio.IncompleteReadError):
        connection.writer = None
        if not reused:
            result.errors += 1
            return
        # The server closed an idle keep-alive connection (gunicorn after 2 s), as any
        # HTTP client finds out now and then: send again on a new one.
        try:
            status = await connection.send(raw)
        except (OSError, asyncio.IncompleteReadError):
            result.errors += 1
            connection.writer = None
            return
    result.latencies.append(time.perf_counter() - started)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def _saturate(host: str, port: int, requests: Sequence[bytes], connections: int) -> Result:
    result = Result()
    queue = iter(requests)

    async def run() -> None:
        connection = _Connection(host, port)
        for raw in queue:
            await _one(connection, raw, result)

    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(connections)))
    result.elapsed = time.perf_counter() - started
    return result


async def _paced(
    host: str, port: int, requests: Sequence[bytes], rate: float, warmup: float
) -> Result:
    result, ignored = Result(), Result()
    idle: list[_Connection] = []
    started = time.perf_counter()

    async def fire(raw: bytes, into: Result) -> None:
        connection = idle.pop() if idle else _Connection(host, port)
        await _one(connection, raw, into)
        idle.append(connection)

    tasks = []
    measured_from = started + warmup
    for n, raw in enumerate(requests):
        at = started + n / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(raw, result if at >= measured_from else ignored)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - measured_from
    result.errors += ignored.errors
    return result


def saturate(host: str, port: int, requests: Sequence[bytes], connections: int = 32) -> Result:
    """As fast as the server answers, on `connections` keep-alive connections."""
    return asyncio.run(_saturate(host, port, requests, connections))


def paced(
    host: str, port: int, requests: Sequence[bytes], rate: float, warmup: float = 1.0
) -> Result:
    """Requests started at `rate` a second, whatever the answers do.

    Those of the first `warmup` seconds are sent but not counted: the client's and the
    server's connections are being opened then, which a server running for hours does not
    go through again.
    """
    return asyncio.run(_paced(host, port, requests, rate, warmup))
