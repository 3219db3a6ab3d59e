"""What an idle server costs: CPU time of one `python -m service serve` (with
its periodic jobs), or of `python -m service worker`, over a quiet minute, on a
fresh migrated database.

    .venv/bin/python bench/idle.py [--backends sqlite,postgres] [--seconds 60]
                                   [--source DIR] [--command serve|worker]

The process's utime + stime (/proc/PID/stat) are read after it has settled
(its first pass of jobs done) and again `--seconds` later; the difference over
the wall time is the share of one core. `--source` measures another checkout
of Linli (e.g. `git archive REV | tar -x -C DIR`) on the same databases.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.setup_data import BENCH_SECRET, fresh_database  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(url: str, source: Path, seconds: float, settle: float, command: str) -> float:
    port = free_port()
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": url,
        "LINLI_JWT_SECRET": BENCH_SECRET,
        "PYTHONPATH": str(source),
    }
    arguments = ["--port", str(port), "--log-level", "warning"] if command == "serve" else []
    server = subprocess.Popen(
        [sys.executable, "-m", "service", command, *arguments], env=env, cwd=source
    )
    try:
        deadline = time.monotonic() + 30
        while command == "serve":
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        time.sleep(settle)
        before, started = cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        after, ended = cpu_seconds(server.pid), time.monotonic()
        return (after - before) / (ended - started)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=10)
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--command", choices=["serve", "worker"], default="serve")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    for backend in args.backends.split(","):
        url = fresh_database(backend, args.pg_url, "linli_bench_idle")
        share = measure(url, args.source.resolve(), args.seconds, args.settle, args.command)
        print(
            f"{backend:9} {args.command} {args.source}: {share * 100:.2f}% of a core "
            f"({share * args.seconds:.2f} s CPU in {args.seconds:.0f} s idle)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
