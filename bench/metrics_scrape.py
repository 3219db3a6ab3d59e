"""What a Prometheus scrape of GET /metrics costs.

    python bench/metrics_scrape.py [--backends postgres,sqlite] [--tickets 100000]

1. The exposition alone, in this process: the request histogram filled with
   100 route templates x 10 statuses (1,000 series of 11 buckets, far more than
   the API's ~90 operations answer in practice) and every other family, written
   out with prometheus_client's generate_latest, median of 200.
2. The gauges' database read (open tickets GROUP BY status and kind, both
   outboxes' pending count and oldest age) on a fresh database with --tickets
   bulk tickets, uncached, median of 20.
3. The whole route through the app (ASGI, in this process, no network): the
   first scrape (reads the database) and the median of 200 afterwards (the
   read is cached for 5 s).

And what the instrumentation adds to every request: an ASGI app that answers
at once, called 20,000 times bare and inside RequestObservation with the JSON
log line written to a file (as `serve` in production), CPU time per call,
best of 5 rounds each.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client import REGISTRY, generate_latest  # noqa: E402

from bench.setup_data import BENCH_SECRET, build_world, bulk_tickets, fresh_database  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_sessionmaker  # noqa: E402
from service.main import create_app  # noqa: E402
from service.observability.asgi import RequestObservation  # noqa: E402
from service.observability.scrape import read  # noqa: E402
from service.telemetry import instruments, logs  # noqa: E402

ROUTES = 100
STATUSES = (200, 201, 204, 304, 400, 401, 404, 409, 422, 503)


def fill_series() -> int:
    for route in range(ROUTES):
        for status in STATUSES:
            child = instruments.REQUEST_DURATION.labels(
                "GET", f"/v1/bench/route-{route:03d}/{{item_id}}", str(status)
            )
            for seconds in (0.003, 0.02, 0.08, 0.4, 3.0):
                child.observe(seconds)
    return ROUTES * len(STATUSES)


def median_ms(run, times: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def _answer(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def per_request_us(app, calls: int = 20_000, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/tickets",
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer x"), (b"x-request-id", b"a1")],
    }

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        return None

    async def run() -> None:
        for _ in range(calls):
            await app(dict(scope), receive, send)

    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        asyncio.run(run())
        best = min(best, time.process_time() - started)
    return best / calls * 1e6


def overhead() -> None:
    log_file = Path(tempfile.mkdtemp(prefix="linli-scrape-")) / "access.log"
    config = logs.config("json")
    config["handlers"]["linli"] = {
        "class": "logging.FileHandler",
        "filename": str(log_file),
        "formatter": "linli",
        "filters": ["request_id"],
    }
    logging.config.dictConfig(config)
    bare = per_request_us(_answer)
    observed = per_request_us(RequestObservation(_answer))
    logging.getLogger(logs.ACCESS_LOGGER).setLevel(logging.WARNING)
    unlogged = per_request_us(RequestObservation(_answer))
    logging.getLogger(logs.ACCESS_LOGGER).setLevel(logging.NOTSET)
    print(
        f"per request: bare {bare:.1f} us, observed and logged {observed:.1f} us "
        f"(+{observed - bare:.1f} us), observed without the log line {unlogged:.1f} us "
        f"(+{unlogged - bare:.1f} us); CPU time, best of 5 x 20,000"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    overhead()

    series = fill_series()
    body = generate_latest(REGISTRY)
    exposition = median_ms(lambda: generate_latest(REGISTRY), 200)
    print(
        f"exposition: {series:,} request series, {len(body.splitlines()):,} lines, "
        f"{len(body) / 1024:,.0f} KiB: {exposition:.1f} ms (median of 200)"
    )
    for backend in args.backends.split(","):
        url = fresh_database(backend, args.pg_url, "linli_bench_scrape")
        world = build_world(url)
        loaded = bulk_tickets(world, args.tickets)
        settings = Settings(database_url=url, jwt_secret=BENCH_SECRET, env="dev")
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        reading = read(sessions)
        open_tickets = sum(count for count, _, _ in reading.tickets.values())
        database = median_ms(lambda: read(sessions), 20)  # noqa: B023
        with TestClient(create_app(settings, engine)) as client:
            started = time.perf_counter()
            first = client.get("/metrics")
            first_ms = (time.perf_counter() - started) * 1000
            assert first.status_code == 200, first.text
            cached = median_ms(lambda: client.get("/metrics"), 200)  # noqa: B023
        engine.dispose()
        print(
            f"{backend}: {args.tickets:,} tickets ({open_tickets:,} open; loaded in "
            f"{loaded:.0f} s): database read {database:.1f} ms (median of 20); "
            f"GET /metrics {first_ms:.1f} ms first, {cached:.1f} ms cached (median of 200)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
