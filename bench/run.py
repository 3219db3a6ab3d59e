"""Load benchmark: Linli against the raw-driver ceiling, in the same run.

    python bench/run.py [--backends postgres,sqlite] [--duration 10] [--tickets 10000]
                        [--rounds 3] [--database linli_bench]

For each backend: a fresh database, a small world and `--tickets` bulk tickets;
Linli served by uvicorn (one worker), driven by wrk with realistic tokens:
ticket creation with an Idempotency-Key, a provider listing a page of 50, a
resident reading one ticket, and a 70/30 read/write mix; then a fixed-rate run
of the mix at --rate requests/s for p99. On PostgreSQL the same-work ceiling
(bench/ceiling_same.py: Linli's own statements of a creation and of the page
through asyncpg, a plain ASGI app) runs beside Linli, driven by the same wrk
scripts (the same residents, tokens, bodies and fresh keys, the same
dispatcher): creation and the page each in `--rounds` rounds of one phase on
either side, alternating (`alternate`); each side's median round goes in the
table, and every round's ratio is printed below it. Then the narrow ceiling
(bench/ceiling.py: one INSERT, the same 50-row read). All with the same uvicorn
settings. Prints a table with each Linli figure as a ratio to both ceilings,
and the ceilings' own figures.

Creations are filed as a pool of distinct residents (resident_pool: a few
thousand, spread over the world's communities, taken in turn), each with a
description of its own, so that the hourly quota (LINLI_TICKETS_PER_HOUR, one
UPSERT per creation) and the duplicate lookup (LINLI_DUPLICATE_WINDOW_MINUTES)
run at their defaults on every creation, as in production, while no resident
comes near the quota and no filing is a duplicate. The pool is sized from the
creations a run can make (pool_size); after the run the quota's counters are
read back to show that every creation was counted and none was refused.
Setting either variable in the environment measures with that value instead
(0 switches it off: the attribution runs of bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRAIN_SECONDS = 1.0
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.rate import run_fixed_rate  # noqa: E402
from bench.result import Result, ms  # noqa: E402
from bench.setup_data import (  # noqa: E402
    BENCH_SECRET,
    Filer,
    build_world,
    bulk_tickets,
    copy_database,
    fresh_database,
    renewed,
    resident_pool,
    tokens,
)
from service.config import Settings  # noqa: E402
from service.telemetry import logs  # noqa: E402

PY = sys.executable
UVICORN = [PY, "-m", "uvicorn", "--workers", "1", "--log-level", "warning", "--no-access-log"]
# uvicorn's --log-config: the JSON lines of `serve` in production (service.telemetry.logs).
LOG_CONFIG = Path(tempfile.gettempdir()) / f"linli-bench-logging-{os.getpid()}.json"
LOG_CONFIG.write_text(json.dumps(logs.config("json")))
THREADS = 2  # wrk -t2: the create scripts interleave the pool by thread

# The quota and the duplicate window Linli runs with: its defaults, unless the
# environment says otherwise.
QUOTA = int(
    os.environ.get("LINLI_TICKETS_PER_HOUR", Settings.model_fields["tickets_per_hour"].default)
)
DUPLICATE_MINUTES = int(
    os.environ.get(
        "LINLI_DUPLICATE_WINDOW_MINUTES",
        Settings.model_fields["duplicate_window_minutes"].default,
    )
)
# Sizing the resident pool: creations per second one Linli worker might reach
# (half again the most measured here, ~1,100), and how many of the quota's 30 an
# hour one resident may file in a run, on average (half: the quota is counted,
# never reached).
MAX_CREATIONS_PER_SECOND = 1600
PER_RESIDENT = 15


def pool_size(duration: int, rate: int, rounds: int) -> int:
    """Residents enough for the creations one run can make in one database:
    Linli's `rounds` create phases and 30% of the mix (all at up to
    MAX_CREATIONS_PER_SECOND) and 30% of the fixed rate, PER_RESIDENT each. The
    same-work ceiling files in its copy of the database, up to half again as
    fast (its rounds alone: below the quota too). Taken in turn, no resident
    files more than ceil(creations / pool) in a phase."""
    creations = duration * (MAX_CREATIONS_PER_SECOND * (rounds + 0.3) + 0.3 * rate)
    return math.ceil(creations / PER_RESIDENT)


LUA_COMMON = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 1000 + tid)
  prefix = string.format("%d-%d-", tid, math.random(1, 1e9))
end
"""


DESCRIPTION = "厨房水管漏水，请尽快处理。3号楼2单元501"


def lua_create(pool: list[Filer]) -> str:
    """Creations with an Idempotency-Key, the n-th (counted over wrk's threads)
    filed by resident n of the pool, in turn, in that resident's community, with a
    description no other request has (a reference number at its end): every
    creation is a new report, counted against its filer's quota."""
    marker = "@@@"
    template = json.dumps(
        {
            "category": "repair.plumbing",
            "community_id": 0,
            "description": f"{DESCRIPTION}（{marker}）",
            "contact_phone": "13900000001",
            "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
        },
        ensure_ascii=False,
    ).replace('"community_id": 0', f'"community_id": {marker}')
    head, middle, tail = template.split(marker)
    tokens = ",\n".join(f'"{f.token}"' for f in pool)
    communities = ", ".join(str(f.community_id) for f in pool)
    return (
        LUA_COMMON
        + f"""
local tokens = {{
{tokens}
}}
local communities = {{ {communities} }}
local head, middle, tail = [[{head}]], [[{middle}]], [[{tail}]]
function request()
  counter = counter + 1
  local n = ((counter - 1) * {THREADS} + tid - 1) % #tokens + 1
  local ref = prefix .. counter
  return wrk.format("POST", "/v1/tickets", {{
    ["Authorization"] = "Bearer " .. tokens[n],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = ref,
  }}, head .. communities[n] .. middle .. ref .. tail)
end
"""
    )


def lua_ceiling_insert(community_id: int) -> str:
    """The ceiling's INSERT, the same request as before the resident pool: one
    fixed body (bench/ceiling.py reads its fields, and no token or key)."""
    body = json.dumps(
        {
            "category": "repair.plumbing",
            "community_id": community_id,
            "description": DESCRIPTION,
            "contact_phone": "13900000001",
            "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
        },
        ensure_ascii=False,
    )
    return (
        LUA_COMMON
        + f"""
local body = [[{body}]]
function request()
  counter = counter + 1
  return wrk.format("POST", "/tickets", {{
    ["Authorization"] = "Bearer ",
    ["Content-Type"] = "application/json",
  }}, body)
end
"""
    )


def lua_get(path: str, token: str) -> str:
    return f"""
function request()
  return wrk.format("GET", "{path}", {{["Authorization"] = "Bearer {token}"}})
end
"""


def lua_mixed(
    create_lua: str, list_path: str, list_token: str, get_path: str, get_token: str
) -> str:
    # 30% creations, 35% provider pages of 50, 35% single-ticket reads.
    create_fn = create_lua.replace("function request()", "local function create()")
    return (
        create_fn
        + f"""
function request()
  local r = math.random()
  if r < 0.30 then return create() end
  if r < 0.65 then
    return wrk.format("GET", "{list_path}", {{["Authorization"] = "Bearer {list_token}"}})
  end
  return wrk.format("GET", "{get_path}", {{["Authorization"] = "Bearer {get_token}"}})
end
"""
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    base_url: str,
    script: str,
    duration: int,
    connections: int,
    name: str,
    *,
    pid: int | None = None,
) -> Result:
    """One wrk phase; with `pid`, also that server process's CPU per request:
    on a shared machine the throughput of a server bound by the database moves
    with what else runs, its own CPU per request much less."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    cpu_before = cpu_seconds(pid) if pid is not None else 0.0
    out = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            handle.name,
            base_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(pid) - cpu_before if pid is not None else None
    os.unlink(handle.name)
    # wrk closes its connections with requests still queued in the server; left
    # to run they would start the next phase over the server's limit of requests
    # in flight, and wrk, which ignores Retry-After, spins on the 503s at once.
    time.sleep(DRAIN_SECONDS)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    result = Result(name, rps, p50, p99, errors)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if cpu is not None and requests:
        result.cpu_ms = cpu * 1000 / requests
    return result


def speed_probe() -> float:
    """Seconds for a fixed loop of pure Python: this VM's speed moves by up to
    2x within minutes (a shared host), so each run prints it next to its phases;
    a ratio whose two sides ran at different speeds is not one."""
    started = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.process_time() - started


PROBES: list[str] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A uvicorn process; reports its peak resident memory (VmHWM) on stop."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        stderr: Path | None = None,
        cwd: Path = ROOT,  # another checkout's `service` (uvicorn imports from cwd): A/B runs
    ) -> None:
        self.port = free_port()
        self.log = stderr.open("ab") if stderr is not None else None
        self.process = subprocess.Popen(
            [*UVICORN, "--port", str(self.port), *args],
            env={**os.environ, **env},
            cwd=cwd,
            stderr=self.log,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server {args} did not start")

    def peak_rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.log is not None:
            self.log.close()


def fixed_rate(base_url: str, rate: int, seconds: int, tokens: dict, world) -> Result:  # type: ignore[no-untyped-def]
    """Open-loop load at `rate` requests/s (latency counted from the scheduled
    send time, so a stall is not hidden by the generator waiting for it)."""
    return run_fixed_rate(base_url, rate, seconds, tokens, world)


def warm_pool(base_url: str, pool: list[Filer]) -> None:
    """One read by every resident of the pool: Linli keeps a token's principal
    for a minute (auth.PrincipalCache), and a resident who files has just opened
    the app. Without it the creations would measure each token's first lookup."""

    def read(filer: Filer) -> int:
        response = client.get(
            "/v1/tickets?limit=1", headers={"Authorization": f"Bearer {filer.token}"}
        )
        return response.status_code

    with (
        httpx.Client(base_url=base_url, timeout=30) as client,
        ThreadPoolExecutor(8) as executor,
    ):
        statuses = set(executor.map(read, pool))
    if statuses != {200}:
        raise RuntimeError(f"warming the resident pool answered {sorted(statuses)}")


def quota_report(url: str, backend: str, pool: list[Filer]) -> str:
    """What the quota counted: the creations, the residents that filed, the most
    one of them filed in one window; and how many were looked up as duplicates."""
    engine = create_engine(url)
    with engine.connect() as connection:
        windows, hits, busiest = connection.execute(
            text(
                "SELECT count(*), coalesce(sum(count), 0), coalesce(max(count), 0) "
                "FROM rate_limit_window WHERE key LIKE 'tickets:%'"
            )
        ).one()
        matched = connection.scalar(
            text("SELECT count(*) FROM ticket WHERE duplicate_key IS NOT NULL")
        )
    engine.dispose()
    if QUOTA and busiest > QUOTA:
        raise RuntimeError(f"a resident filed {busiest} tickets in an hour, over {QUOTA}")
    return (
        f"{backend}: {hits:,} creations counted in {windows:,} windows of {len(pool):,} "
        f"residents (quota {QUOTA}/hour), at most {busiest} for one; {matched:,} filed "
        f"with the duplicate lookup (window {DUPLICATE_MINUTES} min)"
    )


QUOTAS: list[str] = []


Row = tuple[str, Result, Result | None, Result | None]  # backend, Linli, narrow, same-work
CEILINGS: list[tuple[str, Result]] = []
# Per backend and workload, each round's Linli and same-work ceiling figures.
ROUNDS: list[tuple[str, str, list[tuple[Result, Result]]]] = []


def median(results: list[Result]) -> Result:
    """The round with the median throughput (the lower middle of an even count)."""
    return sorted(results, key=lambda r: r.rps)[(len(results) - 1) // 2]


def alternate(
    linli: Server,
    same: Server,
    name: str,
    args: argparse.Namespace,
    script: Callable[[], str],
) -> list[tuple[Result, Result]]:
    """`args.rounds` rounds of one workload, a phase on Linli and one on the
    same-work ceiling in each, Linli first in odd rounds and second in even
    ones: the ratio of one round compares two phases seconds apart, where this
    VM's speed moves over minutes. `script()` gives each round's wrk script,
    which both sides run."""
    d, c = args.duration, args.connections
    rounds = []
    for n in range(args.rounds):
        lua = script()
        sides = [(linli, name), (same, f"same-work {name}")]
        if n % 2 == 1:
            sides.reverse()
        results = {
            label: wrk(server.url, lua, d, c, label, pid=server.process.pid)
            for server, label in sides
        }
        rounds.append((results[name], results[f"same-work {name}"]))
    return rounds


def bench_backend(backend: str, args: argparse.Namespace) -> list[Row]:
    url = fresh_database(backend, args.pg_url, args.database)
    world = build_world(url)
    print(
        f"[{backend}] {args.tickets} tickets in {bulk_tickets(world, args.tickets):.1f}s",
        flush=True,
    )
    resident, dispatcher = tokens(world)
    pool = resident_pool(world, pool_size(args.duration, args.rate, args.rounds))
    # The same-work ceiling runs beside Linli on a copy of its database: the
    # tickets each files wake neither the other's LISTEN nor Linli's jobs
    # (which took 0.6 s of a core per 10 s of the ceiling's creations when both
    # shared one), and each side's table grows by its own creations only.
    same_url = (
        copy_database(args.pg_url, args.database, f"{args.database}_same")
        if backend == "postgres"
        else None
    )
    ticket_id = 1  # bulk ticket 1 belongs to the seeded resident
    list_path = "/v1/tickets?limit=50"
    get_path = f"/v1/tickets/{ticket_id}"

    env = {
        "LINLI_DATABASE_URL": url,
        "LINLI_JWT_SECRET": BENCH_SECRET,
        "LINLI_ENV": "dev",
        # Explicit, so that no .env of the checkout changes what is measured.
        "LINLI_TICKETS_PER_HOUR": str(QUOTA),
        "LINLI_DUPLICATE_WINDOW_MINUTES": str(DUPLICATE_MINUTES),
    }
    before_linli = speed_probe()
    # Linli logs as it would in production: one JSON line per request (written to
    # a file, as a container's log driver would take it, not to this terminal).
    log_file = Path(tempfile.gettempdir()) / f"linli-bench-{backend}-{os.getpid()}.log"
    linli = Server(
        ["--factory", "service.main:create_app", "--log-config", str(LOG_CONFIG)],
        env,
        stderr=log_file,
    )
    # The same-work ceiling runs Linli's PostgreSQL statements: PostgreSQL only.
    # It is configured as Linli (`env`, on the copy) and driven by Linli's own
    # wrk scripts; its residents are Linli's pool (it keeps each `sub`'s user
    # from its first request).
    same = (
        None
        if same_url is None
        else Server(["bench.ceiling_same:app"], {**env, "LINLI_DATABASE_URL": same_url})
    )
    d, c = args.duration, args.connections
    page_script = lua_get(list_path, dispatcher)

    def filers() -> list[Filer]:
        # Residents who have just opened the app: new tokens, each read once by
        # Linli (whose principal cache then holds them for a minute).
        fresh = renewed(world, pool)
        warm_pool(linli.url, fresh)
        return fresh

    same_create = same_page = None
    try:
        # Warm up (fill the caches; the pool's users exist already).
        wrk(linli.url, page_script, 2, 4, "warm")
        wrk(linli.url, lua_get(get_path, resident), 2, 4, "warm")
        pid = linli.process.pid
        if same is None:
            create_script = lua_create(filers())
            create = wrk(linli.url, create_script, d, c, "create (Idempotency-Key)", pid=pid)
            page = wrk(linli.url, page_script, d, c, "provider page of 50", pid=pid)
        else:
            wrk(same.url, page_script, 2, 4, "warm")
            warm_pool(same.url, pool)  # the ceiling keeps each `sub`'s user for good
            creates = alternate(
                linli, same, "create (Idempotency-Key)", args, lambda: lua_create(filers())
            )
            pages = alternate(linli, same, "provider page of 50", args, lambda: page_script)
            ROUNDS.append((backend, "create (Idempotency-Key)", creates))
            ROUNDS.append((backend, "provider page of 50", pages))
            create, same_create = (median([r[i] for r in creates]) for i in (0, 1))
            page, same_page = (median([r[i] for r in pages]) for i in (0, 1))
            same_create.peak_rss_mb = same_page.peak_rss_mb = same.peak_rss_mb()
            CEILINGS.extend([(backend, same_create), (backend, same_page)])
            same.stop()
            same = None
        one = wrk(linli.url, lua_get(get_path, resident), d, c, "resident reads a ticket", pid=pid)
        # Fresh again for the mix and the fixed rate, which file too.
        mixing = filers()
        mixed = wrk(
            linli.url,
            lua_mixed(lua_create(mixing), list_path, dispatcher, get_path, resident),
            d,
            c,
            "mixed 70% read / 30% write",
            pid=pid,
        )
        rate = fixed_rate(
            linli.url,
            args.rate,
            d,
            {"resident": resident, "dispatcher": dispatcher, "pool": mixing},
            world,
        )
        peak = linli.peak_rss_mb()
        for r in (create, page, one, mixed, rate):
            r.peak_rss_mb = peak
    finally:
        linli.stop()
        if same is not None:
            same.stop()
    QUOTAS.append(quota_report(url, backend, pool))

    before_ceiling = speed_probe()
    ceiling = Server(["bench.ceiling:app"], {"CEILING_DATABASE_URL": url})
    try:
        wrk(
            ceiling.url,
            lua_get(f"/tickets?organization_id={world.organization_id}", ""),
            2,
            4,
            "warm",
        )
        pid = ceiling.process.pid
        insert = wrk(
            ceiling.url, lua_ceiling_insert(world.community_id), d, c, "ceiling insert", pid=pid
        )
        read = wrk(
            ceiling.url,
            lua_get(f"/tickets?organization_id={world.organization_id}", ""),
            d,
            c,
            "ceiling 50-row read",
            pid=pid,
        )
        peak = ceiling.peak_rss_mb()
        insert.peak_rss_mb = read.peak_rss_mb = peak
    finally:
        ceiling.stop()
    CEILINGS.extend([(backend, insert), (backend, read)])
    beside = " and the same-work ceiling" if backend == "postgres" else ""
    PROBES.append(
        f"{backend}: {before_linli:.2f} s before Linli{beside}, "
        f"{before_ceiling:.2f} s before the narrow ceiling, {speed_probe():.2f} s after"
    )
    return [
        (backend, create, insert, same_create),
        (backend, page, read, same_page),
        (backend, one, read, None),
        (backend, mixed, None, None),
        (backend, rate, None, None),
    ]


def _cpu(result: Result) -> str:
    return "—" if result.cpu_ms is None else f"{result.cpu_ms:.2f}"


def _against(linli: Result, ceiling: Result | None) -> str:
    """The table's two cells for a ceiling: its req/s, and Linli's ratio to it."""
    if ceiling is None:
        return "— | —"
    return f"{ceiling.rps:,.0f} | {linli.rps / ceiling.rps:.0%}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of creation and of the page, Linli and the same-work ceiling "
        "alternating (PostgreSQL); the table shows each side's median round",
    )
    parser.add_argument(
        "--database",
        default="linli_bench",
        help="name of the database (dropped and created; the SQLite file's name too): "
        "runs of other checkouts on the same server keep apart with their own",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk (make bench does this)", file=sys.stderr)
        return 2
    rows = []
    for backend in args.backends.split(","):
        rows += bench_backend(backend, args)

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print()
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"one uvicorn worker; wrk -t2 -c{args.connections} -d{args.duration}s; "
        f"{args.tickets} tickets in the table; creations by "
        f"{pool_size(args.duration, args.rate, args.rounds):,} residents in turn, "
        f"LINLI_TICKETS_PER_HOUR={QUOTA}, LINLI_DUPLICATE_WINDOW_MINUTES={DUPLICATE_MINUTES}"
    )
    print()
    print(
        "| backend | workload | Linli req/s | p50 ms | p99 ms | errors | CPU ms/req "
        "| narrow ceiling req/s | ratio | same-work ceiling req/s | ratio | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend, linli, ceiling, same in rows:
        print(
            f"| {backend} | {linli.name} | {linli.rps:,.0f} | {linli.p50_ms:.1f} "
            f"| {linli.p99_ms:.1f} | {linli.errors} | {_cpu(linli)} | {_against(linli, ceiling)} "
            f"| {_against(linli, same)} | {linli.peak_rss_mb or 0:.0f} |"
        )
    print()
    print(
        "The ceilings' own figures (same-work: PostgreSQL only). CPU ms/req: the server "
        "process's user + system CPU per request answered (PostgreSQL's work not included; "
        "SQLite's is, in the process)."
    )
    print()
    print(
        "| backend | ceiling workload | req/s | p50 ms | p99 ms | errors | CPU ms/req "
        "| peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for backend, r in CEILINGS:
        print(
            f"| {backend} | {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.errors} | {_cpu(r)} | {r.peak_rss_mb or 0:.0f} |"
        )
    print()
    for backend, linli, _ceiling, same in rows:
        if same is not None and same.cpu_ms and linli.cpu_ms:
            print(
                f"{backend}, {linli.name}: the same-work ceiling's CPU per request is "
                f"{same.cpu_ms / linli.cpu_ms:.0%} of Linli's "
                f"({same.cpu_ms:.2f} against {linli.cpu_ms:.2f} ms)"
            )
    for backend, name, pairs in ROUNDS:
        ratios = [mine.rps / theirs.rps for mine, theirs in pairs]
        cpu_ratios = [
            theirs.cpu_ms / mine.cpu_ms for mine, theirs in pairs if mine.cpu_ms and theirs.cpu_ms
        ]
        print(
            f"{backend}, {name}, round by round against the same-work ceiling: "
            + " / ".join(
                f"{m.rps:,.0f} of {t.rps:,.0f} ({r:.0%})"
                for (m, t), r in zip(pairs, ratios, strict=True)
            )
            + f"; lowest {min(ratios):.0%}; CPU ratio "
            + " / ".join(f"{r:.0%}" for r in cpu_ratios)
        )
    if any(same is not None for *_, same in rows):
        print()
    print("speed probe (5M-iteration Python loop, CPU seconds; lower is faster):")
    for probe in PROBES:
        print(f"  {probe}")
    print("quota and duplicate lookup, read back after Linli's phases:")
    for line in QUOTAS:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
