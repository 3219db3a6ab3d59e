"""The breach sweep: marks clocks that ran out and escalates them, level by level.

Level 1 falls due at the deadline and goes to the organisation's dispatchers
(or straight to the region's admins when no organisation has the ticket);
level 2 falls due `escalate_after_minutes` working minutes later and goes to
the admins of the ticket's region. 助急 (`elderly.emergency`) is everyone's
business at once: its response's level 1 also names (`data.alert`) the
dispatchers, the community's grid workers, the elder's emergency contacts and
the region's admins, whom the notifications tell (an event listener). Each
(ticket, clock, cycle, level) is one row of `sla_escalation` under a unique
key, inserted with ON CONFLICT DO NOTHING, and the timeline events are written
only by the insert that made the row: however many sweeps run at once, every
breach, escalation and alert appears once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.jobs import JobContext, job
from service.sla import clock
from service.sla.models import SlaEscalation
from service.sla.policy import (
    CLOSED_CLOCKS,
    RESPONSE_PENDING,
    PolicySpec,
    escalation_due,
    load_config,
)

# Up a floor (a room-level cycle kept on purpose): it escalates tickets.
from service.tickets.events import record_event
from service.tickets.models import Ticket

BATCH = 200
# 助急: unanswered at its deadline, it is at once everyone's business.
EMERGENCY = "elderly.emergency"
EMERGENCY_ALERT = ["grid_workers", "emergency_contacts", "region_admins"]


@job("sla.breaches", every=dt.timedelta(seconds=30))
def sweep_breaches(context: JobContext) -> int:
    escalated = 0
    while True:
        with context.session() as session:
            examined, made = sweep(session, context.now, context.settings.timezone, limit=BATCH)
            session.commit()
        escalated += made
        if examined < BATCH or not context.more_time():
            return escalated


def sweep(
    session: Session, now: dt.datetime, timezone: str, *, limit: int = BATCH
) -> tuple[int, int]:
    """One batch of tickets whose next check is due: (examined, escalations made)."""
    query = (
        select(Ticket)
        .where(Ticket.sla_next_check_at <= now)
        .order_by(Ticket.sla_next_check_at, Ticket.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows a request is changing right now wait for the next sweep.
        query = query.with_for_update(skip_locked=True)
    tickets = session.scalars(query).all()
    if not tickets:
        return 0, 0
    config = load_config(session, timezone)
    due: list[_Due] = []
    for ticket in tickets:
        policy = config.policy_by_id(ticket.sla_policy_id, ticket.region_path)
        if policy is not None:
            due += _levels_due(ticket, policy, now, "response")
            due += _levels_due(ticket, policy, now, "resolution")
        ticket.sla_next_check_at = clock.next_check(ticket, policy)
    # One statement claims every escalation of the batch; only those this sweep
    # inserted are announced (another sweep, or an earlier try, made the rest).
    claimed = _claim(session, due, now)
    for item in due:
        if (item.ticket.id, item.clock, item.cycle, item.level) in claimed:
            emergency = EMERGENCY in config.category_chain.get(item.ticket.category_id, ())
            _announce(session, item.ticket, item.clock, item.level, item.deadline, now, emergency)
    session.flush()
    return len(tickets), len(claimed)


@dataclass(frozen=True)
class _Due:
    ticket: Ticket
    clock: str
    cycle: int
    level: int
    deadline: dt.datetime


def _levels_due(ticket: Ticket, policy: PolicySpec, now: dt.datetime, which: str) -> list[_Due]:
    """The escalation levels of one clock that have fallen due; moves the ticket's level."""
    if which == "response":
        running = ticket.responded_at is None and ticket.status in RESPONSE_PENDING
        deadline, level, cycle = ticket.respond_by, ticket.response_escalation_level, 0
    else:
        running = (
            ticket.resolved_at is None
            and ticket.sla_paused_at is None
            and ticket.status not in CLOSED_CLOCKS
        )
        deadline, level = ticket.resolve_by, ticket.resolution_escalation_level
        cycle = ticket.reopen_count
    if not running or deadline is None:
        return []
    due = []
    while level < 2 and escalation_due(policy, deadline, level + 1) <= now:
        level += 1
        due.append(_Due(ticket, which, cycle, level, deadline))
    if which == "response":
        ticket.response_escalation_level = level
    else:
        ticket.resolution_escalation_level = level
    return due


def _claim(session: Session, due: list[_Due], now: dt.datetime) -> set[tuple[int, str, int, int]]:
    if not due:
        return set()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(SlaEscalation)
        .values(
            [
                {
                    "ticket_id": item.ticket.id,
                    "clock": item.clock,
                    "cycle": item.cycle,
                    "level": item.level,
                    "organization_id": item.ticket.organization_id,
                    "region_path": item.ticket.region_path,
                    "due_at": item.deadline,
                    "escalated_at": now,
                }
                for item in due
            ]
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "clock", "cycle", "level"])
        .returning(
            SlaEscalation.ticket_id, SlaEscalation.clock, SlaEscalation.cycle, SlaEscalation.level
        )
    )
    return {tuple(row) for row in session.execute(statement)}  # type: ignore[misc]


def _announce(
    session: Session,
    ticket: Ticket,
    which: str,
    level: int,
    deadline: dt.datetime,
    now: dt.datetime,
    emergency: bool = False,
) -> None:
    due = deadline.isoformat()
    if level == 1:
        if which == "response":
            ticket.response_breached = True
        else:
            ticket.resolution_breached = True
        # Public: the resident may see that the promise was broken.
        record_event(
            session,
            ticket,
            "ticket.sla_breached",
            None,
            data={"clock": which, "due_at": due},
            at=now,
        )
    to = "dispatchers" if level == 1 and ticket.organization_id is not None else "region_admins"
    data = {
        "clock": which,
        "level": level,
        "to": to,
        "organization_id": ticket.organization_id,
        "due_at": due,
    }
    if emergency and which == "response" and level == 1:
        # Told to these people now (service/notifications/alerts.py); level 2
        # goes to the region's admins, who have just been told: it alerts nobody.
        dispatchers = ["dispatchers"] if ticket.organization_id is not None else []
        data["alert"] = dispatchers + EMERGENCY_ALERT
    record_event(session, ticket, "ticket.escalated", None, internal=True, data=data, at=now)
