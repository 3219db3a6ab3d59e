"""The demo's history: a few thousand tickets from the three-year action's
start (2024-01-01) until HISTORY_GAP_DAYS before today, all finished, with their
timelines (events), ratings, follow-up visits, SLA breaches and complaints,
written in bulk (executemany). Each company serves as well as its `QUALITY`
says, the struggling one improving over the years."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from service.config import Settings
from service.enums import Channel, FollowUpMethod, LocationArea, Priority, Role, Status, TicketKind
from service.sample.bulk import new_ids
from service.sample.demo_stories import KIND_WEIGHTS, PACE
from service.sample.demo_texts import (
    CANCEL_REASONS,
    CONFIRM_COMMENTS,
    DUPLICATE_REASON,
    FOLLOW_UP_NOTES,
    REOPEN_REASON,
    RESOLVE_NOTES,
    TEXTS,
    UNSERVED_REASON,
    Text,
    leaf_categories,
)
from service.sample.demo_world import (
    ADMIN_FALLBACK,
    PROVINCE_ADMIN,
    DemoWorld,
    Phones,
    local_names,
)
from service.sample.world import TARGETS, categories
from service.tickets.filing import ticket_number
from service.tickets.models import FollowUp, Ticket, TicketEvent
from service.users.models import User

# The three-year action's start (its default in service/metrics/action.py).
ACTION_START = dt.date(2024, 1, 1)
# The history ends this many days before today; the stories tell the weeks since.
# A whole number of days: the same seed gives the same history all day long.
HISTORY_GAP_DAYS = 45
# Tickets a day at the action's start and at its end (adoption grows).
DAILY_TICKETS = (1.6, 3.4)


@dataclass(frozen=True)
class _Quality:
    """How an organisation serves at the action's start and at its end (linear in
    between): the shares of responses and of resolutions on time, the mean of its
    ratings and the share of closed tickets it follows up; how often its work is
    reopened, and how much more than elsewhere its residents complain."""

    respond: tuple[float, float]
    resolve: tuple[float, float]
    mood: tuple[float, float]
    follow_up: tuple[float, float]
    reopen: float
    complaints: float


def _at(pair: tuple[float, float], progress: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * progress


QUALITY = {
    # the red list's: fast, liked, follows everything up
    "yiju": _Quality((0.93, 0.98), (0.90, 0.97), (4.5, 4.8), (0.85, 0.95), 0.02, 0.6),
    "youhao": _Quality((0.82, 0.90), (0.78, 0.88), (4.0, 4.3), (0.60, 0.80), 0.04, 1.0),
    "antai": _Quality((0.74, 0.84), (0.70, 0.80), (3.8, 4.1), (0.50, 0.70), 0.05, 1.2),
    # the one the action turned round
    "gucheng": _Quality((0.50, 0.93), (0.45, 0.90), (3.0, 4.5), (0.30, 0.85), 0.06, 1.5),
    # the black list's: slow, disliked, complained about
    "huimin": _Quality((0.50, 0.55), (0.42, 0.50), (2.8, 3.0), (0.15, 0.25), 0.12, 2.2),
    "yikang": _Quality((0.90, 0.96), (0.88, 0.95), (4.4, 4.7), (0.80, 0.90), 0.02, 1.0),
    "xiyang": _Quality((0.70, 0.85), (0.70, 0.82), (3.9, 4.3), (0.50, 0.70), 0.04, 1.0),
}
# History residents: one account for about this many households.
HOUSEHOLDS_PER_ACCOUNT = 25


@dataclass(frozen=True)
class _Filed:
    """What a history ticket was filed as, by whom."""

    community: str
    category: str
    kind: TicketKind
    priority: Priority
    text: Text
    created: dt.datetime
    filer: User
    reporter: User
    on_behalf_of: tuple[str, str] | None
    channel: Channel


class _History:
    """Builds the history's rows: tickets, follow-ups and events, in memory."""

    def __init__(
        self, session: Session, settings: Settings, world: DemoWorld, rng: random.Random
    ) -> None:
        self.session, self.settings, self.world, self.rng = session, settings, world, rng
        self.zone = ZoneInfo(settings.timezone)
        self.tickets: list[dict[str, Any]] = []
        self.follow_ups: list[dict[str, Any]] = []
        # per ticket, its events in time order; a follow-up's event names its index
        self.events: list[list[dict[str, Any]]] = []
        self.accounts: dict[str, list[User]] = {}
        leaves = leaf_categories()
        self.categories = {
            kind: [(code, priority) for code, k, priority in leaves if k == kind]
            for kind in TicketKind
        }
        self.category_ids = {code: c.id for code, c in categories(session, TEXTS).items()}

    def add_accounts(self, phones: Phones) -> None:
        """Residents who filed the history's tickets (the showcase residents keep
        the stories); one account for about HOUSEHOLDS_PER_ACCOUNT households."""
        world = self.world
        for key, place in world.places.items():
            count = max(3, place.households // HOUSEHOLDS_PER_ACCOUNT)
            users = [
                User(
                    sub=f"demo-resident-{key}-h{number}",
                    role=Role.resident,
                    name=name,
                    phone=phones.mobile(),
                    community_id=world.communities[key].id,
                    created_at=world.users[PROVINCE_ADMIN].created_at,
                    updated_at=world.users[PROVINCE_ADMIN].created_at,
                )
                for number, name in enumerate(local_names(self.rng, count), start=1)
            ]
            self.session.add_all(users)
            self.accounts[key] = users
        self.session.flush()

    def plan(self, first_day: dt.date, last_day: dt.date) -> None:
        """Tickets filed on each day of [first_day, last_day), more as the action
        goes on and more heating repairs in winter."""
        rng = self.rng
        communities = list(self.world.places)
        weights = [
            self.world.places[c].households * (1.0 if self._served(c) else 0.3) for c in communities
        ]
        action_days = (ACTION_START.replace(year=ACTION_START.year + 3) - ACTION_START).days
        day = first_day
        while day < last_day:
            progress = min(1.0, (day - ACTION_START).days / action_days)
            for _ in range(int(_at(DAILY_TICKETS, progress) + rng.random())):
                community = rng.choices(communities, weights)[0]
                local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(
                    hours=rng.uniform(8.0, 21.5)
                )
                self._ticket(community, local.astimezone(dt.UTC), progress)
            day += dt.timedelta(days=1)

    def _served(self, community: str) -> bool:
        return self.world.serves(community, TicketKind.property) is not None

    def _kind_and_category(self, community: str, month: int) -> tuple[TicketKind, str, Priority]:
        rng, world = self.rng, self.world
        property_org = world.serves(community, TicketKind.property)
        weights = dict(KIND_WEIGHTS)
        weights[TicketKind.complaint] *= QUALITY[property_org].complaints if property_org else 1
        while True:
            kind = rng.choices(list(weights), list(weights.values()))[0]
            if (
                kind == TicketKind.elderly_care
                and not world.serves(community, kind)
                and community not in ADMIN_FALLBACK
                and rng.random() < 0.8
            ):
                continue  # few ask for a service nobody offers here
            break
        options = self.categories[kind]
        winter = month in (11, 12, 1, 2)
        summer = month in (5, 6, 7, 8, 9)
        heat = 4.0 if winter else 0.2 if summer else 1.0
        code, priority = rng.choices(
            options, [heat if c == "repair.heating" else 1.0 for c, _ in options]
        )[0]
        return kind, code, priority

    def _ticket(self, community: str, created: dt.datetime, progress: float) -> None:
        rng, world = self.rng, self.world
        kind, category, priority = self._kind_and_category(
            community, created.astimezone(self.zone).month
        )
        text_ = rng.choice(TEXTS[category])
        priority = text_.priority or priority
        respond_in, resolve_in = TARGETS[priority]
        organization = world.serves(community, kind)
        admin_assigns = organization is None and community in ADMIN_FALLBACK
        if admin_assigns:
            organization = ADMIN_FALLBACK[community]
        place = world.places[community]
        filer = reporter = rng.choice(self.accounts[community])
        on_behalf_of: tuple[str, str] | None = None
        channel = rng.choice((Channel.app, Channel.app, Channel.wechat, Channel.phone))
        elderly = kind == TicketKind.elderly_care and community in world.grid and place.elderly
        if elderly and rng.random() < 0.5:
            # The grid worker files, and confirms, for an elderly neighbour.
            filer = reporter = world.users[world.grid[community]]
            on_behalf_of = rng.choice(world.elderly[community])
            channel = Channel.walk_in
        filed = _Filed(
            community,
            category,
            kind,
            priority,
            text_,
            created,
            filer,
            reporter,
            on_behalf_of,
            channel,
        )
        index = len(self.tickets)
        events: list[dict[str, Any]] = []
        org_id = world.organizations[organization].id if organization else None
        admin = world.users[world.admin_for(community)]

        def event(
            at: dt.datetime,
            type_: str,
            actor: User | None,
            before: Status | None,
            after: Status | None,
            data: dict[str, Any] | None = None,
            org: int | None = org_id,
        ) -> None:
            events.append(
                {
                    "type": type_,
                    "actor_id": actor.id if actor else None,
                    "from_status": before,
                    "to_status": after,
                    "organization_id": org,
                    "internal": False,
                    "data": data or {},
                    "created_at": at,
                }
            )

        first_status = Status.assigned if org_id and not admin_assigns else Status.submitted
        event(
            created,
            "ticket.created",
            filer,
            None,
            first_status,
            {"category": category, "priority": str(priority), "channel": str(channel)},
            org=None if admin_assigns else org_id,
        )
        row: dict[str, Any] = {
            "status": first_status,
            "organization_id": None if admin_assigns else org_id,
            "assignee_id": None,
            "respond_by": created + dt.timedelta(seconds=respond_in),
            "resolve_by": created + dt.timedelta(seconds=resolve_in),
            "responded_at": None,
            "resolved_at": None,
            "closed_at": None,
            "response_breached": False,
            "resolution_breached": False,
            "rating": None,
            "rating_comment": None,
            "rating_tags": None,
            "reopen_count": 0,
            "sla_clock_started_at": created,
        }
        now = created
        if org_id is None:
            # Nobody serves this community for this work.
            now += dt.timedelta(hours=rng.uniform(1.0, 30.0))
            if rng.random() < 0.75:
                event(
                    now,
                    "ticket.rejected",
                    admin,
                    Status.submitted,
                    Status.rejected,
                    {"reason": UNSERVED_REASON},
                )
                row["status"] = Status.rejected
            else:
                event(
                    now,
                    "ticket.cancelled",
                    reporter,
                    Status.submitted,
                    Status.cancelled,
                    {"reason": CANCEL_REASONS[0]},
                )
                row["status"] = Status.cancelled
            self._finish(filed, now, row, events)
            return
        assert organization is not None
        quality = QUALITY[organization]
        dispatcher = world.users[world.dispatcher[organization]]
        tech = world.users[rng.choice(world.technicians[organization])]
        if admin_assigns:
            now += dt.timedelta(hours=rng.uniform(0.3, 6.0))
            event(
                now,
                "ticket.assigned",
                admin,
                Status.submitted,
                Status.assigned,
                {"organization_id": org_id},
            )
            row["organization_id"] = org_id
        # Responded (accepted) within the target or late, as the company goes.
        on_time = rng.random() < _at(quality.respond, progress)
        response = respond_in * (rng.uniform(0.1, 0.9) if on_time else rng.uniform(1.15, 3.5))
        accepted = created + dt.timedelta(seconds=response)
        accepted = max(accepted, now + dt.timedelta(minutes=2))
        fate = rng.random()
        if fate < 0.045:
            # Cancelled by the resident, or rejected as a duplicate, before anyone came.
            now += (accepted - now) * rng.uniform(0.2, 0.8)
            if fate < 0.03:
                event(
                    now,
                    "ticket.cancelled",
                    reporter,
                    Status.assigned,
                    Status.cancelled,
                    {"reason": CANCEL_REASONS[0]},
                )
                row["status"] = Status.cancelled
            else:
                event(
                    now,
                    "ticket.rejected",
                    admin,
                    Status.assigned,
                    Status.rejected,
                    {"reason": DUPLICATE_REASON},
                )
                row["status"] = Status.rejected
            self._finish(filed, now, row, events)
            return
        dispatched = now + (accepted - now) * rng.uniform(0.1, 0.7)
        event(
            dispatched,
            "ticket.dispatched",
            dispatcher,
            Status.assigned,
            Status.assigned,
            {"organization_id": org_id, "assignee_id": tech.id},
        )
        row["assignee_id"] = tech.id
        if accepted > row["respond_by"]:
            event(
                row["respond_by"],
                "ticket.sla_breached",
                None,
                None,
                None,
                {"clock": "response", "due_at": row["respond_by"].isoformat()},
            )
            row["response_breached"] = True
        event(accepted, "ticket.accepted", tech, Status.assigned, Status.accepted)
        row["responded_at"] = accepted
        started = accepted + dt.timedelta(minutes=rng.uniform(10, 180) * PACE[priority])
        event(started, "ticket.started", tech, Status.accepted, Status.in_progress)
        on_time = rng.random() < _at(quality.resolve, progress)
        due = row["resolve_by"]
        if on_time and due > started + dt.timedelta(minutes=20):
            resolved = started + (due - started) * rng.uniform(0.05, 0.9)
        else:
            resolved = max(due, started) + dt.timedelta(
                seconds=resolve_in * rng.uniform(0.05, 1.5) + 600
            )
        if resolved > due:
            event(
                due,
                "ticket.sla_breached",
                None,
                None,
                None,
                {"clock": "resolution", "due_at": due.isoformat()},
            )
            row["resolution_breached"] = True
        late = row["response_breached"] or row["resolution_breached"]
        note = rng.choice(RESOLVE_NOTES[kind])
        event(
            resolved,
            "ticket.resolved",
            tech,
            Status.in_progress,
            Status.resolved,
            {"note": note, "attachment_ids": []},
        )
        mood = _at(quality.mood, progress) - (0.9 if late else 0.0)
        if rng.random() < quality.reopen:
            reopened = resolved + dt.timedelta(hours=rng.uniform(6, 48))
            event(
                reopened,
                "ticket.reopened",
                reporter,
                Status.resolved,
                Status.in_progress,
                {"reason": REOPEN_REASON},
            )
            # Reopening restarts the resolution clock, as service/sla/clock.py does.
            row["resolve_by"] = reopened + dt.timedelta(seconds=resolve_in)
            row["sla_clock_started_at"] = reopened
            resolved = reopened + dt.timedelta(seconds=resolve_in * rng.uniform(0.05, 0.8))
            event(
                resolved,
                "ticket.resolved",
                tech,
                Status.in_progress,
                Status.resolved,
                {"note": note, "attachment_ids": []},
            )
            row["reopen_count"] = 1
            mood -= 1.2
        row["resolved_at"] = resolved
        close_days = self.settings.auto_close_days
        if rng.random() < 0.72:
            closed = resolved + dt.timedelta(hours=rng.uniform(1, close_days * 12))
            rating = max(1, min(5, round(rng.gauss(mood, 0.8))))
            comment, tags = CONFIRM_COMMENTS[rating]
            event(
                closed,
                "ticket.confirmed",
                reporter,
                Status.resolved,
                Status.closed,
                {"rating": rating, "comment": comment, "tags": tags},
            )
            row.update(rating=rating, rating_comment=comment, rating_tags=tags)
        else:
            closed = resolved + dt.timedelta(days=close_days, hours=rng.uniform(0, 24))
            event(
                closed,
                "ticket.closed",
                None,
                Status.resolved,
                Status.closed,
                {"reason": "auto_close"},
            )
        row["status"], row["closed_at"], now = Status.closed, closed, closed
        if rng.random() < _at(quality.follow_up, progress):
            satisfied = (row["rating"] or mood) >= 3.5 or rng.random() < 0.2
            now = closed + dt.timedelta(hours=rng.uniform(2, 72))
            method = rng.choice((FollowUpMethod.phone, FollowUpMethod.phone, FollowUpMethod.visit))
            self.follow_ups.append(
                {
                    "ticket_index": index,
                    "method": method,
                    "satisfied": satisfied,
                    "note": FOLLOW_UP_NOTES[satisfied],
                    "created_by_id": dispatcher.id,
                    "organization_id": org_id,
                    "created_at": now,
                }
            )
            event(
                now,
                "ticket.followed_up",
                dispatcher,
                None,
                None,
                {
                    "follow_up": len(self.follow_ups) - 1,
                    "method": str(method),
                    "satisfied": satisfied,
                },
            )
        self._finish(filed, closed, row, events)

    def _finish(
        self, filed: _Filed, updated: dt.datetime, row: dict[str, Any], events: list[dict[str, Any]]
    ) -> None:
        rng, world = self.rng, self.world
        building = unit = room = area = None
        community, on_behalf_of, reporter = filed.community, filed.on_behalf_of, filed.reporter
        if filed.kind != TicketKind.complaint:
            building, area = f"{rng.randint(1, 12)}号楼", LocationArea.public
            if not filed.text.public:
                unit, area = f"{rng.randint(1, 4)}单元", LocationArea.private
                room = f"{rng.randint(1, 6)}0{rng.randint(1, 4)}"
        # A breach is noticed at its deadline, which may come before the step
        # that missed it was planned: the timeline is put in time order.
        events.sort(key=lambda e: e["created_at"])
        changes = sum(1 for e in events if e["to_status"] is not None)
        self.tickets.append(
            {
                **row,
                "kind": filed.kind,
                "category_id": self.category_ids[filed.category],
                "priority": filed.priority,
                "community_id": world.communities[community].id,
                "region_path": world.communities[community].region_path,
                "reporter_id": None if on_behalf_of else reporter.id,
                "reporter_name": on_behalf_of[0] if on_behalf_of else reporter.name,
                "filed_by_id": filed.filer.id,
                "on_behalf_of_name": on_behalf_of[0] if on_behalf_of else None,
                "on_behalf_of_phone": on_behalf_of[1] if on_behalf_of else None,
                "channel": filed.channel,
                "title": filed.text.title,
                "description": filed.text.description,
                "building": building,
                "unit": unit,
                "room": room,
                "area": area,
                "contact_phone": on_behalf_of[1] if on_behalf_of else reporter.phone,
                "attachments": [],
                "paused_seconds": 0,
                "created_at": filed.created,
                "updated_at": updated,
                "version": changes,
            }
        )
        self.events.append(events)

    def write(self) -> None:
        """Everything, in bulk: ids first, so that events can name them."""
        session, tz = self.session, self.settings.timezone
        ticket_ids = new_ids(session, Ticket.__table__, len(self.tickets))
        for ticket_id, row in zip(ticket_ids, self.tickets, strict=True):
            row["id"] = ticket_id
            row["number"] = ticket_number(ticket_id, row["created_at"], tz)
        follow_up_ids = new_ids(session, FollowUp.__table__, len(self.follow_ups))
        follow_ups = []
        for follow_up_id, follow_up in zip(follow_up_ids, self.follow_ups, strict=True):
            ticket_index = follow_up.pop("ticket_index")
            follow_ups.append(
                {**follow_up, "id": follow_up_id, "ticket_id": ticket_ids[ticket_index]}
            )
        events = []
        for ticket_id, timeline in zip(ticket_ids, self.events, strict=True):
            for event in timeline:
                if "follow_up" in event["data"]:
                    data = dict(event["data"])
                    data["follow_up_id"] = follow_up_ids[data.pop("follow_up")]
                    event = {**event, "data": data}
                events.append({**event, "ticket_id": ticket_id})
        event_ids = new_ids(session, TicketEvent.__table__, len(events))
        for event_id, event in zip(event_ids, events, strict=True):
            event["id"] = event_id
        session.execute(insert(cast(Table, Ticket.__table__)), self.tickets)
        if follow_ups:
            session.execute(insert(cast(Table, FollowUp.__table__)), follow_ups)
        session.execute(insert(cast(Table, TicketEvent.__table__)), events)


def write_history(
    session: Session,
    settings: Settings,
    world: DemoWorld,
    phones: Phones,
    rng: random.Random,
    today: dt.date,
) -> int:
    """The tickets of the action so far, until HISTORY_GAP_DAYS before today."""
    history = _History(session, settings, world, rng)
    history.add_accounts(phones)
    history.plan(ACTION_START, today - dt.timedelta(days=HISTORY_GAP_DAYS))
    history.write()
    return len(history.tickets)
