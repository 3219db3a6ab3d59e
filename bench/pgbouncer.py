"""Creation throughput on PostgreSQL directly and through PgBouncer.

    python bench/pgbouncer.py [--rounds 3] [--duration 10] [--batches 19] [--batch 100]

bench/run.py's create phase (one uvicorn worker, wrk -t2, creations with an
Idempotency-Key by a pool of residents in turn, quota and duplicate lookup at
their defaults) against one database, in three ways, alternating in each round:

- direct: LINLI_DATABASE_URL is PostgreSQL, psycopg prepares as it does by default;
- direct, unprepared: the same with LINLI_DB_PREPARED_STATEMENTS=false (what
  running behind PgBouncer costs on the server, without PgBouncer);
- PgBouncer: LINLI_DATABASE_URL through a PgBouncer in transaction mode
  (tests/pgbouncer.py, a pool of 20 like Linli's), prepared statements off, the
  feed's LISTEN on LINLI_DATABASE_DIRECT_URL.

Prints a row per phase with the speed probe before it, and PgBouncer's own CPU
time per thousand creations. Then (--batches) the same three one creation at a
time, in interleaved batches: wrk's figures move with whatever else the machine
runs, and a round trip's or a plan's cost shows better in one creation's time.
Needs wrk and pgbouncer (Debian's packages).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402

from bench.run import (  # noqa: E402
    DESCRIPTION,
    DUPLICATE_MINUTES,
    QUOTA,
    Server,
    lua_create,
    pool_size,
    speed_probe,
    warm_pool,
    wrk,
)
from bench.setup_data import (  # noqa: E402
    BENCH_SECRET,
    Filer,
    build_world,
    fresh_database,
    resident_pool,
)
from tests.pgbouncer import (  # noqa: E402
    PgBouncer,
    find_pgbouncer,
    running_pgbouncer,
    server_of,
)

MODES = ("direct", "direct, unprepared", "PgBouncer")
LOG = Path(tempfile.gettempdir()) / f"linli-bench-pgbouncer-{os.getpid()}.log"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batches", type=int, default=19, help="serial batches per mode")
    parser.add_argument("--batch", type=int, default=100, help="creations per serial batch")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    if not shutil.which("wrk") or find_pgbouncer() is None:
        print("needs wrk and pgbouncer: apt-get install wrk pgbouncer", file=sys.stderr)
        return 2

    url = fresh_database("postgres", args.pg_url, "linli_bench_pgbouncer")
    world = build_world(url)
    # Twice what one phase can file (over every phase a resident files a handful
    # of tickets, far below the hourly quota: creations here are ~100-400/s), and
    # one resident per serial creation.
    serial_residents = len(MODES) * (args.batches + 1) * args.batch
    pool = resident_pool(world, max(2 * pool_size(args.duration, 0, 1), serial_residents))
    name = make_url(url).database
    rows = []
    with running_pgbouncer(args.pg_url, pool_size=20) as bouncer:
        env = {
            "LINLI_JWT_SECRET": BENCH_SECRET,
            "LINLI_ENV": "dev",
            "LINLI_TICKETS_PER_HOUR": str(QUOTA),
            "LINLI_DUPLICATE_WINDOW_MINUTES": str(DUPLICATE_MINUTES),
        }
        by_mode = {
            "direct": {
                "LINLI_DATABASE_URL": named(url, "direct"),
                "LINLI_DB_PREPARED_STATEMENTS": "true",
            },
            "direct, unprepared": {
                "LINLI_DATABASE_URL": named(url, "direct, unprepared"),
                "LINLI_DB_PREPARED_STATEMENTS": "false",
            },
            "PgBouncer": {
                "LINLI_DATABASE_URL": named(bouncer.url(name), "PgBouncer"),
                "LINLI_DATABASE_DIRECT_URL": server_of(url).render_as_string(hide_password=False),
                "LINLI_DB_PREPARED_STATEMENTS": "false",
            },
        }
        for round_ in range(1, args.rounds + 1):
            for mode in MODES:
                probe = speed_probe()
                linli = Server(
                    ["--factory", "service.main:create_app"],
                    {**env, **by_mode[mode]},
                    stderr=LOG,
                )
                try:
                    warm_pool(linli.url, pool)
                    cpu = bouncer.cpu_seconds()
                    started = time.strftime("%H:%M:%S", time.gmtime())
                    result = wrk(linli.url, lua_create(pool), args.duration, args.connections, mode)
                    bouncer_cpu = bouncer.cpu_seconds() - cpu
                finally:
                    linli.stop()
                per_thousand = (
                    f"{1000 * bouncer_cpu / (result.rps * args.duration):.2f}"
                    if mode == "PgBouncer" and result.rps
                    else "—"
                )
                rows.append(
                    f"| {round_} | {started} | {mode} | {result.rps:,.0f} | {result.p50_ms:.1f} "
                    f"| {result.p99_ms:.1f} | {result.errors} | {probe:.2f} | {per_thousand} |"
                )
                print(rows[-1], flush=True)
        serial = serial_creations(
            pool, {m: {**env, **by_mode[m]} for m in MODES}, url, bouncer, args
        )

    print()
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {os.cpu_count()} cores, {cpu_model}; Python {platform.python_version()}; "
        f"one uvicorn worker; wrk -t2 -c{args.connections} -d{args.duration}s; "
        f"creations by {len(pool):,} residents in turn"
    )
    print()
    print(
        "| round | start (UTC) | mode | creations/s | p50 ms | p99 ms | errors "
        "| speed probe s | PgBouncer CPU s per 1,000 |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    if serial:
        print()
        print(
            f"one creation at a time, {args.batches} interleaved batches of {args.batch} per "
            "mode: medians over the batches, ms per creation (CPU: user + system)"
        )
        print()
        print(
            "| mode | wall | CPU: Linli | CPU: PostgreSQL | CPU: PgBouncer | CPU in all "
            "| CPU in all, fastest batch |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for mode, batches in serial.items():
            med = {k: statistics.median(b[k] for b in batches) for k in batches[0]}
            total = min(b["linli"] + b["postgres"] + b["pgbouncer"] for b in batches)
            print(
                f"| {mode} | {med['wall']:.2f} | {med['linli']:.2f} | {med['postgres']:.2f} "
                f"| {med['pgbouncer']:.2f} "
                f"| {med['linli'] + med['postgres'] + med['pgbouncer']:.2f} | {total:.2f} |"
            )
    return 0


def named(url: str | URL, mode: str) -> str:
    """`url` with an application_name that tells the mode's server backends apart."""
    slug = "linli-bench-" + mode.replace(", ", "-").lower()
    named_url = make_url(url).update_query_dict({"application_name": slug})
    return named_url.render_as_string(hide_password=False)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serial_creations(
    pool: list[Filer],
    envs: dict[str, dict[str, str]],
    url: str,
    bouncer: PgBouncer,
    args: argparse.Namespace,
) -> dict[str, list[dict[str, float]]]:
    """Creations one after another on one connection, the three servers up at once
    and their batches interleaved. Each batch's time and CPU per creation (ms) of
    the Linli process, of the PostgreSQL backends serving it (found by their
    application_name) and of PgBouncer: CPU time moves far less than wall time
    with whatever else the machine runs, and shows where a round trip or a
    statement's planning goes."""
    if not args.batches:
        return {}
    per_mode = (args.batches + 1) * args.batch  # the first batch warms up, untimed
    if len(pool) < len(MODES) * per_mode:
        raise SystemExit(f"the pool has {len(pool)} residents, fewer than the batches need")
    residents = {m: pool[i * per_mode : (i + 1) * per_mode] for i, m in enumerate(MODES)}
    watcher = psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    )

    def backends_cpu(mode: str) -> dict[int, float]:
        """CPU seconds by backend pid. A backend may come (PgBouncer opens one) or
        go between two looks: a delta counts the new ones whole."""
        pids = watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (make_url(envs[mode]["LINLI_DATABASE_URL"]).query["application_name"],),
        ).fetchall()
        seconds = {}
        for (pid,) in pids:
            with contextlib.suppress(OSError):  # gone in between
                seconds[pid] = cpu_seconds(pid)
        return seconds

    servers = {
        m: Server(["--factory", "service.main:create_app"], envs[m], stderr=LOG) for m in MODES
    }
    batches: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    try:
        for mode in MODES:
            warm_pool(servers[mode].url, residents[mode])
        clients = {m: httpx.Client(base_url=servers[m].url, timeout=30) for m in MODES}
        for batch in range(args.batches + 1):
            for mode in MODES:
                filers = residents[mode][batch * args.batch : (batch + 1) * args.batch]
                pid = servers[mode].process.pid
                before = (cpu_seconds(pid), backends_cpu(mode), bouncer.cpu_seconds())
                started = time.perf_counter()
                for filer in filers:
                    response = clients[mode].post(
                        "/v1/tickets",
                        json={
                            "category": "repair.plumbing",
                            "community_id": filer.community_id,
                            "description": f"{DESCRIPTION}（{uuid.uuid4().hex}）",
                            "contact_phone": "13900000001",
                        },
                        headers={
                            "Authorization": f"Bearer {filer.token}",
                            "Idempotency-Key": uuid.uuid4().hex,
                        },
                    )
                    if response.status_code != 201:
                        raise RuntimeError(f"{mode}: {response.status_code} {response.text}")
                wall = time.perf_counter() - started
                after = (cpu_seconds(pid), backends_cpu(mode), bouncer.cpu_seconds())
                if not batch:
                    continue
                per = 1000 / len(filers)
                batches[mode].append(
                    {
                        "wall": wall * per,
                        "linli": (after[0] - before[0]) * per,
                        "postgres": sum(t - before[1].get(p, 0.0) for p, t in after[1].items())
                        * per,
                        # Only its own mode's batches move PgBouncer.
                        "pgbouncer": (after[2] - before[2]) * per if mode == "PgBouncer" else 0,
                    }
                )
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
        watcher.close()
    return batches


if __name__ == "__main__":
    raise SystemExit(main())
