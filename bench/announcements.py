"""Announcements: what they cost a creation, and what posting one costs.

    python bench/announcements.py [--backends sqlite,postgres] [--rounds 20]
                                  [--executions 500] [--history 200] [--residents 2000]

1. Filing. The filing context (service/tickets/filing.py), the one SELECT of
   every creation, with its `announced` column and without it (the same
   statement otherwise, compiled for the driver as filing does), executed in
   turn `--rounds` times `--executions` each in one process, by a resident of a
   community with `--history` announcements that are over and none current: the
   median µs of one execution of each, and their difference. Then the SELECT a
   creation adds when its community has one current (current.current_in).
2. Posting. One announcement to the bench world's 10 communities of
   `--residents` residents each (half with a WeChat openid, a tenth with SMS
   on), WeChat and SMS configured: the service's work for the POST (the
   announcement, its communities, the notifications and the queued messages,
   each an INSERT ... SELECT), in a transaction rolled back; the median of 5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.setup_data import BENCH_SECRET, build_world, fresh_database  # noqa: E402
from service.announcements import current  # noqa: E402
from service.announcements import service as announcements  # noqa: E402
from service.announcements.models import Announcement, AnnouncementCommunity  # noqa: E402
from service.announcements.schemas import AnnouncementCreate  # noqa: E402
from service.auth import Principal  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import SETTINGS_INFO, driver_one, driver_query, make_engine, utcnow  # noqa: E402
from service.enums import AnnouncementKind, OrgRole, Role  # noqa: E402
from service.notifications import announced as _told  # noqa: E402, F401 - the listener
from service.notifications.models import (  # noqa: E402
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from service.scope import scope_values  # noqa: E402
from service.tickets import filing  # noqa: E402
from service.users.models import User  # noqa: E402

PG_URL = os.environ.get(
    "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


def _announcements(session: Session, community_id: int, count: int, *, ended: bool) -> None:
    now = utcnow()
    starts = now - dt.timedelta(days=30 if ended else 1)
    ends = now - dt.timedelta(days=29) if ended else now + dt.timedelta(days=1)
    for _ in range(count):
        announcement = Announcement(
            kind=AnnouncementKind.planned_outage,
            title="停水通知",
            body="主管道维修",
            starts_at=starts,
            ends_at=ends,
            created_by_id=1,
            created_at=starts,
        )
        session.add(announcement)
        session.flush()
        session.add(
            AnnouncementCommunity(
                announcement_id=announcement.id,
                community_id=community_id,
                shown_from=starts,
                shown_until=ends,
            )
        )


def _timed(session: Session, query: Any, params: dict[str, Any], executions: int) -> float:
    started = time.perf_counter()
    for _ in range(executions):
        driver_one(session, query, params)
    return (time.perf_counter() - started) / executions * 1e6


def filing_cost(engine: Any, world: Any, args: argparse.Namespace) -> dict[str, float]:
    with Session(engine) as session, session.begin():
        _announcements(session, world.community_ids[0], args.history, ended=True)
        _announcements(session, world.community_ids[1], 1, ended=False)
    dialect = engine.dialect
    statement = filing._filing_statement(dialect.name, Role.resident, None, False, False)
    without = statement.with_only_columns(
        *[c for c in statement.selected_columns if c.key != "announced"]
    )
    queries = {
        "with": driver_query(dialect, statement, filing._FILING_PARAMS),
        "without": driver_query(dialect, without, filing._FILING_PARAMS),
    }
    principal = Principal(
        user_id=world.reporter_id, role=Role.resident, community_id=world.community_ids[0]
    )
    params = {
        "filing_community_id": world.community_ids[0],
        "filing_category": "repair.plumbing",
        "filing_now": utcnow(),
        **scope_values(principal),
    }
    timings: dict[str, list[float]] = {"with": [], "without": []}
    lookups = []
    with Session(engine) as session, session.begin():
        row = driver_one(session, queries["with"], params)
        assert row is not None and not row["announced"], row
        for _ in range(2):  # warm
            for query in queries.values():
                _timed(session, query, params, args.executions // 5)
        for round_ in range(args.rounds):
            order = ("with", "without") if round_ % 2 == 0 else ("without", "with")
            for name in order:
                timings[name].append(_timed(session, queries[name], params, args.executions))
            started = time.perf_counter()
            for _ in range(args.executions):
                shown = current.current_in(session, world.community_ids[1], utcnow())
            lookups.append((time.perf_counter() - started) / args.executions * 1e6)
            assert len(shown) == 1
    with_ = statistics.median(timings["with"])
    without_ = statistics.median(timings["without"])
    return {
        "with": with_,
        "without": without_,
        "min_with": min(timings["with"]),
        "min_without": min(timings["without"]),
        "current_in": statistics.median(lookups),
    }


def posting_cost(engine: Any, world: Any, settings: Settings, residents: int) -> dict[str, float]:
    with Session(engine) as session, session.begin():
        first = session.scalar(select(func.coalesce(func.max(User.id), 0))) + 1
        now = utcnow()
        rows = []
        for c, community_id in enumerate(world.community_ids):
            for i in range(residents):
                n = c * residents + i
                rows.append(
                    {
                        "sub": f"announce-{n}",
                        "role": Role.resident,
                        "name": "",
                        "phone": f"139{n:08d}",
                        "wechat_openid": f"o-{n}" if n % 2 == 0 else None,
                        "community_id": community_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(User), rows)
        session.execute(
            insert(NotificationPreference),
            [
                {"user_id": first + n, "wechat": True, "sms": True, "muted": [], "updated_at": now}
                for n in range(0, len(rows), 10)
            ],
        )
        dispatcher = session.scalar(select(User.id).where(User.sub == "bench-dispatcher"))
    principal = Principal(
        user_id=int(dispatcher or 0),
        role=Role.provider_staff,
        organization_id=world.organization_id,
        org_role=OrgRole.dispatcher,
    )
    data = AnnouncementCreate(
        community_ids=world.community_ids,
        kind=AnnouncementKind.planned_outage,
        title="12月5日停水通知",
        body="因主管道维修，12月5日8:00至18:00停水，请提前储水。",
        starts_at=utcnow() + dt.timedelta(days=1),
        ends_at=utcnow() + dt.timedelta(days=1, hours=10),
    )
    times, notified, queued = [], 0, 0
    for _ in range(5):
        with Session(engine) as session:
            session.begin()
            session.info[SETTINGS_INFO] = settings
            started = time.perf_counter()
            announcement = announcements.post(session, principal, data)
            session.flush()
            times.append((time.perf_counter() - started) * 1000)
            notified = session.scalar(
                select(func.count()).where(Notification.announcement_id == announcement.id)
            )
            queued = session.scalar(
                select(func.count())
                .select_from(NotificationDelivery)
                .join(Notification, Notification.id == NotificationDelivery.notification_id)
                .where(Notification.announcement_id == announcement.id)
            )
            session.rollback()
    return {"ms": statistics.median(times), "notified": notified, "queued": queued}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--executions", type=int, default=500)
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--residents", type=int, default=2000)
    args = parser.parse_args()
    lines = []
    for backend in args.backends.split(","):
        url = fresh_database(backend, args.pg_url, "linli_bench_announcements")
        world = build_world(url)
        settings = Settings(
            database_url=url,
            jwt_secret=BENCH_SECRET,
            wechat_app_id="wx-bench",
            wechat_app_secret="bench-secret",
            wechat_templates={"*": "TPL"},
            sms_url="http://127.0.0.1:9/send",
        )
        engine = make_engine(settings)
        try:
            cost = filing_cost(engine, world, args)
            post = posting_cost(engine, world, settings, args.residents)
        finally:
            engine.dispose()
        lines.append(
            f"| {backend} | {cost['without']:.0f} (min {cost['min_without']:.0f}) "
            f"| {cost['with']:.0f} (min {cost['min_with']:.0f}) "
            f"| {cost['with'] - cost['without']:+.0f} | {cost['current_in']:.0f} "
            f"| {post['notified']:,} / {post['queued']:,} | {post['ms']:.0f} |"
        )
    print(
        "| backend | filing context µs, without `announced` | with it | difference "
        "| current_in µs | posting: notified / queued | posting ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
