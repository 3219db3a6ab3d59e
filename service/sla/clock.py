"""A ticket's SLA clocks, moved by what happens to it.

`respond_by` runs from creation; accepting stops it. `resolve_by` runs from
creation or from the last reopen; a hold for a reason the policy pauses on
stops it, and the working time spent paused pushes the deadline out by as
much; resolving stops it. `sla_next_check_at` is the next instant the breach
sweep has anything to do for the ticket (a deadline or a level-2 escalation),
so the sweep reads an index, not the whole table.
"""

from __future__ import annotations

import datetime as dt

from service.enums import HoldReason
from service.sla.policy import (
    CLOSED_CLOCKS,
    RESPONSE_PENDING,
    PolicySpec,
    escalation_due,
    resolution_deadline,
    response_deadline,
)

# Up a floor (a room-level cycle kept on purpose): clocks run on tickets.
from service.tickets.models import NewTicket, Ticket


def start(ticket: Ticket | NewTicket, policy: PolicySpec | None, now: dt.datetime) -> None:
    """At creation: pick the targets and start both clocks."""
    ticket.sla_policy_id = policy.id if policy else None
    ticket.sla_clock_started_at = now
    ticket.paused_business_seconds = 0
    recompute(ticket, policy)


def recompute(ticket: Ticket | NewTicket, policy: PolicySpec | None) -> None:
    """Deadlines from the policy and what happened so far (creation, priority or
    category change, resume, reopen)."""
    if policy is not None:  # without one (older tickets, no match) the deadlines stay
        ticket.respond_by = response_deadline(policy, ticket.created_at)
        ticket.resolve_by = resolution_deadline(
            policy,
            ticket.sla_clock_started_at or ticket.created_at,
            ticket.paused_business_seconds or 0,
            ticket.preferred_to,
        )
    ticket.sla_next_check_at = next_check(ticket, policy)


def pauses(policy: PolicySpec | None, reason: HoldReason) -> bool:
    return policy is not None and str(reason) in policy.pause_on


def hold(ticket: Ticket, policy: PolicySpec | None, reason: HoldReason, now: dt.datetime) -> None:
    if pauses(policy, reason) and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    ticket.sla_next_check_at = next_check(ticket, policy)


def resume(ticket: Ticket, policy: PolicySpec | None, now: dt.datetime) -> None:
    if ticket.sla_paused_at is not None:
        ticket.paused_seconds += int((now - ticket.sla_paused_at).total_seconds())
        if policy is not None:
            ticket.paused_business_seconds += int(
                policy.calendar.between(ticket.sla_paused_at, now)
            )
        ticket.sla_paused_at = None
    recompute(ticket, policy)


def reopen(ticket: Ticket, policy: PolicySpec | None, now: dt.datetime) -> None:
    """The resolution clock starts again, with its escalations."""
    ticket.sla_clock_started_at = now
    ticket.paused_business_seconds = 0
    ticket.sla_paused_at = None
    ticket.resolution_escalation_level = 0
    recompute(ticket, policy)


def next_check(ticket: Ticket | NewTicket, policy: PolicySpec | None) -> dt.datetime | None:
    if policy is None or ticket.status in CLOSED_CLOCKS:
        return None
    due: list[dt.datetime] = []
    if (
        ticket.responded_at is None
        and ticket.respond_by is not None
        and ticket.status in RESPONSE_PENDING
        and (ticket.response_escalation_level or 0) < 2
    ):
        due.append(
            escalation_due(policy, ticket.respond_by, (ticket.response_escalation_level or 0) + 1)
        )
    if (
        ticket.resolved_at is None
        and ticket.resolve_by is not None
        and ticket.sla_paused_at is None
        and (ticket.resolution_escalation_level or 0) < 2
    ):
        due.append(
            escalation_due(policy, ticket.resolve_by, (ticket.resolution_escalation_level or 0) + 1)
        )
    return min(due) if due else None
