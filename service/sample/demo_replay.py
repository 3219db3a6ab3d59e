"""The demo's stories replayed: each action by the service function the API
calls, acting as a principal built from the seeded users, in time order on a
clock the demo moves forward (for the duration of the replay `utcnow()` answers
the clock's time), with the nightly auto-close of resolved tickets on the same
clock."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service import db
from service.config import Settings
from service.enums import FollowUpMethod, VisitOutcome
from service.sample.demo_stories import Step, Story
from service.sample.demo_texts import (
    ASKS,
    CANCEL_REASONS,
    CONFIRM_COMMENTS,
    DUPLICATE_REASON,
    FOLLOW_UP_NOTES,
    HOLD_NOTES,
    INTERNAL_NOTES,
    REOPEN_REASON,
    REPLIES,
    RESOLVE_NOTES,
)
from service.sample.demo_world import DemoWorld
from service.tickets.actions import add_comment, add_follow_up, auto_close_resolved, perform
from service.tickets.filing import Filed, create_ticket
from service.tickets.models import Ticket
from service.tickets.queries import get_visible_ticket
from service.tickets.schemas import (
    AssignBody,
    CommentCreate,
    ConfirmBody,
    EmptyBody,
    FollowUpCreate,
    HoldBody,
    OptionalReasonBody,
    ReasonBody,
    RejectBody,
    ResolveBody,
    TicketCreate,
)

# --- the clock ----------------------------------------------------------------


class _Clock:
    """What `utcnow()` answers while the demo replays its timeline."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@contextmanager
def _replaying(clock: _Clock) -> Iterator[_Clock]:
    with db.clock_override(clock):
        yield clock


class _Replay:
    def __init__(self, session: Session, settings: Settings, world: DemoWorld, rng: random.Random):
        self.session, self.settings, self.world, self.rng = session, settings, world, rng
        self.tickets: dict[str, int] = {}

    def create(self, story: Story) -> None:
        text = story.text
        body: dict[str, Any] = {
            "category": story.category,
            "community_id": self.world.communities[story.community].id,
            "title": text.title,
            "description": text.description,
            "priority": text.priority,
            "channel": story.channel,
            "contact_phone": story.contact_phone,
            "location": story.location,
        }
        if story.on_behalf_of:
            body["on_behalf_of"] = {"name": story.on_behalf_of[0], "phone": story.on_behalf_of[1]}
        if story.preferred:
            body["preferred_time"] = {"from": story.preferred[0], "to": story.preferred[1]}
        filed = create_ticket(
            self.session,
            self.world.principals[story.filer],
            TicketCreate.model_validate(body),
            timezone=self.settings.timezone,
        )
        assert isinstance(filed, Filed)  # no idempotency claim: never a replay
        story.ticket_id = self.tickets[story.key] = filed.ticket.id

    def act(self, story: Story, step: Step) -> None:
        action, actor, _, parameter = step
        world, rng = self.world, self.rng
        assert story.ticket_id is not None
        sub = {
            "reporter": story.reporter,
            "tech": story.tech,
            "admin": story.admin,
            "dispatcher": world.dispatcher[story.organization] if story.organization else None,
        }[actor]
        assert sub is not None, (story.key, step)
        principal = world.principals[sub]
        ticket = get_visible_ticket(self.session, principal, story.ticket_id)
        if action == "comment":
            bodies = {"reporter": ASKS, "tech": REPLIES, "dispatcher": INTERNAL_NOTES}[actor]
            add_comment(
                self.session,
                principal,
                ticket,
                CommentCreate(body=rng.choice(bodies), internal=parameter == "internal"),
            )
            return
        if action == "follow_up":
            satisfied = rng.random() < 0.85
            add_follow_up(
                self.session,
                principal,
                ticket,
                FollowUpCreate(
                    method=rng.choice((FollowUpMethod.phone, FollowUpMethod.visit)),
                    satisfied=satisfied,
                    note=FOLLOW_UP_NOTES[satisfied],
                ),
            )
            return
        perform(
            self.session,
            principal,
            ticket,
            action,
            self._body(story, action, actor, parameter),
            reopen_window=dt.timedelta(days=self.settings.reopen_window_days),
            timezone=self.settings.timezone,
        )

    def _body(self, story: Story, action: str, actor: str, parameter: str | None) -> Any:
        rng, world = self.rng, self.world
        if action == "assign":
            if actor == "admin":
                assert story.organization is not None
                return AssignBody(organization_id=world.organizations[story.organization].id)
            assert story.tech is not None
            return AssignBody(assignee_id=world.users[story.tech].id)
        if action == "hold":
            assert parameter is not None
            return HoldBody.model_validate({"reason": parameter, "note": HOLD_NOTES[parameter]})
        if action == "resolve":
            note = rng.choice(RESOLVE_NOTES[story.kind])
            if story.category == "elderly.visit":
                # A 探访 takes its outcome; chosen without the random stream, so
                # that the rest of the demo stays what it was.
                outcome = (
                    VisitOutcome.not_home if (story.ticket_id or 0) % 9 == 0 else VisitOutcome.well
                )
                return ResolveBody(note=note, outcome=outcome)
            return ResolveBody(note=note)
        if action == "confirm":
            rating = int(parameter) if parameter else rng.choices((5, 4, 3, 2), (55, 30, 10, 5))[0]
            comment, tags = CONFIRM_COMMENTS[rating]
            return ConfirmBody(rating=rating, comment=comment, tags=tags)
        if action == "reopen":
            return ReasonBody(reason=REOPEN_REASON)
        if action == "cancel":
            if actor == "admin":
                return OptionalReasonBody(reason="住户来电说明已自行解决，代为撤销。")
            return OptionalReasonBody(reason=rng.choice(CANCEL_REASONS))
        if action == "return":
            return ReasonBody(reason="邻里纠纷不属于物业服务范围，请社区居委会调解。")
        if action == "reject":
            if story.duplicate_of:
                return RejectBody(
                    reason=DUPLICATE_REASON, duplicate_of=self.tickets[story.duplicate_of]
                )
            return RejectBody(reason="经核实不属于本平台受理范围，已告知住户相关渠道。")
        return EmptyBody()


def replay(
    session: Session,
    settings: Settings,
    world: DemoWorld,
    stories: list[Story],
    rng: random.Random,
    now: dt.datetime,
) -> None:
    replay = _Replay(session, settings, world, rng)
    agenda: list[tuple[dt.datetime, int, Callable[[], Any]]] = []
    for story in stories:
        agenda.append((story.created_at, len(agenda), partial(replay.create, story)))
        for at, step in story.steps:
            agenda.append((at, len(agenda), partial(replay.act, story, step)))
    # The nightly auto-close, at three in the morning local time.
    zone = ZoneInfo(settings.timezone)
    first = min(story.created_at for story in stories)
    night = first.astimezone(zone).replace(hour=3, minute=0, second=0, microsecond=0)
    older_than = dt.timedelta(days=settings.auto_close_days)
    while night < now:
        if night > first:
            sweep = partial(auto_close_resolved, session, older_than=older_than, now=night)
            agenda.append((night.astimezone(dt.UTC), len(agenda), sweep))
        night += dt.timedelta(days=1)
    agenda.sort(key=lambda item: (item[0], item[1]))

    with _replaying(_Clock(agenda[0][0])) as clock:
        for at, _, happen in agenda:
            clock.now = at
            happen()
    session.flush()

    for story in stories:
        ticket = session.get(Ticket, story.ticket_id)
        assert ticket is not None
        if ticket.status != story.expected:
            raise RuntimeError(
                f"demo ticket {ticket.number} ({story.path}) ended {ticket.status}, expected"
                f" {story.expected}: the lifecycle changed, update service/sample/demo_stories.py"
            )
