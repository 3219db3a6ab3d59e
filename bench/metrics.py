"""Metrics on generated data: the summary the department runs most, the dashboard
page, and the bare GROUP BY through the driver as the ceiling.

    .venv/bin/python bench/metrics.py \
        --url postgresql+psycopg://root@127.0.0.1:5432/linli_metrics_1m
    .venv/bin/python bench/metrics.py --generate 1000000 \
        --url sqlite:////tmp/linli-bench/metrics_1m.db

`--generate N` fills an empty database first with `python -m service generate`'s
generator (seed 1). Each figure is the median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.auth import mint_token
from service.config import Settings
from service.db import make_engine
from service.generate import Plan, generate
from service.main import create_app
from service.metrics.engine import summarise
from service.metrics.request import build_scope
from service.migrate import upgrade

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

    def summary(group_by: str) -> Callable[[], object]:
        def run() -> object:
            with Session(engine) as session, session.begin():
                scope = build_scope(
                    session, province, settings, start=PERIOD[0], end=PERIOD[1], group_by=group_by
                )
                return summarise(session, scope)

        return run

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

    rows = [("ceiling: bare GROUP BY organization_id", _median(ceiling, args.repeat))]
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

        rows.append(("dashboard page (HTTP, 5 charts)", _median(page, args.repeat)))
    for label, seconds in rows:
        print(f"{label:45s} {seconds * 1000:10,.0f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
