"""The read replica's lag under a creation load, and the failover drill's timings.

    python bench/failover.py [--rounds 3] [--lag-seconds 20] [--workers 8]

Both on a throwaway primary and standby (tests/standby.py: Debian's PostgreSQL
binaries, fsync off, run as `postgres` when root) and Linli `serve` processes
(tests/reliability/servers.py).

- lag: one instance, LINLI_READ_DATABASE_URL on an asynchronous standby;
  `--workers` clients file tickets (each with its own Idempotency-Key) as fast as
  they are answered for `--lag-seconds`, while the lag is read every 0.1 s in
  two ways: Linli's own reading on the standby (service/replica.py: 0 when all
  received WAL is replayed, else now() minus the last replayed commit's time) and
  the primary's pg_stat_replication.replay_lag. Prints creations/s and the lag's
  median, p95 and max.
- failover (`--rounds` times): the drill of tests/reliability/test_failover.py:
  two instances on a multi-host URL, a synchronous standby, 4 clients filing
  with retries; the primary killed after 40 creations and the standby promoted
  at once, then 1 s later (`--promote-after`). Prints, from `pg_ctl stop -m
  immediate`: the primary gone (pg_ctl returned), the standby promoted (`pg_ctl
  promote -w` returned), the first 201 to an attempt sent once the primary was
  gone; the attempts that failed (by answer) and the keys that needed a retry.
  No failure detection: a failover manager's (Patroni's TTL, ~10-30 s) comes on
  top.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from service.config import Settings  # noqa: E402
from service.replica import LAG_SQL  # noqa: E402
from tests.conftest import TEST_SECRET, build_world  # noqa: E402
from tests.reliability.failover import prepare, run_drill, ticket_body, two_instances  # noqa: E402
from tests.reliability.servers import ServerProcess  # noqa: E402
from tests.standby import running_pair  # noqa: E402


def _quantiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {values[-1] * 1000:.1f} ms ({len(values)} samples)"
    )


def lag(seconds: float, workers: int) -> None:
    with running_pair(prepare=prepare) as pair:
        server = ServerProcess(
            pair.primary.url(), "lag", read_database_url=pair.standby.url()
        ).start()
        try:
            settings = Settings(database_url=pair.primary.url(), jwt_secret=TEST_SECRET)
            with httpx.Client(base_url=server.url, timeout=30) as client:
                world = build_world(client, settings)
            stop = threading.Event()
            created = [0] * workers

            def load(worker: int) -> None:
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    n = 0
                    while not stop.is_set():
                        n += 1
                        key = f"lag-{worker}-{n}"
                        answer = client.post(
                            "/v1/tickets",
                            json=ticket_body(world.community_a, key),
                            headers={**world.reporter.headers, "Idempotency-Key": key},
                        )
                        if answer.status_code == 201:
                            created[worker] += 1

            threads = [threading.Thread(target=load, args=(w,)) for w in range(workers)]
            linli_lag: list[float] = []
            replay_lag: list[float] = []
            with (
                psycopg.connect(pair.standby.conninfo(), autocommit=True) as standby,
                psycopg.connect(pair.primary.conninfo(), autocommit=True) as primary,
            ):
                started = time.monotonic()
                for thread in threads:
                    thread.start()
                while time.monotonic() - started < seconds:
                    value = standby.execute(LAG_SQL).fetchone()
                    if value is not None and value[0] is not None:
                        linli_lag.append(float(value[0]))
                    row = primary.execute(
                        "SELECT EXTRACT(EPOCH FROM replay_lag) FROM pg_stat_replication"
                    ).fetchone()
                    if row is not None and row[0] is not None:
                        replay_lag.append(float(row[0]))
                    time.sleep(0.1)
                stop.set()
                for thread in threads:
                    thread.join()
                elapsed = time.monotonic() - started
            print(
                f"lag: {sum(created)} creations in {elapsed:.1f} s ({sum(created) / elapsed:.0f}/s)"
            )
            print(f"  Linli's reading on the standby: {_quantiles(linli_lag)}")
            print(f"  pg_stat_replication.replay_lag: {_quantiles(replay_lag)}")
        finally:
            server.close()


def failover(rounds: int, promote_after: float) -> None:
    for round_ in range(1, rounds + 1):
        with two_instances() as drill:
            run_drill(drill, promote_after=promote_after)
            assert drill.killed_at is not None and drill.promoted_at is not None
            assert drill.first_201_after_kill is not None
            failed = {k: v for k, v in drill.statuses.items() if k != "201"}
            assert drill.down_at is not None
            print(
                f"failover round {round_} (promoted {promote_after} s after): kill -> down "
                f"{(drill.down_at - drill.killed_at) * 1000:.0f} ms, -> promoted "
                f"{(drill.promoted_at - drill.killed_at) * 1000:.0f} ms, -> first 201 "
                f"{(drill.first_201_after_kill - drill.killed_at) * 1000:.0f} ms; "
                f"{len(drill.acknowledged)} tickets, attempts failed {sum(failed.values())} "
                f"{dict(failed)}, keys retried {drill.retried_keys}, "
                f"unexpected {len(drill.unexpected)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--promote-after",
        type=float,
        default=[0.0, 1.0],
        nargs="+",
        help="seconds between the kill and the promotion; each, --rounds times",
    )
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    lag(args.lag_seconds, args.workers)
    for promote_after in args.promote_after:
        failover(args.rounds, promote_after)


if __name__ == "__main__":
    main()
