"""Metrics on generated data: the summary the department runs most, the dashboard
page, and the bare GROUP BY through the driver as the ceiling; the rollup's full
build and its incremental runs; `--live` also times the live query (the rollup's
reference, and what answered before the rollup).

    .venv/bin/python bench/metrics.py \
        --url postgresql+psycopg://root@127.0.0.1:5432/linli_metrics_1m
    .venv/bin/python bench/metrics.py --generate 1000000 \
        --url sqlite:////tmp/linli-bench/metrics_1m.db

`--generate N` fills an empty database first with `python -m service generate`'s
generator (seed 1). Each figure is the median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service.auth import mint_token
from service.config import Settings
from service.db import make_engine, utcnow
from service.main import create_app
from service.metrics import rollup, rollup_summary
from service.metrics.engine import summarise
from service.metrics.models import MetricsRollup, MetricsRollupState
from service.metrics.periods import local_midnight
from service.metrics.request import build_scope
from service.migrate import upgrade
from service.sample.generate import Plan, generate

SECRET = "bench-secret-0123456789-0123456789-abcdef"
PERIOD = ("2023-11-01", "2026-11-01")


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--live", action="store_true", help="also time the live query")
    args = parser.parse_args()
    settings = Settings(database_url=args.url, jwt_secret=SECRET)
    engine = make_engine(settings)
    upgrade(args.url)
    if args.generate:
        made = generate(engine, Plan(tickets=args.generate, seed=1))
        print(f"generated: {made}")
    with engine.connect() as connection:
        tickets = connection.scalar(text("SELECT count(*) FROM ticket"))
    print(f"{engine.dialect.name}: {tickets:,} tickets")

    from service.auth import Principal
    from service.enums import Role

    province = Principal(user_id=0, role=Role.admin)

    def summary(group_by: str, exact: bool = False) -> Callable[[], object]:
        def run() -> object:
            with Session(engine) as session, session.begin():
                scope = build_scope(
                    session, province, settings, start=PERIOD[0], end=PERIOD[1], group_by=group_by
                )
                if not exact:
                    usable = rollup_summary.usable(session, scope)
                    assert usable is not None, "the rollup cannot answer"
                return summarise(session, scope, exact=exact)

        return run

    rows: list[tuple[str, float]] = []

    def timed(label: str, fn: Callable[[], object]) -> None:
        started = time.perf_counter()
        fn()
        rows.append((label, time.perf_counter() - started))
        print(f"{label:45s} {rows[-1][1] * 1000:10,.0f} ms", flush=True)

    def build() -> None:
        with Session(engine) as session, session.begin():
            rollup.rebuild(session, utcnow(), settings.timezone)

    def refresh() -> None:
        with Session(engine) as session, session.begin():
            rollup.refresh(session, utcnow(), settings.timezone)

    def reroll_last_month() -> None:
        # What a busy minute costs: every region's slice of the latest month again.
        with Session(engine) as session, session.begin():
            last = session.scalar(select(func.max(MetricsRollup.month)))
            paths = list(
                session.scalars(
                    select(MetricsRollup.region_path).where(MetricsRollup.month == last).distinct()
                )
            )
            state = session.get(MetricsRollupState, 1)
            start = local_midnight(last, settings.timezone)
            rollup.reroll(
                session,
                utcnow(),
                settings.timezone,
                start,
                start + dt.timedelta(days=1),
                state.ticket_id,
                paths,
            )
            print(f"  ({len(paths)} slices)")

    timed("rollup: full build", build)
    timed("rollup: job run, nothing changed", refresh)
    timed("rollup: re-roll every slice of the last month", reroll_last_month)
    with engine.connect() as connection:
        sizes = {
            table: connection.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in (
                "metrics_rollup",
                "metrics_span",
                "metrics_pending",
                "metrics_care",
                "metrics_care_elder",
            )
        }
    print("rollup rows:", ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    if args.live:
        timed("live query: group_by=organization,quarter", summary("organization,quarter", True))

    def ceiling() -> object:
        # The bare GROUP BY of the same rows through the driver: count per organisation.
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT organization_id, count(*), sum(rating) FROM ticket"
                    " WHERE created_at >= :start GROUP BY organization_id"
                ),
                {"start": "2023-10-31 16:00:00"},
            ).all()

    # As the served app does once started (service/main.py): what start-up made
    # stays out of the collector's way.
    gc.freeze()
    rows.append(("ceiling: bare GROUP BY organization_id", _median(ceiling, args.repeat)))
    for group_by in ("organization,quarter", "category", "region", ""):
        label = f"summary group_by={group_by or '(none)'}"
        rows.append((label, _median(summary(group_by), args.repeat)))
    token = mint_token(settings, sub="bench-admin", role="admin", name="bench")
    with TestClient(create_app(settings, engine)) as client:
        headers = {"Authorization": f"Bearer {token}"}

        def page() -> object:
            response = client.get("/dashboard", headers=headers)
            assert response.status_code == 200, response.text[:300]
            return response

        def summary_http() -> object:
            response = client.get(
                "/v1/metrics/summary",
                params={"from": PERIOD[0], "to": PERIOD[1], "group_by": "organization,quarter"},
                headers=headers,
            )
            assert response.status_code == 200, response.text[:300]
            return response

        # Checked once, not timed: parsing 4.5 MB of JSON is the client's cost.
        assert json.loads(summary_http().content)["source"] == "rollup"  # type: ignore[attr-defined]
        rows.append(("summary organization,quarter over HTTP", _median(summary_http, args.repeat)))
        rows.append(("dashboard page (HTTP, 5 charts)", _median(page, args.repeat)))
    print()
    for label, seconds in rows:
        print(f"{label:45s} {seconds * 1000:10,.0f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
