"""The breach sweep and the job runner: every breach and escalation exactly once,
however many sweeps and workers run at the same time."""

from __future__ import annotations

import collections
import datetime as dt
import os
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db import clock_override
from service.jobs import JOBS
from service.jobs.models import JobLease
from service.jobs.runner import run_due
from service.sla.jobs import sweep
from service.sla.models import SlaEscalation
from service.tickets.models import Ticket, TicketEvent
from tests.conftest import file_ticket
from tests.sla.conftest import at


def _types(client, world, tid) -> list[str]:
    events = client.get(f"/v1/tickets/{tid}/events", headers=world.admin.headers).json()["items"]
    return [e["type"] for e in events]


def _sweep_all(db: Session, now: dt.datetime) -> int:
    made = 0
    while True:
        examined, escalated = sweep(db, now, "Asia/Shanghai")
        made += escalated
        if examined == 0:
            return made


def test_breach_then_escalation_each_once(client, world, db, clock):
    clock.set("2026-03-02T09:00")  # Monday; ordinary repair: respond by 11:00
    tid = file_ticket(client, world.reporter, world.community_a, priority="normal")["id"]

    assert _sweep_all(db, at("2026-03-02T10:59")) == 0
    assert _sweep_all(db, at("2026-03-02T11:01")) == 1
    assert _sweep_all(db, at("2026-03-02T11:02")) == 0
    ticket = client.get(f"/v1/tickets/{tid}", headers=world.dispatcher.headers).json()
    assert ticket["sla"]["response_breached"] is True
    assert ticket["sla"]["response_escalation_level"] == 1
    # Level 2 one working day (9 h) after the deadline: Tuesday 11:00.
    assert _sweep_all(db, at("2026-03-03T10:59")) == 0
    assert _sweep_all(db, at("2026-03-03T11:00")) == 1
    assert _sweep_all(db, at("2026-03-04T17:59")) == 0
    # Resolution due Wednesday 18:00 (27 working hours), level 2 a working day later.
    assert _sweep_all(db, at("2026-03-04T18:00")) == 1
    assert _sweep_all(db, at("2026-03-09T11:00")) == 1
    assert _sweep_all(db, at("2026-03-19T11:00")) == 0

    types = _types(client, world, tid)
    assert types.count("ticket.sla_breached") == 2
    assert types.count("ticket.escalated") == 4
    escalations = db.scalars(select(SlaEscalation).where(SlaEscalation.ticket_id == tid)).all()
    assert sorted((e.clock, e.level) for e in escalations) == [
        ("resolution", 1),
        ("resolution", 2),
        ("response", 1),
        ("response", 2),
    ]
    # The resident sees the breaches, not the internal escalations.
    own = client.get(f"/v1/tickets/{tid}/events", headers=world.reporter.headers).json()["items"]
    assert [e["type"] for e in own].count("ticket.sla_breached") == 2
    assert "ticket.escalated" not in [e["type"] for e in own]


def test_a_late_sweep_catches_up_both_levels_at_once(client, world, db, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a, priority="emergency")["id"]
    assert _sweep_all(db, at("2026-03-09T09:00")) == 4  # response and resolution, two levels
    assert db.get(Ticket, tid).sla_next_check_at is None


def test_accepted_in_time_is_never_breached(client, world, db, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a, priority="emergency")["id"]
    clock.set("2026-03-02T09:10")
    client.post(f"/v1/tickets/{tid}/accept", headers=world.technician.headers).raise_for_status()
    client.post(f"/v1/tickets/{tid}/start", headers=world.technician.headers).raise_for_status()
    client.post(f"/v1/tickets/{tid}/resolve", headers=world.technician.headers).raise_for_status()
    assert _sweep_all(db, at("2026-03-09T09:00")) == 0
    assert "ticket.sla_breached" not in _types(client, world, tid)


def test_a_paused_clock_does_not_breach(client, world, db, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a, priority="emergency")["id"]
    for action in ("accept", "start"):
        client.post(f"/v1/tickets/{tid}/{action}", headers=world.technician.headers)
    client.post(
        f"/v1/tickets/{tid}/hold",
        json={"reason": "awaiting_resident"},
        headers=world.technician.headers,
    ).raise_for_status()
    assert _sweep_all(db, at("2026-03-05T09:00")) == 0
    clock.set("2026-03-05T09:00")  # three days paused: 4 hours left from now
    resumed = client.post(f"/v1/tickets/{tid}/resume", headers=world.technician.headers).json()
    assert resumed["sla"]["resolve_by"].startswith("2026-03-05T05:00")  # 13:00 Beijing
    assert _sweep_all(db, at("2026-03-05T12:59")) == 0
    assert _sweep_all(db, at("2026-03-05T13:01")) == 1


def test_escalations_are_listed_only_to_those_who_may_see_them(client, world, db, clock):
    clock.set("2026-03-02T09:00")
    file_ticket(client, world.reporter, world.community_a, priority="emergency")
    _sweep_all(db, at("2026-03-02T09:20"))

    def listed(actor) -> int | None:
        response = client.get("/v1/sla-escalations", headers=actor.headers)
        return len(response.json()["items"]) if response.status_code == 200 else None

    assert listed(world.admin) == 1
    assert listed(world.province_admin) == 1
    assert listed(world.dispatcher) == 1
    assert listed(world.other_admin) == 0
    assert listed(world.other_dispatcher) == 0
    assert listed(world.care_dispatcher) == 0
    assert listed(world.reporter) is None


# --- the runner ---------------------------------------------------------------


def test_each_turn_runs_on_one_instance(live_engine, settings):
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    first = run_due(live_engine, settings, now, owner="a")
    assert set(first) == set(JOBS)
    assert run_due(live_engine, settings, now, owner="b") == {}
    # The next turn of the 30-second sweep is due after 30 seconds, not before.
    later = run_due(live_engine, settings, now + dt.timedelta(seconds=29), owner="b")
    assert "sla.breaches" not in later
    assert "sla.breaches" in run_due(live_engine, settings, now + dt.timedelta(seconds=30))
    with Session(live_engine) as session:
        lease = session.get(JobLease, "sla.breaches")
        assert lease is not None and lease.runs == 2 and lease.leased_until is None


def test_a_failing_job_is_recorded_and_retried_next_turn(live_engine, settings, monkeypatch):
    from service.jobs import Job

    def broken(_context):
        raise RuntimeError("database on fire")

    monkeypatch.setitem(
        JOBS, "test.broken", Job(name="test.broken", every=dt.timedelta(minutes=1), run=broken)
    )
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    assert "test.broken" not in run_due(live_engine, settings, now, only=["test.broken"])
    with Session(live_engine) as session:
        lease = session.get(JobLease, "test.broken")
        assert lease is not None
        assert "database on fire" in (lease.last_error or "") and lease.leased_until is None


WORKER = textwrap.dedent(
    """
    import datetime as dt, sys
    from sqlalchemy.orm import Session
    from service.config import Settings
    from service.db import begin_write, make_engine
    from service.jobs.runner import run_due
    from service.sla.jobs import sweep
    import service.tables  # every table mapped, as in the app; ticket rows name user_account

    url, mode, now = sys.argv[1], sys.argv[2], dt.datetime.fromisoformat(sys.argv[3])
    settings = Settings(database_url=url)
    engine = make_engine(settings)
    if mode == "runner":
        for _ in range(5):
            run_due(engine, settings, now, only=["sla.breaches"])
    else:
        # Straight at the sweep, no lease: the unique keys alone must hold.
        while True:
            with Session(engine) as session:
                begin_write(session)
                examined, _ = sweep(session, now, "Asia/Shanghai", limit=7)
                session.commit()
            if examined == 0:
                break
    """
)


@pytest.mark.parametrize("mode", ["sweep", "runner"])
def test_two_workers_racing_make_each_escalation_once(live, live_engine, mode):
    http, world = live
    with clock_override(lambda: at("2026-03-02T09:00")):
        tickets = [
            file_ticket(http, world.reporter, world.community_a, priority=priority)["id"]
            for priority in ["emergency", "urgent", "normal"] * 20
        ]
    url = live_engine.url.render_as_string(hide_password=False)
    now = at("2026-03-20T09:00").isoformat()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, mode, now], env=env) for _ in range(2)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]

    with Session(live_engine) as session:
        rows = session.execute(
            select(SlaEscalation.ticket_id, SlaEscalation.clock, SlaEscalation.level)
        ).all()
        events = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.data).where(
                TicketEvent.type.in_(["ticket.sla_breached", "ticket.escalated"])
            )
        ).all()
        pending = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.sla_next_check_at.is_not(None))
        )
    # Every ticket blew both clocks to level 2 (elderly-style no-target clocks aside).
    assert len(rows) == len(set(rows)) == len(tickets) * 4
    breached = collections.Counter(
        (t, d["clock"]) for t, kind, d in events if kind.endswith("breached")
    )
    escalated = collections.Counter(
        (t, d["clock"], d["level"]) for t, kind, d in events if kind.endswith("escalated")
    )
    assert set(breached.values()) == {1} and len(breached) == len(tickets) * 2
    assert set(escalated.values()) == {1} and len(escalated) == len(tickets) * 4
    assert pending == 0


def test_a_turn_leaves_a_long_backlog_to_the_next_turn(live, live_engine, settings, monkeypatch):
    """A turn stops taking batches when its time is up, well inside its lease."""
    import service.jobs
    import service.sla.jobs
    from service.jobs import JobContext

    http, world = live
    with clock_override(lambda: at("2026-03-02T09:00")):
        for _ in range(3):
            file_ticket(http, world.reporter, world.community_a, priority="emergency")
    monkeypatch.setattr(service.sla.jobs, "BATCH", 1)
    monkeypatch.setattr(service.jobs, "TURN_BUDGET_SECONDS", 0.0)
    context = JobContext(engine=live_engine, settings=settings, now=at("2026-03-20T09:00"))
    assert service.sla.jobs.sweep_breaches(context) == 4  # one ticket's four escalations
    with Session(live_engine) as session:
        due = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.sla_next_check_at.is_not(None))
        )
    assert due == 2
