"""The demo's stories: about fifty tickets of the last weeks, in every status,
planned here (who files what, when, and each step after) and replayed by
demo_replay through the service's own functions."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from service.config import Settings
from service.enums import Channel, Priority, Role, Status, TicketKind
from service.sample.demo_texts import TEXTS, Text, leaf_categories
from service.sample.demo_world import ADMIN_FALLBACK, DemoWorld

# --- how tickets go -----------------------------------------------------------

# A step: (action, who does it, hours after the previous step, parameter).
# Comments and follow-ups happen on some tickets only (see _OPTIONAL).
Step = tuple[str, str, tuple[float, float], str | None]
_DISPATCH: Step = ("assign", "dispatcher", (0.1, 1.5), None)
_ACCEPT: Step = ("accept", "tech", (0.1, 1.5), None)
_START: Step = ("start", "tech", (0.5, 5.0), None)
_RESOLVE: Step = ("resolve", "tech", (0.5, 6.0), None)
_CONFIRM: Step = ("confirm", "reporter", (2.0, 36.0), None)
_REOPEN: Step = ("reopen", "reporter", (6.0, 30.0), None)
_HOLD_PARTS: Step = ("hold", "tech", (0.5, 3.0), "awaiting_parts")
_FOLLOW: Step = ("follow_up", "dispatcher", (4.0, 48.0), None)
_ASK: Step = ("comment", "reporter", (0.2, 3.0), "public")
_REPLY: Step = ("comment", "tech", (0.1, 2.0), "public")
_NOTE: Step = ("comment", "dispatcher", (0.1, 2.0), "internal")
_OPTIONAL = {"comment": 0.6, "follow_up": 0.8}

PATHS: dict[str, tuple[Status, tuple[Step, ...]]] = {
    "new": (Status.assigned, ()),
    "dispatched": (Status.assigned, (_DISPATCH, _ASK)),
    "unserved": (Status.submitted, ()),
    "returned": (Status.submitted, (("return", "dispatcher", (0.3, 4.0), None),)),
    "accepted": (Status.accepted, (_DISPATCH, _ACCEPT, _REPLY)),
    "in_progress": (Status.in_progress, (_DISPATCH, _ACCEPT, _REPLY, _START)),
    "reopened": (Status.in_progress, (_ACCEPT, _START, _RESOLVE, _REOPEN)),
    "on_hold_parts": (Status.on_hold, (_DISPATCH, _ACCEPT, _START, _HOLD_PARTS, _NOTE)),
    "on_hold_resident": (
        Status.on_hold,
        (_ACCEPT, ("hold", "tech", (0.5, 4.0), "awaiting_resident")),
    ),
    "resolved": (Status.resolved, (_DISPATCH, _ACCEPT, _START, _RESOLVE)),
    "closed": (Status.closed, (_DISPATCH, _ACCEPT, _START, _RESOLVE, _CONFIRM, _FOLLOW)),
    "closed_after_hold": (
        Status.closed,
        (
            _ACCEPT,
            _START,
            _HOLD_PARTS,
            _NOTE,
            ("resume", "tech", (20.0, 60.0), None),
            _RESOLVE,
            _CONFIRM,
        ),
    ),
    # Nobody confirms; the nightly auto-close closes it without a rating.
    "closed_auto": (
        Status.closed,
        (_DISPATCH, _ACCEPT, _START, _RESOLVE, ("follow_up", "admin", (2.0, 30.0), None)),
    ),
    "closed_reopened": (
        Status.closed,
        (
            _ACCEPT,
            _START,
            _RESOLVE,
            _REOPEN,
            ("resolve", "tech", (2.0, 20.0), None),
            ("confirm", "reporter", (2.0, 24.0), "3"),
            _FOLLOW,
        ),
    ),
    # No provider serves: the department sends it to one nearby.
    "admin_assigned": (
        Status.closed,
        (
            ("assign", "admin", (1.0, 20.0), None),
            _DISPATCH,
            _ACCEPT,
            _START,
            _RESOLVE,
            _CONFIRM,
            ("follow_up", "admin", (4.0, 48.0), None),
        ),
    ),
    "cancelled": (Status.cancelled, (("cancel", "reporter", (0.2, 8.0), None),)),
    "cancelled_after_accept": (
        Status.cancelled,
        (_ACCEPT, ("cancel", "reporter", (1.0, 12.0), None)),
    ),
    "cancelled_by_admin": (Status.cancelled, (("cancel", "admin", (2.0, 30.0), None),)),
    "rejected": (Status.rejected, (("reject", "admin", (1.0, 20.0), None),)),
    "duplicate": (Status.rejected, (("reject", "admin", (0.5, 3.0), None),)),
}
# The generated part of the demo (the showcase tickets come on top).
RANDOM_PATHS = (
    ("new", 3), ("dispatched", 2), ("unserved", 3), ("returned", 2), ("accepted", 4),
    ("in_progress", 3), ("reopened", 1), ("on_hold_parts", 2), ("on_hold_resident", 2),
    ("resolved", 4), ("closed", 6), ("closed_after_hold", 1), ("closed_auto", 3),
    ("closed_reopened", 1), ("admin_assigned", 1), ("cancelled", 2),
    ("cancelled_after_accept", 1), ("cancelled_by_admin", 1), ("rejected", 2),
)  # fmt: skip
_OPEN_PATHS = {
    "new", "dispatched", "unserved", "returned", "accepted", "in_progress", "reopened",
    "on_hold_parts", "on_hold_resident",
}  # fmt: skip
# Emergencies are answered within minutes, low-priority requests within a day or so.
PACE = {Priority.emergency: 0.15, Priority.urgent: 0.4, Priority.normal: 1.0, Priority.low: 2.5}
_PACED = {"accept", "start", "resolve"}
KIND_WEIGHTS: dict[TicketKind, float] = {
    TicketKind.property: 60,
    TicketKind.elderly_care: 25,
    TicketKind.complaint: 15,
}


# --- planning the tickets -----------------------------------------------------


@dataclass
class Story:
    key: str
    path: str
    community: str
    category: str
    kind: TicketKind
    text: Text
    filer: str
    reporter: str  # who confirms, cancels, reopens: the resident, or the grid worker
    channel: Channel
    on_behalf_of: tuple[str, str] | None
    contact_phone: str | None
    location: dict[str, str] | None
    preferred: tuple[dt.datetime, dt.datetime] | None
    organization: str | None
    tech: str | None
    admin: str
    created_at: dt.datetime
    steps: list[tuple[dt.datetime, Step]] = field(default_factory=list)
    duplicate_of: str | None = None
    ticket_id: int | None = None

    @property
    def expected(self) -> Status:
        return PATHS[self.path][0]


class _Planner:
    def __init__(
        self, rng: random.Random, world: DemoWorld, settings: Settings, now: dt.datetime
    ) -> None:
        self.rng, self.world, self.settings, self.now = rng, world, settings, now
        self.zone = ZoneInfo(settings.timezone)
        self.stories: list[Story] = []
        self._text_turn: dict[str, int] = {}
        self._kinds = {code: kind for code, kind, *_ in leaf_categories()}

    def _text(self, category: str) -> Text:
        texts = TEXTS[category]
        turn = self._text_turn.get(category, self.rng.randrange(len(texts)))
        self._text_turn[category] = turn + 1
        return texts[turn % len(texts)]

    def _created_at(self, path: str, days_ago: float | None) -> dt.datetime:
        rng, close_days = self.rng, self.settings.auto_close_days
        if days_ago is None:
            if path == "resolved":
                days_ago = rng.uniform(0.3, max(0.5, min(3.0, close_days / 2)))
            elif path == "closed_auto":
                days_ago = rng.uniform(close_days + 5, close_days + 30)
            elif path in _OPEN_PATHS:
                days_ago = rng.uniform(0.1, 5.0) if rng.random() < 0.8 else rng.uniform(5, 20)
            else:
                days_ago = rng.uniform(2.0, 40.0)
        moment = self.now - dt.timedelta(days=days_ago)
        if days_ago < 1:
            return moment
        # People file during the day, local time.
        local = moment.astimezone(self.zone)
        start_of_day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        moment = (start_of_day + dt.timedelta(hours=rng.uniform(8.0, 21.5))).astimezone(dt.UTC)
        return moment if moment < self.now - dt.timedelta(hours=1) else moment - dt.timedelta(1)

    def _schedule(self, story: Story, priority: Priority) -> None:
        rng, moment, planned = self.rng, story.created_at, []
        for step in PATHS[story.path][1]:
            action, _, (low, high), _ = step
            if action in _OPTIONAL and rng.random() > _OPTIONAL[action]:
                continue
            hours = rng.uniform(low, high) * (PACE[priority] if action in _PACED else 1.0)
            if action in ("confirm", "reopen"):
                # The reporter answers before the nightly auto-close would.
                hours = min(hours, self.settings.auto_close_days * 24 / 2)
            moment += dt.timedelta(hours=max(hours, 0.02))
            planned.append((moment, step))
        latest = self.now - dt.timedelta(minutes=rng.uniform(3, 30))
        if planned and planned[-1][0] > latest:
            # Squeeze a timeline that would run into the future into the time there was.
            scale = (latest - story.created_at) / (planned[-1][0] - story.created_at)
            planned = [(story.created_at + (at - story.created_at) * scale, s) for at, s in planned]
        story.steps = planned

    def add(
        self,
        path: str,
        community: str,
        category: str,
        *,
        filer: str | None = None,
        days_ago: float | None = None,
        duplicate_of: str | None = None,
        text: Text | None = None,
    ) -> Story:
        rng, world = self.rng, self.world
        kind = self._kinds[category]
        text = text or self._text(category)
        organization = world.serves(community, kind)
        if path == "admin_assigned":
            organization = ADMIN_FALLBACK[community]
        filer = filer or self._pick_filer(community, kind, organization, path)
        filer_user = world.users[filer]
        on_behalf_of, reporter = None, filer
        if filer_user.role == Role.grid_worker:
            on_behalf_of = rng.choice(world.elderly[community])
            channel = Channel.walk_in
        elif filer_user.role == Role.provider_staff:
            reporter = rng.choice(world.residents[community])
            resident = world.users[reporter]
            assert resident.phone is not None
            on_behalf_of = (resident.name, resident.phone)
            channel = Channel.phone
        else:
            channel = rng.choice((Channel.app, Channel.app, Channel.wechat))
        contact = on_behalf_of[1] if on_behalf_of else filer_user.phone
        location = preferred = None
        created_at = self._created_at(path, days_ago)
        if kind != TicketKind.complaint:
            location = {"building": f"{rng.randint(1, 12)}号楼", "area": "public"}
            if not text.public:
                floor = rng.randint(1, 6)
                location.update(
                    unit=f"{rng.randint(1, 4)}单元", room=f"{floor}0{rng.randint(1, 4)}"
                )
                location["area"] = "private"
                if rng.random() < 0.3:
                    day = (created_at.astimezone(self.zone) + dt.timedelta(days=1)).replace(
                        hour=10, minute=0, second=0, microsecond=0
                    )
                    preferred = (day, day + dt.timedelta(hours=2))
        category_priority = _leaf_priority(category)
        story = Story(
            key=f"t{len(self.stories) + 1:02d}",
            path=path,
            community=community,
            category=category,
            kind=kind,
            text=text,
            filer=filer,
            reporter=reporter,
            channel=channel,
            on_behalf_of=on_behalf_of,
            contact_phone=contact,
            location=location,
            preferred=preferred,
            organization=organization,
            tech=rng.choice(world.technicians[organization]) if organization else None,
            admin=world.admin_for(community),
            created_at=created_at,
            duplicate_of=duplicate_of,
        )
        self._schedule(story, text.priority or category_priority)
        self.stories.append(story)
        return story

    def _pick_filer(
        self, community: str, kind: TicketKind, organization: str | None, path: str
    ) -> str:
        rng, world = self.rng, self.world
        roll = rng.random()
        grid_share = 0.55 if kind == TicketKind.elderly_care else 0.12
        if community in world.grid and world.elderly[community] and roll < grid_share:
            return world.grid[community]
        phone_in = organization and path not in ("unserved", "admin_assigned", "returned")
        if phone_in and kind != TicketKind.complaint and roll > 0.85:
            assert organization is not None
            return world.dispatcher[organization]
        return rng.choice(world.residents[community])

    def add_random(self, path: str) -> Story:
        rng, world = self.rng, self.world
        while True:
            if path == "returned":
                category = rng.choice(("neighbour.dispute", "neighbour.noise"))
            elif path == "admin_assigned":
                category = rng.choice(("elderly.meal", "elderly.cleaning", "elderly.visit"))
            else:
                kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
                category = rng.choice([c for c, k in self._kinds.items() if k == kind])
            kind = self._kinds[category]
            if path == "admin_assigned":
                candidates = [c for c in ADMIN_FALLBACK if not world.serves(c, kind)]
            elif path == "unserved":
                candidates = [c for c in world.communities if not world.serves(c, kind)]
            else:
                candidates = [c for c in world.communities if world.serves(c, kind)]
            if candidates:
                return self.add(path, rng.choice(candidates), category)


def _leaf_priority(category: str) -> Priority:
    return next(p for code, _, p in leaf_categories() if code == category)


def plan_stories(
    rng: random.Random, world: DemoWorld, settings: Settings, now: dt.datetime
) -> list[Story]:
    planner = _Planner(rng, world, settings, now)
    aygul, wang = world.residents["xingfu"][0], world.residents["xingfu"][1]
    # Showcase tickets for the people whose tokens the summary prints.
    planner.add("resolved", "xingfu", "repair.heating", filer=aygul, days_ago=1.2)
    planner.add("closed", "xingfu", "repair.plumbing", filer=aygul, days_ago=12)
    planner.add("dispatched", "xingfu", "public.lighting", filer=aygul, days_ago=0.4)
    planner.add("new", "xingfu", "repair.doors_locks", filer=wang, days_ago=0.06)
    planner.add("accepted", "xingfu", "elderly.meal", filer=world.grid["xingfu"], days_ago=0.5)
    # Two neighbours report the same broken lift; the district rejects the second.
    lift = TEXTS["repair.elevator"][0]
    first = planner.add("in_progress", "heping", "repair.elevator", days_ago=0.7, text=lift)
    planner.add(
        "duplicate",
        "heping",
        "repair.elevator",
        filer=next(s for s in world.residents["heping"] if s != first.filer),
        days_ago=0.68,
        duplicate_of=first.key,
        text=lift,
    )
    for path, count in RANDOM_PATHS:
        for _ in range(count):
            planner.add_random(path)
    return planner.stories
