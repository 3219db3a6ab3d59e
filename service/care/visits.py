"""What happens around a visit besides its lifecycle (check-in and check-out are
actions of service/tickets/lifecycle.py): the sweep that marks visits nobody
began as missed, and the consequences of a 探访's outcome.

Missed: a visit (a ticket with `scheduled_for`) not checked in by
`scheduled_for + LINLI_VISIT_GRACE_MINUTES` is marked once (`visit_missed_at`,
a response breach) with a `visit.missed` event whose `alert` names who must be
told: the provider's dispatchers and the community's grid workers
(service/notifications/alerts.py turns it into their notifications in the same
transaction). The sweep reads the partial index of visits still pending
(`ix_ticket_visit_pending`), so it costs what is pending, not every visit ever
made; on PostgreSQL it locks its batch (FOR UPDATE SKIP LOCKED) and every
marked visit leaves the index, so two sweeps never mark one twice, and a late
carer may still check in (the visit counts as missed, and done).

Outcomes (a resolved `elderly.visit`): `needs_help` opens a follow-on ticket
for the elder, linked both ways (`follows_ticket_id`; the resolution event's
`follow_on_ticket_id`); the second `not_home` in a row for the same elder
writes `visit.not_home_twice`, alerting the community's grid workers and the
elder's emergency contacts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.care.horizon import new_ticket_ids
from service.categories.models import Category
from service.config import get_settings
from service.db import SETTINGS_INFO
from service.enums import Channel, Status, TicketKind, VisitOutcome
from service.i18n import DEFAULT
from service.i18n import text as catalogue_text
from service.jobs import JobContext, job
from service.sla import clock
from service.sla.policy import config_with_category, load_config
from service.tickets.events import on_event, record_event
from service.tickets.filing import ticket_number
from service.tickets.models import VISIT_PENDING, Ticket

BATCH = 500
# Who hears of what (service/notifications/alerts.py resolves the audiences).
MISSED_ALERT = ["dispatchers", "grid_workers"]
NOT_HOME_ALERT = ["grid_workers", "emergency_contacts"]
RESOLVING = ("ticket.resolved", "visit.checked_out")


@job("care.missed_visits", every=dt.timedelta(minutes=1))
def sweep_missed(context: JobContext) -> int:
    grace = dt.timedelta(minutes=context.settings.visit_grace_minutes)
    marked = 0
    while True:
        with context.session() as session:
            made = mark_missed(session, context.now, grace, limit=BATCH)
            session.commit()
        marked += made
        if made < BATCH or not context.more_time():
            return marked


def mark_missed(
    session: Session, now: dt.datetime, grace: dt.timedelta, *, limit: int = BATCH
) -> int:
    """Mark one batch of visits not begun by their due time and grace; how many."""
    query = (
        select(Ticket)
        # The index's own predicate, as text, so that the planner matches it.
        .where(text(VISIT_PENDING), Ticket.scheduled_for <= now - grace)
        .order_by(Ticket.scheduled_for, Ticket.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    visits = session.scalars(query).all()
    for visit in visits:
        assert visit.scheduled_for is not None
        visit.visit_missed_at = now
        visit.response_breached = True
        visit.updated_at = now
        record_event(
            session,
            visit,
            "visit.missed",
            None,
            data={
                "scheduled_for": visit.scheduled_for.isoformat(),
                "grace_minutes": int(grace.total_seconds() // 60),
                "alert": MISSED_ALERT,
            },
            at=now,
        )
    session.flush()
    return len(visits)


def after_outcome(session: Session, ticket: Ticket, event: Any) -> None:
    """The `record_event` listener: a resolved 探访's consequences."""
    if event.type not in RESOLVING:
        return
    outcome = (event.data or {}).get("outcome")
    if outcome == VisitOutcome.needs_help:
        with session.no_autoflush:
            (follow_on_id,) = new_ticket_ids(session, 1)
        # Before the event is written (a trigger copies it to the feed and the
        # webhooks' outbox): it carries the link.
        event.data = {**event.data, "follow_on_ticket_id": follow_on_id}
        open_follow_on(session, ticket, event, follow_on_id)
    elif outcome == VisitOutcome.not_home and _not_home_before(session, ticket):
        record_event(
            session,
            ticket,
            "visit.not_home_twice",
            None,
            data={"alert": NOT_HOME_ALERT},
            at=event.created_at,
        )


on_event(after_outcome)


def _not_home_before(session: Session, ticket: Ticket) -> bool:
    """Whether the elder's previous resolved 探访 also found nobody home."""
    if ticket.elder_id is None:
        return False
    previous = session.scalar(
        select(Ticket.visit_outcome)
        .where(
            Ticket.elder_id == ticket.elder_id,
            Ticket.category_id == ticket.category_id,
            Ticket.id != ticket.id,
            Ticket.visit_outcome.is_not(None),
            Ticket.resolved_at.is_not(None),
        )
        .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return previous == VisitOutcome.not_home


def open_follow_on(session: Session, visit: Ticket, event: Any, ticket_id: int) -> Ticket:
    """A ticket for the help a 探访 found needed: the same elder, community and
    provider, filed by the carer, linked to the visit."""
    settings = session.info.get(SETTINGS_INFO)
    timezone = settings.timezone if settings is not None else get_settings().timezone
    data = event.data or {}
    category = session.scalar(select(Category).where(Category.code == data["follow_on_category"]))
    assert category is not None  # checked by the action before anything changed
    now = event.created_at
    note = (data.get("note") or "").strip()
    follow_on = Ticket(
        id=ticket_id,
        number=ticket_number(ticket_id, now, timezone),
        kind=TicketKind.elderly_care,
        category_id=category.id,
        priority=category.default_priority,
        status=Status.assigned if visit.organization_id else Status.submitted,
        community_id=visit.community_id,
        region_path=visit.region_path,
        organization_id=visit.organization_id,
        filed_by_id=event.actor_id or visit.filed_by_id,
        channel=Channel.app,
        description=note
        or catalogue_text("visit.follow_on_description", DEFAULT, number=visit.number or ""),
        attachments=[],
        created_at=now,
        updated_at=now,
        paused_seconds=0,
        response_breached=False,
        resolution_breached=False,
        reopen_count=0,
        urge_count=0,
        elder_id=visit.elder_id,
        follows_ticket_id=visit.id,
    )
    config = config_with_category(session, load_config(session, timezone), category.id, timezone)
    policy = config.policy_for(
        TicketKind.elderly_care, category.id, follow_on.priority, visit.region_path
    )
    clock.start(follow_on, policy, now)
    session.add(follow_on)
    session.flush()
    record_event(
        session,
        follow_on,
        "ticket.created",
        event.actor_id,
        to_status=follow_on.status,
        data={
            "category": category.code,
            "priority": str(follow_on.priority),
            "channel": str(Channel.app),
            "follows_ticket_id": visit.id,
        },
        at=now,
    )
    return follow_on
