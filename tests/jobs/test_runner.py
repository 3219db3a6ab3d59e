"""The job runner sleeps until a turn is due, runs it on time, and runs a woken
job at once: once between all the instances that were woken together."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import utcnow
from service.jobs import JOBS, Job
from service.jobs.models import JobLease
from service.jobs.runner import run_forever, run_pass
from service.jobs.wake import SqliteWatermark, Wakeup
from tests.conftest import BACKEND, TEST_SECRET, build_world
from tests.feed.helpers import file
from tests.feed.live import live_database, serve
from tests.webhooks.receiver import Receiver, running


@contextmanager
def runner(engine: Engine, settings: Settings, only: list[str], **options: Any) -> Iterator[Wakeup]:
    """run_forever on a loop of its own in a thread, as `serve` runs it."""
    loop = asyncio.new_event_loop()
    wakeup = Wakeup()
    started = threading.Event()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        started.set()
        await run_forever(engine, settings, stop[0], wakeup, only=only, **options)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield wakeup
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(15)
        assert not thread.is_alive()
        loop.close()


def _until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _register(monkeypatch: pytest.MonkeyPatch, name: str, every: float, **options: Any) -> list:
    starts: list[float] = []

    def run(_context: Any) -> int:
        starts.append(time.monotonic())
        return 1

    job = Job(name=name, every=dt.timedelta(seconds=every), run=run, **options)
    monkeypatch.setitem(JOBS, name, job)
    return starts


def test_a_due_job_runs_on_time_and_nothing_runs_between_turns(
    live_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = _register(monkeypatch, "test.every_3s", 3)
    lease_statements: list[float] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "job_lease" in statement:
            lease_statements.append(time.monotonic())

    event.listen(live_engine, "before_cursor_execute", seen)
    try:
        with runner(live_engine, settings, ["test.every_3s"]):
            assert _until(lambda: len(starts) >= 3, 20)
    finally:
        event.remove(live_engine, "before_cursor_execute", seen)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    # On time: not before its interval, and soon after it (a loaded machine's slack).
    assert all(2.9 <= gap <= 4.5 for gap in gaps[:2]), gaps
    # Idle between turns: not one statement on the schedule (the old runner
    # claimed every job once a second).
    quiet = [t for t in lease_statements if starts[0] + 0.5 < t < starts[1] - 0.2]
    assert quiet == []


def test_a_wakeup_runs_the_woken_jobs_at_once_and_only_them(
    live_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    woken = _register(monkeypatch, "test.woken", 3600, on_wake=True)
    hourly = _register(monkeypatch, "test.hourly", 3600)
    with runner(live_engine, settings, ["test.woken", "test.hourly"]) as wakeup:
        assert _until(lambda: len(woken) == 1 and len(hourly) == 1, 10)
        for turn in (2, 3):
            time.sleep(0.6)  # past the pause between woken passes
            asked = time.monotonic()
            wakeup.wake_threadsafe()
            assert _until(lambda turn=turn: len(woken) == turn, 5)
            assert woken[-1] - asked < 2.0
    assert len(hourly) == 1


def test_a_long_turn_holds_up_no_other_job_and_stops_with_the_runner(
    live_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn of one job that takes long (the webhooks', waiting for a tarpit) must
    not hold up another job's turns (the SLA sweep, every 30 s); when the runner
    stops, the long turn takes no new batch and the runner waits for it."""
    quick = _register(monkeypatch, "test.quick", 0.3)
    batches: list[float] = []

    def slow(context: Any) -> int:
        while context.more_time():  # a batch at a time, as the real jobs do
            batches.append(time.monotonic())
            time.sleep(0.2)
        return len(batches)

    monkeypatch.setitem(JOBS, "test.slow", Job("test.slow", dt.timedelta(hours=1), slow))
    with runner(live_engine, settings, ["test.slow", "test.quick"]):
        assert _until(lambda: len(batches) >= 1, 10)
        began = len(quick)
        time.sleep(2.5)
        # Still in its first turn (it runs until stopped), and the other job went
        # on meanwhile.
        assert len(batches) > 5
        assert len(quick) - began >= 4, quick
    # Stopping ended the long turn (no more batches) and gave its lease back.
    ended = len(batches)
    time.sleep(0.5)
    assert len(batches) == ended
    with Session(live_engine) as session:
        lease = session.get(JobLease, "test.slow")
        assert lease is not None and lease.leased_until is None and lease.runs == 1


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL has NOTIFY")
def test_on_sqlite_a_commit_during_a_turn_wakes_the_next_one(
    live_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's commit that lands while a woken turn runs is seen after it
    (a watermark, not "anything changed since my turn": that forgot it)."""
    starts: list[float] = []

    def run(_context: Any) -> int:
        starts.append(time.monotonic())
        if len(starts) == 2:  # the second turn: "serve" commits meanwhile
            with live_engine.begin() as connection:
                connection.execute(
                    JobLease.__table__.insert().values(name="test.marker", next_run_at=utcnow())
                )
        return 1

    monkeypatch.setitem(
        JOBS,
        "test.woken",
        Job(name="test.woken", every=dt.timedelta(hours=1), run=run, on_wake=True),
    )
    watch = SqliteWatermark(live_engine, "SELECT count(*) FROM job_lease")
    try:
        with runner(live_engine, settings, ["test.woken"], watch=watch):
            assert _until(lambda: len(starts) == 1, 10)
            # Its first turn made a job_lease row: that is news too.
            assert _until(lambda: len(starts) == 2, 5)
            assert _until(lambda: len(starts) == 3, 5)
    finally:
        watch.close()


def test_instances_woken_together_take_one_turn_between_them(
    live_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    woken = _register(monkeypatch, "test.woken", 3600, on_wake=True)
    only = ["test.woken"]
    t0 = utcnow()
    assert run_pass(live_engine, settings, t0, owner="a", only=only).done == {"test.woken": 1}
    # Not due, not woken: nothing; and the instance may sleep until the hour is up
    # (or the longest sleep).
    idle = run_pass(live_engine, settings, t0 + dt.timedelta(seconds=1), owner="a", only=only)
    assert idle.done == {} and idle.next_due > utcnow() + dt.timedelta(seconds=50)

    # NOTIFY reaches instances a and b; b's pass comes first and takes the turn.
    wake = t0 + dt.timedelta(seconds=2)
    first = run_pass(
        live_engine, settings, wake + dt.timedelta(seconds=1), owner="b", only=only, woken_at=wake
    )
    assert first.done == {"test.woken": 1} and first.woken_served
    second = run_pass(
        live_engine, settings, wake + dt.timedelta(seconds=2), owner="a", only=only, woken_at=wake
    )
    assert second.done == {} and second.woken_served
    assert len(woken) == 2

    # A turn that began before the wake-up is still running on c: a owes a turn,
    # and looks again within a second rather than at the hour.
    began = t0 + dt.timedelta(seconds=5)
    with Session(live_engine) as session:
        session.execute(
            update(JobLease)
            .where(JobLease.name == "test.woken")
            .values(
                last_started_at=began,
                leased_until=began + dt.timedelta(minutes=5),
                leased_by="c",
            )
        )
        session.commit()
    wake = began + dt.timedelta(seconds=1)
    blocked = run_pass(
        live_engine, settings, wake + dt.timedelta(seconds=1), owner="a", only=only, woken_at=wake
    )
    assert blocked.done == {} and not blocked.woken_served
    assert blocked.next_due <= utcnow() + dt.timedelta(seconds=1)
    # c finishes; a's next look takes the turn it owes.
    with Session(live_engine) as session:
        session.execute(
            update(JobLease)
            .where(JobLease.name == "test.woken")
            .values(leased_until=None, leased_by=None, next_run_at=began + dt.timedelta(hours=1))
        )
        session.commit()
    after = run_pass(
        live_engine, settings, wake + dt.timedelta(seconds=2), owner="a", only=only, woken_at=wake
    )
    assert after.done == {"test.woken": 1} and after.woken_served


def test_a_job_may_ask_for_its_next_turn_sooner(
    live_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def retry_soon(context: Any) -> int:
        context.run_again_by(context.now + dt.timedelta(seconds=5))
        return 0

    monkeypatch.setitem(
        JOBS, "test.retry", Job(name="test.retry", every=dt.timedelta(hours=1), run=retry_soon)
    )
    t0 = utcnow()
    assert "test.retry" in run_pass(live_engine, settings, t0, only=["test.retry"]).done
    with Session(live_engine) as session:
        assert session.scalar(
            select(JobLease.next_run_at).where(JobLease.name == "test.retry")
        ) == t0 + dt.timedelta(seconds=5)


# --- webhooks: delivered when the event commits, not at the next poll -----------

FAST = {
    "webhook_allow_targets": "127.0.0.0/8,localhost",
    "webhook_timeout_seconds": 2.0,
}
# The webhook job's interval is a minute: a delivery well inside that was woken.
PROMPT_SECONDS = 5.0


def _delivered_within(http: httpx.Client, world: Any, receiver: Receiver) -> float:
    ticket = file(http, world.reporter, world.community_a)
    filed = time.monotonic()

    def arrived() -> bool:
        with receiver.lock:
            bodies = [json.loads(body) for body in receiver.bodies.values()]
        return any(b["ticket_id"] == ticket["id"] and b["type"] == "ticket.created" for b in bodies)

    assert _until(arrived, 30), "the webhook never came"
    return time.monotonic() - filed


def _webhook_job_ran(engine: Engine) -> bool:
    with Session(engine) as session:
        runs = session.scalar(select(JobLease.runs).where(JobLease.name == "webhooks.deliver"))
    return bool(runs)


def test_serve_delivers_a_webhook_as_its_event_commits() -> None:
    with live_database("linli_wake") as (url, engine):
        settings = Settings(database_url=url, jwt_secret=TEST_SECRET, env="dev", **FAST)
        with (
            serve(settings, engine, run_jobs=True) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as http,
            running(Receiver()) as receiver,
        ):
            world = build_world(http, settings)
            hook = http.post(
                "/v1/webhooks", json={"url": receiver.url}, headers=world.dispatcher.headers
            )
            assert hook.status_code == 201, hook.text
            receiver.secret = hook.json()["secret"]
            assert _until(lambda: _webhook_job_ran(engine), 20)
            time.sleep(1.0)  # the first turns are over; the next regular one is a minute away
            for _ in range(2):
                assert _delivered_within(http, world, receiver) < PROMPT_SECONDS


def test_a_worker_beside_serve_delivers_a_webhook_as_its_event_commits() -> None:
    """No in-process commit hook reaches a separate worker: on PostgreSQL it hears
    the NOTIFY, on SQLite it sees the database's data_version move."""
    with live_database("linli_wake") as (url, engine):
        settings = Settings(database_url=url, jwt_secret=TEST_SECRET, env="dev", **FAST)
        with (
            serve(settings, engine) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as http,
            running(Receiver()) as receiver,
        ):
            world = build_world(http, settings)
            hook = http.post(
                "/v1/webhooks", json={"url": receiver.url}, headers=world.dispatcher.headers
            )
            assert hook.status_code == 201, hook.text
            receiver.secret = hook.json()["secret"]
            env = {
                **os.environ,
                "LINLI_DATABASE_URL": url,
                "LINLI_JWT_SECRET": TEST_SECRET,
                "LINLI_ENV": "dev",
                "LINLI_WEBHOOK_ALLOW_TARGETS": FAST["webhook_allow_targets"],
            }
            worker = subprocess.Popen([sys.executable, "-m", "service", "worker"], env=env)
            try:
                assert _until(lambda: _webhook_job_ran(engine), 30)
                time.sleep(1.5)
                for _ in range(2):
                    assert _delivered_within(http, world, receiver) < PROMPT_SECONDS
            finally:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=20) == 0
