"""A believable demo data set: `python -m service seed-demo`.

One province with four prefectures and six districts, ten communities renovated
in 2023, five property companies of different quality and two elderly-care
providers, people of every role, and tickets from the three-year action's start
(2024-01-01) to now, so that the dashboard's trend, rankings and red and black
lists have something to show. The same seed gives the same data (on the same
day: the history ends a fixed number of days before today).

Two parts:

- the **history**, a few thousand tickets from 2024-01-01 until six weeks ago,
  all finished, with their timelines (events), ratings, follow-up visits, SLA
  breaches and complaints, written in bulk (executemany): each company serves
  as well as its `QUALITY` says, the struggling one improving over the years;
- the **stories** of the last weeks, about fifty tickets in every status, some
  with comments: written by the service functions the API calls, acting as
  principals built from the seeded users, so every timeline is one the service
  itself would write. So that the timelines span the weeks instead of one
  second, the demo replays their actions in time order on a clock it moves
  forward: for the duration of the replay `utcnow()` answers the clock's time.
  The nightly auto-close of resolved tickets runs on that clock too; like the
  real `close-resolved` job it looks at every resolved ticket, so load the demo
  into an empty or development database.

Here the whole is put together and summed up; demo_world.py builds the
directory and its people, demo_history.py the history, demo_stories.py plans
the stories and demo_replay.py replays them; demo_texts.py is what people write.
"""

from __future__ import annotations

import datetime as dt
import random
import shlex
import sys
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import db
from service.categories.service import load_reference_tree
from service.config import Settings
from service.directory.models import Region
from service.enums import OrganizationKind, RegionLevel, Role, Status, TicketKind
from service.sample.demo_history import write_history
from service.sample.demo_replay import replay
from service.sample.demo_stories import plan_stories
from service.sample.demo_world import (
    COUNTIES,
    COUNTY_ADMIN,
    PREFECTURES,
    PROVIDERS,
    PROVINCE_ADMIN,
    WORLD_EPOCH,
    DemoWorld,
    Phones,
    build_world,
)
from service.sample.world import PROVINCE  # tests load the demo under another name
from service.tickets.models import FollowUp, Ticket, TicketComment
from service.users.models import User

# --- the summary --------------------------------------------------------------


# The commands printed work as printed, from any directory, venv active or not:
# the interpreter that runs this one.
CLI = f"{shlex.quote(sys.executable)} -m service"


def _token_command(user: User) -> str:
    parts = [f"{CLI} token", f"--role {user.role}", f"--sub {user.sub}"]
    parts.append(f"--name {shlex.quote(user.name)}")
    if user.phone:
        parts.append(f"--phone {user.phone}")
    if user.community_id is not None:
        parts.append(f"--community-id {user.community_id}")
    if user.organization_id is not None:
        parts.append(f"--organization-id {user.organization_id} --org-role {user.org_role}")
    if user.region_id is not None:
        parts.append(f"--region-id {user.region_id}")
    return " ".join(parts)


SHOWCASE = (
    ("demo-resident-xingfu-1", "resident; confirm her resolved heating repair"),
    ("demo-grid-xingfu", "grid worker; files for elderly neighbours"),
    ("demo-yiju-dispatcher", "dispatcher of the property company; dispatch the new tickets"),
    ("demo-yiju-tech-1", "technician of the property company"),
    ("demo-yikang-dispatcher", "dispatcher of the elderly-care provider"),
    (COUNTY_ADMIN, "admin of 天山区"),
    (PROVINCE_ADMIN, "admin of the whole province"),
)


def _how_to_act(session: Session) -> list[str]:
    users = {
        user.sub: user
        for user in session.scalars(select(User).where(User.sub.in_([s for s, _ in SHOWCASE])))
    }
    if not users:
        return []
    lines = [
        "",
        "Act as a demo user (each token maps to the seeded user with that sub; keep the"
        " name and phone so the user is not updated):",
    ]
    for sub, role in SHOWCASE:
        if sub in users:
            lines.append(f"  # {users[sub].name}, {role}")
            lines.append(f"  {_token_command(users[sub])}")
    dispatcher = users.get("demo-yiju-dispatcher")
    if dispatcher is not None:
        lines.append("  # an API key for the property company's dispatch system")
        lines.append(f"  {CLI} api-key create --organization-id {dispatcher.organization_id}")
    lines += [
        "Then, with the server running (make run):",
        f"  export LINLI_TOKEN=$({CLI} token ...)",
        '  curl -s -H "Authorization: Bearer $LINLI_TOKEN" http://127.0.0.1:8000/v1/tickets',
    ]
    return lines


def _summary(session: Session, world: DemoWorld, seed: int) -> list[str]:
    prefix = world.province.path
    in_demo = Ticket.region_path.startswith(prefix, autoescape=True)
    by_status = dict(
        session.execute(
            select(Ticket.status, func.count()).where(in_demo).group_by(Ticket.status)
        ).all()
    )
    by_kind = dict(
        session.execute(
            select(Ticket.kind, func.count()).where(in_demo).group_by(Ticket.kind)
        ).all()
    )
    comments = session.scalar(
        select(func.count()).select_from(TicketComment).join(Ticket).where(in_demo)
    )
    follow_ups = session.scalar(
        select(func.count()).select_from(FollowUp).join(Ticket).where(in_demo)
    )
    first, rated, breached = session.execute(
        select(
            func.min(Ticket.created_at),
            func.count(Ticket.rating),
            func.count().filter(Ticket.response_breached | Ticket.resolution_breached),
        ).where(in_demo)
    ).one()
    roles: dict[str, int] = {}
    for user in world.users.values():
        roles[str(user.role)] = roles.get(str(user.role), 0) + 1
    companies = sum(1 for p in PROVIDERS if p.kind == OrganizationKind.property_company)
    return [
        f"Linli demo data loaded (seed {seed}):",
        f"  regions: 1 province ({world.province.name}), {len(PREFECTURES)} prefectures,"
        f" {len(COUNTIES)} counties/districts",
        f"  communities: {len(world.communities)} (renovated 2023, batches 第一批/第二批)",
        f"  organisations: {companies} property companies,"
        f" {len(PROVIDERS) - companies} elderly-care providers,"
        f" {len(world.serving)} provider assignments",
        "  people by role: " + ", ".join(f"{role} {roles.get(str(role), 0)}" for role in Role),
        f"  tickets: {sum(by_status.values())} ("
        + ", ".join(f"{by_kind.get(kind, 0)} {kind}" for kind in TicketKind)
        + ")",
        "    by status: " + ", ".join(f"{status} {by_status.get(status, 0)}" for status in Status),
        f"    since {first:%Y-%m-%d}: {rated} rated, {breached} past an SLA deadline,"
        f" {by_kind.get(TicketKind.complaint, 0)} complaints",
        f"    comments: {comments}, follow-up visits: {follow_ups}",
    ]


def seed_demo(session: Session, settings: Settings, *, seed: int = 7) -> list[str]:
    """Load the demo data set (once); returns the lines to print."""
    if session.scalar(select(User.id).where(User.sub == PROVINCE_ADMIN)) is not None:
        return ["The demo data is already loaded; nothing added.", *_how_to_act(session)]
    clash = session.scalar(
        select(Region.id).where(Region.level == RegionLevel.province, Region.name == PROVINCE)
    )
    if clash is not None:
        # Real data: the demo's people and tickets would mix with real ones.
        return [
            f"A region {PROVINCE} (id {clash}) exists that the demo did not create;"
            " load the demo into an empty database. Nothing added."
        ]
    load_reference_tree(session)
    rng = random.Random(seed)
    now = db.utcnow()
    zone = ZoneInfo(settings.timezone)
    epoch = dt.datetime.combine(WORLD_EPOCH, dt.time(), zone).astimezone(dt.UTC)
    world = build_world(session, settings, rng, epoch, PROVINCE)
    # The history draws from a generator of its own: the stories stay as they were.
    history_rng = random.Random(seed * 7919 + 1)
    today = now.astimezone(zone).date()
    write_history(session, settings, world, Phones(history_rng), history_rng, today)
    stories = plan_stories(rng, world, settings, now)
    replay(session, settings, world, stories, rng, now)
    return _summary(session, world, seed) + _how_to_act(session)
