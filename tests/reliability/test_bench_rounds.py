"""bench/run.py's rounds against the same-work ceiling: the two sides alternate
and each side's median round is reported; the resident pool stays below the
hourly quota over every phase a run has. No server and no wrk here: `wrk` is
replaced by a recorder."""

from __future__ import annotations

import argparse
import math
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from bench import run, setup_data
from bench.result import Result
from service.config import Settings


def _servers() -> tuple[Any, Any]:
    linli = SimpleNamespace(url="http://linli", process=SimpleNamespace(pid=1))
    same = SimpleNamespace(url="http://same", process=SimpleNamespace(pid=2))
    return linli, same


def test_rounds_alternate_and_each_side_reports_its_median_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []
    speeds = iter([100.0, 200.0, 90.0, 210.0, 110.0, 190.0])

    def fake_wrk(url: str, script: str, *_args: Any, pid: int, **_kw: Any) -> Result:
        log.append(f"{url.removeprefix('http://')} {script}")
        return Result("phase", next(speeds), 1.0, 2.0, 0, cpu_ms=1.0)

    monkeypatch.setattr(run, "wrk", fake_wrk)
    linli, same = _servers()
    args = argparse.Namespace(rounds=3, duration=1, connections=1)
    scripts = iter(["first", "second", "third"])
    rounds = run.alternate(linli, same, "create", args, lambda: next(scripts))

    # Each round's script (new tokens, warmed) is made before its first phase
    # and run by both sides; Linli goes first, then second, then first.
    assert log == [
        *["linli first", "same first"],
        *["same second", "linli second"],
        *["linli third", "same third"],
    ]
    assert [(mine.rps, theirs.rps) for mine, theirs in rounds] == [
        (100.0, 200.0),
        (210.0, 90.0),
        (110.0, 190.0),
    ]
    assert run.median([mine for mine, _ in rounds]).rps == 110.0
    assert run.median([Result("x", rps, 0, 0, 0) for rps in (4.0, 1.0, 3.0, 2.0)]).rps == 2.0


@pytest.mark.parametrize("rounds", [1, 3, 5])
def test_no_resident_comes_near_the_quota_at_the_most_a_run_can_file(rounds: int) -> None:
    duration, rate = 10, 300
    quota = Settings.model_fields["tickets_per_hour"].default
    pool = run.pool_size(duration, rate, rounds)
    most = run.MAX_CREATIONS_PER_SECOND * duration
    # Each phase takes the pool in turn from its first resident. Linli's
    # database: its rounds, the mix and the fixed rate; the same-work ceiling's
    # copy: its rounds, half again as fast.
    linli = [most] * rounds + [math.ceil(0.3 * most), math.ceil(0.3 * rate * duration)]
    ceiling = [math.ceil(1.5 * most)] * rounds
    for phases in (linli, ceiling):
        assert sum(math.ceil(creations / pool) for creations in phases) < quota


def test_renewed_tokens_are_other_strings_for_the_same_residents() -> None:
    world: Any = SimpleNamespace(url="sqlite://")
    settings = Settings(database_url="sqlite://", jwt_secret=setup_data.BENCH_SECRET)
    pool = [setup_data._filer(settings, "bench-resident-00001", 7)]
    # Most likely minted within the same second as the first: renewed then waits.
    fresh = setup_data.renewed(world, pool)
    assert fresh[0].token != pool[0].token
    claims = [jwt.decode(f.token, options={"verify_signature": False}) for f in (*pool, *fresh)]
    assert {(c["sub"], c["community_id"], c["role"]) for c in claims} == {
        ("bench-resident-00001", 7, "resident")
    }
    assert fresh[0].community_id == 7 and fresh[0].sub == "bench-resident-00001"
