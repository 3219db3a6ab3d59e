"""A fixed-rate (open-loop) load: requests leave on schedule whatever the server
does, and latency is counted from the scheduled time, so a server stall shows
in the percentiles instead of slowing the generator down (coordinated omission).

The generator shares the machine's two cores with the server, so it is lean:
raw HTTP/1.1 over keep-alive asyncio connections, reads pre-rendered
(creations are rendered as they leave: each has its own filer and description). The
httpx client it replaced spent ~1 ms of CPU per request, a third of a core at
300 requests/s taken from the server it measured.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from bench.result import Result

MAX_CONNECTIONS = 64
# uvicorn closes a keep-alive connection idle for 5 s; one idle longer than this
# is not reused (its next request would fail with the server's close, an error
# of the generator's making).
IDLE_REUSE_SECONDS = 4.0


def run_fixed_rate(base_url: str, rate: int, seconds: int, tokens: dict, world: Any):  # type: ignore[no-untyped-def]
    # The generator's own garbage collector must not pause it: a full collection
    # of the benchmark process (80 ms, measured with gc.callbacks) during the run
    # delayed every request in flight and was counted as the server's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        latencies, errors = asyncio.run(_drive(base_url, rate, seconds, tokens, world))
    finally:
        gc.enable()
        gc.unfreeze()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    return Result(
        f"mixed at {rate} req/s (fixed rate)",
        len(latencies) / seconds,
        statistics.median(latencies) if latencies else float("nan"),
        p99,
        errors,
    )


class _Pool:
    """Keep-alive connections to one server; a request waits for a free one."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.freed:
            while True:
                while not self.idle and self.opened >= MAX_CONNECTIONS:
                    await self.freed.wait()
                if not self.idle:
                    break
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < IDLE_REUSE_SECONDS:
                    return reader, writer
                writer.close()  # the server is about to close it, or has
                self.opened -= 1
            self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def give(self, connection: Any, reusable: bool) -> None:
        async with self.freed:
            if reusable:
                self.idle.append((*connection, time.monotonic()))
            else:
                self.opened -= 1
                connection[1].close()
            self.freed.notify()

    def close(self) -> None:
        for _reader, writer, _since in self.idle:
            writer.close()


async def _exchange(pool: _Pool, request: bytes) -> int:
    """Send one request, read its response; the status code."""
    connection = await pool.take()
    reader, writer = connection
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        await pool.give(connection, reusable=False)
        raise
    await pool.give(connection, reusable=True)
    return status


def _get(host: str, path: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


async def _drive(base_url: str, rate: int, seconds: int, tokens: dict, world: Any):  # type: ignore[no-untyped-def]
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    filers = tokens["pool"]
    run = uuid.uuid4().hex[:8]

    def create(k: int) -> bytes:
        """The k-th creation: by resident k of the pool, in turn, a report of its own."""
        filer = filers[k % len(filers)]
        body = json.dumps(
            {
                "category": "repair.plumbing",
                "community_id": filer.community_id,
                "description": f"厨房水管漏水，请尽快处理。3号楼2单元501（r{run}-{k}）",
                "contact_phone": "13900000001",
            },
            ensure_ascii=False,
        ).encode()
        return (
            f"POST /v1/tickets HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {filer.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Idempotency-Key: {uuid.uuid4()}\r\n\r\n"
        ).encode() + body

    page = _get(host, "/v1/tickets?limit=50", tokens["dispatcher"])
    one = _get(host, "/v1/tickets/1", tokens["resident"])
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    pool = _Pool(host, port)

    async def send(scheduled: float, request: bytes) -> None:
        nonlocal errors
        try:
            if await _exchange(pool, request) >= 400:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        latencies.append((time.perf_counter() - scheduled) * 1000)

    start = time.perf_counter() + 0.1
    tasks = []
    total = rate * seconds
    created = 0
    for i in range(total):
        choice = rng.random()
        if choice < 0.30:
            request = create(created)
            created += 1
        else:
            request = page if choice < 0.65 else one
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(scheduled, request)))
    await asyncio.gather(*tasks)
    pool.close()
    return latencies, errors
