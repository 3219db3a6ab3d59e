"""Deadline computation: what filing a ticket spends on its SLA clocks.

    python bench/sla.py [--tickets 100000] [--backend sqlite|postgres]

1. For N tickets at random instants over 2024-2026 (holidays, make-up days,
   nights and weekends included) and the seeded policies, the time to compute
   respond_by and resolve_by (`service.sla.clock.start`), per ticket: median,
   p90, p99, max, and the total.
2. The breach sweep: N tickets all overdue, swept by the job, in tickets/s.

The policies are the migration's, read from a freshly migrated database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.setup_data import build_world, bulk_tickets, fresh_database  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.enums import Priority, Status  # noqa: E402
from service.sla import clock  # noqa: E402
from service.sla.jobs import sweep  # noqa: E402
from service.sla.policy import load_config  # noqa: E402
from service.tickets.models import Ticket  # noqa: E402

ZONE = "Asia/Shanghai"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def computation(url: str, count: int) -> None:
    engine = make_engine(Settings(database_url=url))
    with Session(engine) as session:
        config = load_config(session, ZONE)
    engine.dispose()
    rng = random.Random(1)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    span = int((dt.datetime(2026, 12, 31, tzinfo=dt.UTC) - start).total_seconds())
    categories = sorted(config.kind_of_category.items())
    priorities = [Priority.normal] * 6 + [Priority.urgent] * 2 + [Priority.emergency, Priority.low]
    cases = []
    for _ in range(count):
        category_id, kind = rng.choice(categories)
        created = start + dt.timedelta(seconds=rng.randrange(span))
        cases.append((kind, category_id, rng.choice(priorities), created))
    timings: list[float] = []
    began = time.perf_counter()
    for kind, category_id, priority, created in cases:
        ticket = Ticket(
            created_at=created,
            status=Status.assigned,
            preferred_to=None,
            reopen_count=0,
            response_escalation_level=0,
            resolution_escalation_level=0,
        )
        t0 = time.perf_counter_ns()
        clock.start(ticket, config.policy_for(kind, category_id, priority), created)
        timings.append((time.perf_counter_ns() - t0) / 1000)
    total = time.perf_counter() - began
    print(f"deadline computation, {count:,} tickets (policy match, respond_by, resolve_by):")
    print(
        f"  per ticket: median {statistics.median(timings):.1f} µs, "
        f"p90 {percentile(timings, 0.9):.1f} µs, p99 {percentile(timings, 0.99):.1f} µs, "
        f"max {max(timings):.0f} µs; total {total:.2f} s"
    )


def sweeping(url: str, count: int) -> None:
    engine = make_engine(Settings(database_url=url))
    with Session(engine) as session:
        config = load_config(session, ZONE)
        emergency = next(p for p in config.policies if p.priority == Priority.emergency)
        filed = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
        respond_by = emergency.calendar.add(filed, emergency.respond_minutes * 60)
        resolve_by = emergency.calendar.add(filed, emergency.resolve_minutes * 60)
        session.execute(
            text(
                "UPDATE ticket SET sla_policy_id = :policy, sla_clock_started_at = created_at,"
                " respond_by = :respond_by, resolve_by = :resolve_by, responded_at = NULL,"
                " resolved_at = NULL, status = 'assigned', sla_next_check_at = :respond_by"
            ),
            {"policy": emergency.id, "respond_by": respond_by, "resolve_by": resolve_by},
        )
        session.commit()
    began = time.perf_counter()
    made = examined = 0
    while True:
        with Session(engine) as session:
            seen, escalated = sweep(
                session, dt.datetime(2026, 4, 1, tzinfo=dt.UTC), ZONE, limit=500
            )
            session.commit()
        examined += seen
        made += escalated
        if seen == 0:
            break
    took = time.perf_counter() - began
    engine.dispose()
    print(f"breach sweep: {count:,} overdue tickets, {made:,} escalations written in {took:.1f} s")
    print(f"  {count / took:,.0f} tickets/s, {made / took:,.0f} escalations/s (4 per ticket)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--sweep-tickets", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--postgres", default="postgresql+psycopg://root@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    url = fresh_database(args.backend, args.postgres, "linli_bench_sla")
    world = build_world(url)  # also loads the category tree the policies match on
    computation(url, args.tickets)
    bulk_tickets(world, args.sweep_tickets)
    sweeping(url, args.sweep_tickets)


if __name__ == "__main__":
    main()
