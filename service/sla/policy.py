"""Which policy governs a ticket, and where its clocks stand.

The configuration (policies, calendars, their overrides, the category tree)
is small and read on every ticket creation, so each process keeps it in
memory as an immutable `SlaConfig`, keyed by the stamp in
`sla_config_version`; every write to policies or calendars sets a new stamp,
and ticket creation reads the stamp in the query it makes anyway, so a change
made on one instance is seen by every instance on its next ticket.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.directory.changes import on_zone_change
from service.directory.models import Region
from service.enums import Priority, Status, TicketKind
from service.sla.calendar import WorkCalendar, normalise_spans, parse_hhmm
from service.sla.models import Calendar, CalendarDay, SlaConfigVersion, SlaPolicy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED_CLOCKS = frozenset({Status.resolved, Status.closed, Status.cancelled, Status.rejected})
RESPONSE_PENDING = frozenset({Status.submitted, Status.assigned})


@dataclass(frozen=True)
class PolicySpec:
    id: int
    name: str
    calendar_id: int
    # The calendar names its own zone; otherwise the ticket's region decides.
    calendar_zoned: bool
    kind: TicketKind | None
    category: str | None
    priority: Priority | None
    respond_minutes: int | None
    resolve_minutes: int | None
    use_preferred_window: bool
    calendar: WorkCalendar
    pause_on: frozenset[str]
    escalate_after_minutes: int


@dataclass(frozen=True)
class SlaConfig:
    stamp: str
    policies: tuple[PolicySpec, ...]
    by_id: dict[int, PolicySpec]
    # category id -> its code and its ancestors' codes, nearest first
    category_chain: dict[int, tuple[str, ...]]
    kind_of_category: dict[int, TicketKind]
    default_zone: str = "Asia/Shanghai"
    # region path -> the time zone set on that region (inherited down the tree)
    region_zones: dict[str, str] = field(default_factory=dict)
    _zoned: dict[tuple[int, str], PolicySpec] = field(default_factory=dict, compare=False)

    def policy_for(
        self, kind: TicketKind, category_id: int, priority: Priority, region_path: str = ""
    ) -> PolicySpec | None:
        chain = self.category_chain.get(category_id, ())
        return self.localised(best_policy(self.policies, kind, chain, priority), region_path)

    def policy_by_id(self, policy_id: int | None, region_path: str = "") -> PolicySpec | None:
        if policy_id is None:
            return None
        return self.localised(self.by_id.get(policy_id), region_path)

    def zone_for(self, region_path: str) -> str:
        """The nearest time zone set on the region or its ancestors ("/1/7/42/")."""
        if self.region_zones:
            parts = region_path.strip("/").split("/")
            for depth in range(len(parts), 0, -1):
                zone = self.region_zones.get("/" + "/".join(parts[:depth]) + "/")
                if zone is not None:
                    return zone
        return self.default_zone

    def localised(self, policy: PolicySpec | None, region_path: str) -> PolicySpec | None:
        """The policy with its calendar in the ticket's local time, unless the
        calendar names a zone of its own."""
        if policy is None or policy.calendar_zoned:
            return policy
        zone = self.zone_for(region_path)
        if zone == self.default_zone:
            return policy
        key = (policy.id, zone)
        if key not in self._zoned:
            calendar = dataclasses.replace(policy.calendar, zone=ZoneInfo(zone))
            self._zoned[key] = dataclasses.replace(policy, calendar=calendar)
        return self._zoned[key]


def best_policy(
    policies: Iterable[PolicySpec], kind: TicketKind, chain: tuple[str, ...], priority: Priority
) -> PolicySpec | None:
    """The most specific active policy that matches: one naming the priority
    beats one that does not; then the nearest category up the tree; then one
    naming the kind; then the oldest."""
    best: PolicySpec | None = None
    best_key: tuple[int, int, int, int] | None = None
    for policy in policies:
        if policy.kind is not None and policy.kind != kind:
            continue
        if policy.priority is not None and policy.priority != priority:
            continue
        nearness = 0
        if policy.category is not None:
            if policy.category not in chain:
                continue
            nearness = len(chain) - chain.index(policy.category)
        key = (policy.priority is not None, nearness, policy.kind is not None, -policy.id)
        if best_key is None or key > best_key:
            best, best_key = policy, key
    return best


def weekly_spans(hours: dict[str, list[list[str]]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(
        normalise_spans([(parse_hhmm(s), parse_hhmm(e)) for s, e in hours.get(day, [])])
        for day in WEEKDAYS
    )


def build_calendar(
    calendar: Calendar, days: Iterable[CalendarDay], default_zone: str
) -> WorkCalendar:
    weekly = weekly_spans(calendar.hours)
    overrides: dict[dt.date, tuple[tuple[int, int], ...]] = {}
    for day in days:
        if not day.working:
            overrides[day.observed_on] = ()
        elif day.hours is None:
            overrides[day.observed_on] = weekly[0]
        else:
            overrides[day.observed_on] = normalise_spans(
                [(parse_hhmm(s), parse_hhmm(e)) for s, e in day.hours]
            )
    return WorkCalendar(
        zone=ZoneInfo(calendar.timezone or default_zone),
        weekly=weekly,
        official_holidays=calendar.official_holidays,
        overrides=overrides,
    )


# By database (the engine's URL: the worker threads' and the event loop's engines
# on one database share it), configuration stamp and default time zone.
_cache: dict[tuple[URL, str, str], SlaConfig] = {}
_cache_lock = threading.Lock()


def current_stamp(session: Session) -> str:
    return session.scalar(select(SlaConfigVersion.stamp).where(SlaConfigVersion.id == 1)) or ""


@on_zone_change  # the clocks run in each region's time zone
def touch(session: Session) -> None:
    """Mark the configuration changed (in the caller's transaction)."""
    session.execute(
        update(SlaConfigVersion).where(SlaConfigVersion.id == 1).values(stamp=uuid.uuid4().hex)
    )


def load_config(session: Session, default_zone: str, stamp: str | None = None) -> SlaConfig:
    """The configuration as of `stamp` (read it if not given), from memory when we have it."""
    if stamp is None:
        stamp = current_stamp(session)
    key = (session.get_bind().engine.url, stamp, default_zone)
    config = _cache.get(key)
    if config is not None:
        return config
    config = _read_config(session, default_zone, stamp)
    with _cache_lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = config
    return config


def config_with_category(
    session: Session, config: SlaConfig, category_id: int, default_zone: str
) -> SlaConfig:
    """Categories are added without touching the stamp: reload when one is new to us."""
    if category_id in config.category_chain:
        return config
    fresh = _read_config(session, default_zone, config.stamp)
    with _cache_lock:
        _cache[(session.get_bind().engine.url, config.stamp, default_zone)] = fresh
    return fresh


def _read_config(session: Session, default_zone: str, stamp: str) -> SlaConfig:
    days_by_calendar: dict[int, list[CalendarDay]] = {}
    for day in session.scalars(select(CalendarDay)):
        days_by_calendar.setdefault(day.calendar_id, []).append(day)
    rows = session.scalars(select(Calendar)).all()
    calendars = {
        c.id: build_calendar(c, days_by_calendar.get(c.id, []), default_zone) for c in rows
    }
    zoned = {c.id for c in rows if c.timezone}
    policies = tuple(
        PolicySpec(
            id=p.id,
            name=p.name,
            calendar_id=p.calendar_id,
            calendar_zoned=p.calendar_id in zoned,
            kind=p.kind,
            category=p.category,
            priority=p.priority,
            respond_minutes=p.respond_minutes,
            resolve_minutes=p.resolve_minutes,
            use_preferred_window=p.use_preferred_window,
            calendar=calendars[p.calendar_id],
            pause_on=frozenset(p.pause_on or ()),
            escalate_after_minutes=p.escalate_after_minutes,
        )
        for p in session.scalars(select(SlaPolicy).where(SlaPolicy.active).order_by(SlaPolicy.id))
    )
    parents: dict[int, tuple[str, int | None]] = {}
    kinds: dict[int, TicketKind] = {}
    for row in session.execute(
        select(Category.id, Category.code, Category.parent_id, Category.kind)
    ):
        parents[row.id] = (row.code, row.parent_id)
        kinds[row.id] = row.kind
    chains: dict[int, tuple[str, ...]] = {}
    for category_id in parents:
        chain: list[str] = []
        current: int | None = category_id
        while current is not None and current in parents and len(chain) < 32:
            code, current = parents[current]
            chain.append(code)
        chains[category_id] = tuple(chain)
    region_zones = dict(
        session.execute(select(Region.path, Region.timezone).where(Region.timezone.is_not(None)))
        .tuples()
        .all()
    )
    return SlaConfig(
        stamp=stamp,
        policies=policies,
        by_id={p.id: p for p in policies},
        category_chain=chains,
        kind_of_category=kinds,
        default_zone=default_zone,
        region_zones=region_zones,  # type: ignore[arg-type]
    )


# --- the clocks -------------------------------------------------------------


def response_deadline(policy: PolicySpec, created_at: dt.datetime) -> dt.datetime | None:
    if policy.respond_minutes is None:
        return None
    return policy.calendar.add(created_at, policy.respond_minutes * 60)


def resolution_deadline(
    policy: PolicySpec,
    clock_started_at: dt.datetime,
    paused_business_seconds: int,
    preferred_to: dt.datetime | None,
) -> dt.datetime | None:
    """Working time paused since the clock started pushes the deadline out by as much."""
    if policy.use_preferred_window and preferred_to is not None:
        return max(preferred_to, clock_started_at) + dt.timedelta(seconds=paused_business_seconds)
    if policy.resolve_minutes is None:
        return None
    return policy.calendar.add(
        clock_started_at, policy.resolve_minutes * 60 + paused_business_seconds
    )


def escalation_due(policy: PolicySpec, deadline: dt.datetime, level: int) -> dt.datetime:
    """When `level` (1 or 2) falls due for a clock whose deadline is `deadline`."""
    if level <= 1:
        return deadline
    return policy.calendar.add(deadline, policy.escalate_after_minutes * 60)
