"""A fixed-rate (open-loop) load: requests leave on schedule whatever the server
does, and latency is counted from the scheduled time, so a server stall shows
in the percentiles instead of slowing the generator down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
import uuid
from typing import Any

import httpx


def run_fixed_rate(base_url: str, rate: int, seconds: int, tokens: dict, world: Any):  # type: ignore[no-untyped-def]
    from bench.run import Result

    latencies, errors = asyncio.run(_drive(base_url, rate, seconds, tokens, world))
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    return Result(
        f"mixed at {rate} req/s (fixed rate)",
        len(latencies) / seconds,
        statistics.median(latencies) if latencies else float("nan"),
        p99,
        errors,
    )


async def _drive(base_url: str, rate: int, seconds: int, tokens: dict, world: Any):  # type: ignore[no-untyped-def]
    resident = {"Authorization": f"Bearer {tokens['resident']}"}
    dispatcher = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    body = {
        "category": "repair.plumbing",
        "community_id": world.community_id,
        "description": "厨房水管漏水，请尽快处理。3号楼2单元501",
        "contact_phone": "13900000001",
    }
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def one(scheduled: float) -> None:
            nonlocal errors
            choice = rng.random()
            if choice < 0.30:
                request = client.post(
                    "/v1/tickets",
                    json=body,
                    headers={**resident, "Idempotency-Key": str(uuid.uuid4())},
                )
            elif choice < 0.65:
                request = client.get("/v1/tickets?limit=50", headers=dispatcher)
            else:
                request = client.get("/v1/tickets/1", headers=resident)
            try:
                response = await request
                if response.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

        start = time.perf_counter() + 0.1
        tasks = []
        for i in itertools.count():
            scheduled = start + i / rate
            if scheduled > start + seconds:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
    return latencies, errors
