"""The lifecycle of a filed ticket: the actions of lifecycle.py's table,
reclassification, closing what nobody confirmed, comments and follow-up visits.
They take the session and the principal, flush, never commit."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.attachments import service as attachments
from service.auth import Principal
from service.db import utcnow
from service.directory.models import Organization
from service.enums import (
    ORGANIZATION_KIND_FOR,
    Role,
    Status,
    TicketKind,
    VisitOutcome,
    service_kind_for,
)
from service.errors import (
    Forbidden,
    Invalid,
    InvalidTransition,
    StaleWrite,
    TooManyRequests,
    Unprocessable,
)
from service.scope import visible
from service.sla import clock
from service.sla.policy import config_with_category, load_config
from service.tickets import lifecycle
from service.tickets.events import TICKET_ORGANIZATION, record_event
from service.tickets.models import FollowUp, Ticket, TicketComment
from service.tickets.queries import active_category, category_code, get_visible_ticket
from service.tickets.schemas import (
    AssignBody,
    CheckInBody,
    CommentCreate,
    ConfirmBody,
    FollowUpCreate,
    HoldBody,
    ReclassifyBody,
    RejectBody,
    ResolveBody,
)
from service.users.models import User


def _flush_or_conflict(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleWrite("ticket.concurrent_update") from exc


def _assign(session: Session, principal: Principal, ticket: Ticket, body: AssignBody) -> dict:
    if principal.role == Role.admin:
        if body.organization_id is None:
            raise Unprocessable(
                "ticket.name_organization",
                errors=[Invalid("organization_id", "ticket.organization_required")],
            )
        organization = session.scalar(
            select(Organization).where(
                Organization.id == body.organization_id, visible(principal, Organization)
            )
        )
        if organization is None:
            raise Unprocessable(
                "organization.unknown",
                errors=[Invalid("organization_id", "organization.no_such")],
            )
        expected = ORGANIZATION_KIND_FOR[service_kind_for(ticket.kind)]
        if organization.kind != expected:
            raise Unprocessable(
                "ticket.goes_to_kind",
                errors=[Invalid("organization_id", "organization.wrong_kind_short")],
                kind=ticket.kind,
                organization_kind=expected,
            )
        target_org: int | None = organization.id
    else:
        if body.organization_id not in (None, principal.organization_id):
            raise Forbidden("ticket.assign_own_organization")
        target_org = principal.organization_id
    assignee_id = None
    if body.assignee_id is not None:
        assignee = session.get(User, body.assignee_id)
        if (
            assignee is None
            or assignee.role != Role.provider_staff
            or assignee.organization_id != target_org
            or not assignee.active  # deactivated (service/dispatch): not theirs to do
        ):
            raise Unprocessable(
                "ticket.unknown_technician",
                errors=[Invalid("assignee_id", "ticket.not_staff_of_organization")],
            )
        assignee_id = assignee.id
    previous_org = ticket.organization_id
    if previous_org is not None and previous_org != target_org:
        record_event(
            session,
            ticket,
            "ticket.unassigned",
            principal.user_id,
            from_status=ticket.status,
            to_status=Status.assigned,
            organization_id=previous_org,
            data={"organization_id": previous_org, "to_organization_id": target_org},
        )
    ticket.organization_id = target_org
    ticket.assignee_id = assignee_id
    if previous_org != target_org:
        # A new organisation's first response is still to come.
        ticket.responded_at = None
    return {"organization_id": target_org, "assignee_id": assignee_id}


def perform(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    action: str,
    body: Any,
    *,
    reopen_window: dt.timedelta,
    timezone: str,
    urge_interval: dt.timedelta = dt.timedelta(hours=1),
) -> Ticket:
    """Apply one lifecycle action, or raise and change nothing."""
    try:
        transition = lifecycle.find_transition(
            action, lifecycle.actors_of(principal, ticket), ticket.status
        )
    except lifecycle.NotPermitted as exc:
        raise InvalidTransition("ticket.action_not_allowed", action=action) from exc
    except lifecycle.WrongStatus as exc:
        raise InvalidTransition(
            "ticket.action_not_in_status", action=action, status=ticket.status
        ) from exc

    now = utcnow()
    source = ticket.status
    data: dict[str, Any] = {}
    policy = None
    if ticket.sla_policy_id is not None:
        config = load_config(session, timezone)
        policy = config.policy_by_id(ticket.sla_policy_id, ticket.region_path)
    if action == "assign":
        data = _assign(session, principal, ticket, body)
    elif action in ("accept", "check_in"):
        if action == "check_in":
            assert isinstance(body, CheckInBody)
            data = _check_in(ticket, body, now)
        if ticket.responded_at is None:
            ticket.responded_at = now
            if ticket.respond_by is not None and now > ticket.respond_by:
                ticket.response_breached = True
        if ticket.assignee_id is None and principal.api_key_id is None:
            ticket.assignee_id = principal.user_id
    elif action == "hold":
        assert isinstance(body, HoldBody)
        ticket.hold_reason = body.reason
        ticket.on_hold_since = now
        clock.hold(ticket, policy, body.reason, now)
        data = {"reason": str(body.reason), "note": body.note}
    elif action == "resume":
        # Only a hold for a reason the policy pauses on stops the clock.
        clock.resume(ticket, policy, now)
        ticket.on_hold_since = None
        ticket.hold_reason = None
    elif action in ("resolve", "check_out"):
        assert isinstance(body, ResolveBody)
        if action == "check_out":
            _visit_only(ticket)
            if ticket.checked_in_at is None:
                raise InvalidTransition("visit.not_checked_in")
            ticket.checked_out_at = now
        data = _outcome(session, ticket, body)
        # The work's before/after photos join the ticket's.
        photos = attachments.claim(session, principal, body.attachment_ids)
        linked = attachments.link(
            session, photos, ticket_id=ticket.id, linked_as="resolution", now=now
        )
        if linked:
            ticket.attachments = [*(ticket.attachments or []), *linked]
        ticket.resolved_at = now
        # Paused working time has already moved resolve_by out.
        if ticket.resolve_by is not None and now > ticket.resolve_by:
            ticket.resolution_breached = True
        data |= {"note": body.note, "attachment_ids": list(body.attachment_ids)}
    elif action == "confirm":
        assert isinstance(body, ConfirmBody)
        ticket.rating = body.rating
        ticket.rating_comment = body.comment
        ticket.rating_tags = list(body.tags)
        ticket.closed_at = now
        data = {"rating": body.rating, "comment": body.comment, "tags": list(body.tags)}
    elif action == "reopen":
        if source == Status.closed and (
            ticket.closed_at is None or now - ticket.closed_at > reopen_window
        ):
            raise InvalidTransition("ticket.reopen_window_passed")
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.rating = None
        ticket.rating_comment = None
        ticket.rating_tags = None
        clock.reopen(ticket, policy, now)
        data = {"reason": body.reason}
    elif action == "urge":
        data = {"urge_count": _urge(ticket, now, urge_interval)}
    elif action == "cancel":
        data = {"reason": body.reason}
    elif action == "return":
        data = {"reason": body.reason, "organization_id": ticket.organization_id}
    elif action == "reject":
        assert isinstance(body, RejectBody)
        if body.duplicate_of is not None:
            if body.duplicate_of == ticket.id:
                raise Unprocessable(
                    "ticket.duplicate_of_itself",
                    errors=[Invalid("duplicate_of", "ticket.same_ticket")],
                )
            get_visible_ticket(session, principal, body.duplicate_of)
        data = {"reason": body.reason, "duplicate_of": body.duplicate_of}

    event_org = ticket.organization_id
    if action == "return":
        ticket.organization_id = None
        ticket.assignee_id = None
        ticket.responded_at = None
    if transition.target is not None:
        ticket.status = transition.target
    ticket.sla_next_check_at = clock.next_check(ticket, policy)
    ticket.updated_at = now
    record_event(
        session,
        ticket,
        transition.event,
        principal.user_id,
        from_status=source,
        to_status=ticket.status,
        organization_id=event_org if action == "return" else TICKET_ORGANIZATION,
        data={k: v for k, v in data.items() if v is not None},
        at=now,
    )
    _flush_or_conflict(session)
    return ticket


def _visit_only(ticket: Ticket) -> None:
    if ticket.scheduled_for is None:
        raise InvalidTransition("visit.not_a_visit")


def _check_in(ticket: Ticket, body: CheckInBody, now: dt.datetime) -> dict[str, Any]:
    """The carer's arrival. Where they stood is the elder's whereabouts: kept on the
    ticket for the visit's keepers, never written into the event (timeline, feed,
    webhooks), which says only whether a position was given."""
    _visit_only(ticket)
    assert ticket.scheduled_for is not None
    ticket.checked_in_at = now
    ticket.check_in_latitude = body.latitude
    ticket.check_in_longitude = body.longitude
    return {
        "scheduled_for": ticket.scheduled_for.isoformat(),
        "position": body.latitude is not None,
    }


# A 探访 found the elder needing help: the follow-on ticket's category unless named.
FOLLOW_ON_DEFAULT = "elderly.medical"
VISIT_CATEGORY = "elderly.visit"


def _outcome(session: Session, ticket: Ticket, body: ResolveBody) -> dict[str, Any]:
    """A 探访's outcome, required there and refused elsewhere; for `needs_help` the
    follow-on's category, checked now so that bad input changes nothing. The
    follow-on itself and the not-home alerts are service/care/visits.py's."""
    is_visit_to_alone = category_code(session, ticket) == VISIT_CATEGORY
    if body.outcome is None:
        if is_visit_to_alone:
            raise Unprocessable.on("outcome", "visit.outcome_required")
        if body.follow_on_category is not None:
            raise Unprocessable.on("follow_on_category", "visit.follow_on_needs_help")
        return {}
    if not is_visit_to_alone:
        raise Unprocessable.on("outcome", "visit.outcome_only_alone")
    data: dict[str, Any] = {"outcome": str(body.outcome)}
    if body.outcome == VisitOutcome.needs_help:
        code = body.follow_on_category or FOLLOW_ON_DEFAULT
        category = active_category(session, code)
        if category.kind != TicketKind.elderly_care:
            raise Unprocessable.on("follow_on_category", "visit.follow_on_care_only")
        data["follow_on_category"] = code
    elif body.follow_on_category is not None:
        raise Unprocessable.on("follow_on_category", "visit.follow_on_needs_help")
    ticket.visit_outcome = body.outcome
    return data


def _urge(ticket: Ticket, now: dt.datetime, interval: dt.timedelta) -> int:
    """Count an urging, or refuse it (429) within `interval` of the last one: each
    is an event in the provider's feed and webhooks, and a reminder, not a
    channel to flood. Two at once: the ticket's version check lets one through."""
    if ticket.last_urged_at is not None and now < ticket.last_urged_at + interval:
        wait = math.ceil((ticket.last_urged_at + interval - now).total_seconds())
        minutes = int(interval.total_seconds() // 60)
        raise TooManyRequests(
            "ticket.urge_too_soon", retry_after=max(1, wait), minutes=minutes, seconds=max(1, wait)
        )
    ticket.urge_count = (ticket.urge_count or 0) + 1
    ticket.last_urged_at = now
    return ticket.urge_count


_RECLASSIFIABLE = frozenset(
    {
        Status.submitted,
        Status.assigned,
        Status.accepted,
        Status.in_progress,
        Status.on_hold,
    }
)


def reclassify(
    session: Session, principal: Principal, ticket: Ticket, body: ReclassifyBody, *, timezone: str
) -> Ticket:
    """Change priority and/or category; the SLA policy and deadlines are chosen
    again as if the ticket had been filed so, keeping the time already paused."""
    if not (
        principal.role == Role.admin
        or (principal.is_dispatcher and ticket.organization_id == principal.organization_id)
    ):
        raise InvalidTransition("ticket.reclassify_not_allowed")
    if ticket.status not in _RECLASSIFIABLE:
        raise InvalidTransition("ticket.reclassify_status", status=ticket.status)
    if body.priority is None and body.category is None:
        raise Unprocessable(
            "ticket.reclassify_empty",
            errors=[Invalid("priority", "ticket.priority_or_category")],
        )
    before = {"priority": str(ticket.priority), "category": category_code(session, ticket)}
    if body.category is not None and body.category != before["category"]:
        category = active_category(session, body.category)
        if category.kind != ticket.kind:
            raise Unprocessable(
                "ticket.kind_stays",
                errors=[Invalid("category", "ticket.category_of_kind", kind=ticket.kind)],
                kind=ticket.kind,
            )
        ticket.category_id = category.id
    if body.priority is not None:
        ticket.priority = body.priority
    after = {"priority": str(ticket.priority), "category": body.category or before["category"]}
    if after == before:
        raise Unprocessable(
            "ticket.reclassify_unchanged",
            errors=[Invalid("priority", "ticket.classified_so_already")],
        )
    config = config_with_category(
        session, load_config(session, timezone), ticket.category_id, timezone
    )
    policy = config.policy_for(ticket.kind, ticket.category_id, ticket.priority, ticket.region_path)
    ticket.sla_policy_id = policy.id if policy else None
    clock.recompute(ticket, policy)
    now = utcnow()
    ticket.updated_at = now
    record_event(
        session,
        ticket,
        "ticket.reclassified",
        principal.user_id,
        data={"from": before, "to": after, "reason": body.reason},
        at=now,
    )
    _flush_or_conflict(session)
    return ticket


def auto_close_resolved(session: Session, *, older_than: dt.timedelta, now: dt.datetime) -> int:
    """Close resolved tickets nobody confirmed in time (no rating). Returns how many."""
    cutoff = now - older_than
    closed = 0
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status == Status.resolved, Ticket.resolved_at < cutoff)
        .order_by(Ticket.id)
        .limit(1000)
    ).all()
    for ticket in tickets:
        ticket.status = Status.closed
        ticket.closed_at = now
        ticket.updated_at = now
        record_event(
            session,
            ticket,
            "ticket.closed",
            None,
            from_status=Status.resolved,
            to_status=Status.closed,
            data={"reason": "auto_close"},
            at=now,
        )
        closed += 1
    _flush_or_conflict(session)
    return closed


# --- comments and follow-ups -------------------------------------------------


def _is_staff_side(principal: Principal) -> bool:
    return principal.role in (Role.provider_staff, Role.admin)


def add_comment(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    data: CommentCreate,
    *,
    per_hour: int | None = None,
    retry_after: int = 60,
) -> TicketComment:
    if data.internal and not _is_staff_side(principal):
        raise Forbidden("ticket.internal_notes_staff_only")
    now = utcnow()
    # Each comment is an event in the provider's feed and webhooks: a quota per
    # author and ticket for the API (200 comments in 2 s were measured from
    # outside); None, for the demo data's own writing, is no quota.
    if per_hour is not None:
        recent = session.scalar(
            select(func.count())
            .select_from(TicketComment)
            .where(
                TicketComment.ticket_id == ticket.id,
                TicketComment.author_id == principal.user_id,
                TicketComment.created_at > now - dt.timedelta(hours=1),
            )
        )
        if (recent or 0) >= per_hour:
            raise TooManyRequests(
                "ticket.comments_per_hour", retry_after=retry_after, limit=per_hour
            )
    photos = attachments.claim(session, principal, data.attachment_ids)
    org = principal.organization_id if principal.role == Role.provider_staff else None
    comment = TicketComment(
        ticket_id=ticket.id,
        author_id=principal.user_id,
        organization_id=org,
        body=data.body,
        internal=data.internal,
        created_at=now,
    )
    session.add(comment)
    session.flush()
    if photos:
        # An internal note's photos stay on its side, as the note does.
        comment.attachments = attachments.link(
            session,
            photos,
            ticket_id=ticket.id,
            comment_id=comment.id,
            linked_as="comment",
            internal=data.internal,
            organization_id=org,
            now=now,
        )
    record_event(
        session,
        ticket,
        "ticket.commented",
        principal.user_id,
        internal=data.internal,
        # An internal note stays with its author's side: the organisation, or
        # (org None) the department. A public comment belongs to the ticket's organisation.
        organization_id=org if data.internal else TICKET_ORGANIZATION,
        data={
            "comment_id": comment.id,
            "body": data.body,
            **({"attachment_ids": [p.id for p in photos]} if photos else {}),
        },
        at=now,
    )
    session.flush()
    return comment


def add_follow_up(
    session: Session, principal: Principal, ticket: Ticket, data: FollowUpCreate
) -> FollowUp:
    if not _is_staff_side(principal) or (
        principal.role == Role.provider_staff
        and ticket.organization_id != principal.organization_id
    ):
        raise InvalidTransition("follow_up.not_allowed")
    if ticket.status not in (Status.resolved, Status.closed):
        raise InvalidTransition("follow_up.not_resolved")
    now = utcnow()
    follow_up = FollowUp(
        ticket_id=ticket.id,
        method=data.method,
        satisfied=data.satisfied,
        note=data.note,
        created_by_id=principal.user_id,
        organization_id=ticket.organization_id,
        created_at=now,
    )
    session.add(follow_up)
    session.flush()
    record_event(
        session,
        ticket,
        "ticket.followed_up",
        principal.user_id,
        data={
            "follow_up_id": follow_up.id,
            "method": str(data.method),
            "satisfied": data.satisfied,
        },
        at=now,
    )
    session.flush()
    return follow_up
