"""bench/ceiling_same.py runs Linli's own statements; when one of them takes a
parameter the ceiling does not fill, the ceiling refuses to start. That should
fail here, when the statement changes, and not in the middle of a benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_same_work_ceiling_fills_every_parameter_of_linlis_statements() -> None:
    env = {
        **os.environ,
        # Never connected: the statements are checked as the module is imported.
        "LINLI_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "LINLI_JWT_SECRET": "ceiling-check-0123456789-0123456789-abcdef",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import bench.ceiling_same"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
