"""The care plans' horizon job for many active plans: time per run and SQL
statements per plan.

    python bench/care_horizon.py [--plans 20000] [--hours 24 168] [--backend sqlite|postgres]

For each horizon: a fresh database with the bench world (bench/setup_data.py),
a care provider serving its communities, N elders and N active plans (three in
four daily meals at 11:30, one in four bathing on MO,WE,FR at 15:00, all in
Ürümqi time, skipping holidays), every plan due from now. Then the job's
function (`service.care.horizon.make_visits`, batches of 500) runs on a
JobContext as the runner would call it, once to make the horizon's visits and
once more (nothing is due: the index answers). Statements are counted on the
engine (an executemany is one); the job's lease is 5 minutes and a turn stops
taking batches after TURN_BUDGET_SECONDS (60 s).

With `--missed`, then the missed-visit sweep (`service.care.visits.sweep_missed`)
two days later, when every visit made is past its grace and none was begun —
a provider's whole day gone wrong, the worst case — and once more (nothing
pending: the partial index answers). Each missed visit writes its event and
the alerts to the provider's dispatchers and the community's grid workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, insert, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.setup_data import build_world, fresh_database  # noqa: E402
from service.care import horizon, visits  # noqa: E402
from service.care.models import CarePlan, Elder  # noqa: E402
from service.categories.models import Category  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.directory.credit_code import check_character  # noqa: E402
from service.directory.models import Organization, ProviderAssignment, Region  # noqa: E402
from service.enums import OrganizationKind, ServiceKind  # noqa: E402
from service.jobs import JobContext  # noqa: E402
from service.tickets.models import Ticket  # noqa: E402

NOW = dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)


def populate(url: str, plans: int) -> None:
    world = build_world(url)
    engine = make_engine(Settings(database_url=url))
    with Session(engine) as session, session.begin():
        prefix = "5265010200000001"
        care = Organization(
            name="康养中心",
            kind=OrganizationKind.care_provider,
            credit_code=prefix + "0" + check_character(prefix + "0"),
            region_id=int(world.region_path.strip("/").split("/")[-1]),
            region_path=world.region_path,
        )
        session.add(care)
        session.flush()
        session.add_all(
            ProviderAssignment(
                community_id=c,
                kind=ServiceKind.elderly_care,
                organization_id=care.id,
                since_on=dt.date(2026, 1, 1),
                current=True,
            )
            for c in world.community_ids
        )
        session.execute(update(Region).values(timezone="Asia/Urumqi"))
        communities = world.community_ids
        session.execute(
            insert(Elder),
            [
                {
                    "community_id": communities[n % len(communities)],
                    "name": f"老人{n}",
                    "lives_alone": n % 20 == 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for n in range(plans)
            ],
        )
        elders = session.execute(select(Elder.id, Elder.community_id)).all()
        codes = dict(
            session.execute(
                select(Category.code, Category.id).where(
                    Category.code.in_(["elderly.meal", "elderly.bathing"])
                )
            ).all()
        )
        session.execute(
            insert(CarePlan),
            [
                {
                    "elder_id": elder_id,
                    "community_id": community_id,
                    "category_id": codes["elderly.bathing" if n % 4 == 3 else "elderly.meal"],
                    "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR" if n % 4 == 3 else "FREQ=DAILY",
                    "local_time": "15:00" if n % 4 == 3 else "11:30",
                    "duration_minutes": 60 if n % 4 == 3 else 30,
                    "starts_on": dt.date(2026, 1, 1),
                    "skip_holidays": True,
                    "government_share_percent": 60,
                    "active": True,
                    "next_occurs_at": NOW,
                    "created_at": NOW,
                    "created_by_id": world.reporter_id,
                    "updated_at": NOW,
                }
                for n, (elder_id, community_id) in enumerate(elders)
            ],
        )
    engine.dispose()


def measure(url: str, hours: int, plans: int, missed: bool = False) -> None:
    settings = Settings(database_url=url, care_horizon_hours=hours)
    engine = make_engine(settings)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args: object) -> None:
        statements[0] += 1

    for label in ("first run", "run again"):
        statements[0] = 0
        context = JobContext(engine=engine, settings=settings, now=NOW)
        started = time.perf_counter()
        made = horizon.make_visits(context)
        seconds = time.perf_counter() - started
        print(
            f"  {label}: {made} visits in {seconds:.2f} s "
            f"({seconds / plans * 1000:.3f} ms/plan), {statements[0]} statements "
            f"({statements[0] / plans:.4f}/plan)"
        )
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Ticket))
    print(f"  tickets in the database: {total}")
    if missed:
        later = NOW + dt.timedelta(hours=hours + 24)
        for label in ("missed sweep", "sweep again"):
            statements[0] = 0
            context = JobContext(engine=engine, settings=settings, now=later)
            started = time.perf_counter()
            marked = visits.sweep_missed(context)
            seconds = time.perf_counter() - started
            per = f"{seconds / marked * 1000:.3f} ms/visit, " if marked else ""
            print(
                f"  {label}: {marked} visits marked in {seconds:.2f} s ({per}"
                f"{statements[0]} statements"
                + (f", {statements[0] / marked:.3f}/visit)" if marked else ")")
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=20_000)
    parser.add_argument("--hours", type=int, nargs="+", default=[24, 168])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--missed", action="store_true", help="then the missed-visit sweep")
    parser.add_argument(
        "--pg-server-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    for hours in args.hours:
        url = fresh_database(args.backend, args.pg_server_url, "linli_bench_care")
        populate(url, args.plans)
        print(f"{args.backend}, {args.plans} plans, horizon {hours} h:")
        measure(url, hours, args.plans, args.missed)


if __name__ == "__main__":
    main()
