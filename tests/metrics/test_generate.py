"""The generator: deterministic for a seed, and shaped like the programme."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from sqlalchemy import text

from service.config import Settings
from service.db import make_engine
from service.sample.generate import Plan, generate
from tests.conftest import TEST_SECRET, new_database

PLAN = Plan(communities=40, residents=4000, tickets=6000, seed=11)


def _generate(plan: Plan) -> tuple[str, dict[str, float]]:
    db = new_database("linli_gen")
    engine = make_engine(Settings(database_url=db.url, jwt_secret=TEST_SECRET))
    try:
        made = generate(engine, plan, out=io.StringIO())
        assert made["tickets"] == plan.tickets
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT t.id, t.status, t.organization_id, t.community_id, c.code, t.rating,"
                    " t.created_at, t.responded_at, t.resolved_at, t.scheduled_for,"
                    " t.checked_in_at, t.visit_missed_at, t.elder_id FROM ticket t"
                    " JOIN category c ON c.id = t.category_id ORDER BY t.id"
                )
            ).all()
            digest = hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()
            visits = [r for r in rows if r.scheduled_for is not None]
            checked_in = [r for r in visits if r.checked_in_at is not None]
            # The shapes of what residents file: without the care plans' visits.
            rows = [r for r in rows if r.scheduled_for is None]
            winter = [r for r in rows if _month(r.created_at) in (12, 1)]
            summer = [r for r in rows if _month(r.created_at) in (6, 7)]
            share = lambda rs, p: sum(r.code.startswith(p) for r in rs) / max(len(rs), 1)  # noqa: E731
            rated = [r.rating for r in rows if r.rating is not None]
            facts = {
                "heating_winter": share(winter, "repair.heating"),
                "heating_summer": share(summer, "repair.heating"),
                "elderly": share(rows, "elderly."),
                "complaints": share(rows, "complaint."),
                "open": sum(
                    r.status in ("assigned", "accepted", "in_progress", "on_hold") for r in rows
                )
                / len(rows),
                "low_ratings": sum(r <= 2 for r in rated) / len(rated),
                "high_ratings": sum(r >= 4 for r in rated) / len(rated),
                "histories": connection.scalar(
                    text("SELECT count(*) FROM provider_assignment WHERE until_on IS NOT NULL")
                ),
                "users": connection.scalar(text("SELECT count(*) FROM user_account")),
                "elders": connection.scalar(text("SELECT count(*) FROM elder")),
                "visits": len(visits),
                "meals": share(visits, "elderly.meal"),
                "missed": sum(r.visit_missed_at is not None for r in visits) / len(visits),
                "late": sum(_late(r) for r in checked_in) / len(checked_in),
                "subsidised": connection.scalar(
                    text("SELECT count(*) FROM ticket WHERE government_share_percent > 0")
                )
                / len(visits),
                # The timeline, drawn from the tickets (service/sample/timeline.py).
                "events_per_ticket": connection.scalar(text("SELECT count(*) FROM ticket_event"))
                / connection.scalar(text("SELECT count(*) FROM ticket")),
                "without_created": connection.scalar(
                    text(
                        "SELECT count(*) FROM ticket t WHERE NOT EXISTS (SELECT 1 FROM"
                        " ticket_event e WHERE e.ticket_id = t.id AND e.type = 'ticket.created')"
                    )
                ),
                # PostgreSQL: every event in its month's partition, none in the default.
                "unpartitioned": connection.scalar(
                    text("SELECT count(*) FROM ticket_event_default")
                )
                if engine.dialect.name == "postgresql"
                else 0,
                "emergencies_of_elders": connection.scalar(
                    text(
                        "SELECT count(*) FROM ticket t JOIN category c ON c.id = t.category_id"
                        " WHERE c.code = 'elderly.emergency' AND t.elder_id IS NOT NULL"
                    )
                ),
            }
        return digest, facts
    finally:
        engine.dispose()
        if db.cleanup:
            db.cleanup()


def _instant(value: object) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value


def _late(row: object) -> bool:
    """Checked in after the 30 minutes' grace."""
    checked_in, scheduled = _instant(row.checked_in_at), _instant(row.scheduled_for)  # type: ignore[attr-defined]
    return checked_in - scheduled > dt.timedelta(minutes=30)


def _month(value: object) -> int:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return (value + dt.timedelta(hours=8)).month


def test_same_seed_same_data_and_believable_shapes() -> None:
    first, facts = _generate(PLAN)
    again, _ = _generate(PLAN)
    other, _ = _generate(Plan(communities=40, residents=4000, tickets=6000, seed=12))
    assert first == again
    assert first != other
    assert facts["heating_winter"] > 5 * facts["heating_summer"]
    assert 0.08 < facts["elderly"] < 0.3
    assert 0.03 < facts["complaints"] < 0.15
    assert 0.001 < facts["open"] < 0.1
    assert facts["high_ratings"] > 0.5 and facts["low_ratings"] > 0.03
    assert facts["histories"] >= 1
    assert facts["users"] == PLAN.residents
    # Care: 8.6% of residents are elders; a year of daily meals and weekly 探访,
    # most on time, some late or never, half subsidised; 助急 calls by elders.
    assert facts["elders"] == round(PLAN.residents * 20_000 / 231_500)
    assert facts["visits"] > 1000 and 0.5 < facts["meals"] < 0.98
    assert 0.02 < facts["missed"] < 0.2 and 0.02 < facts["late"] < 0.15
    assert 0.3 < facts["subsidised"] < 0.9
    assert facts["emergencies_of_elders"] > 5
    assert 2 < facts["events_per_ticket"] < 5
    assert facts["without_created"] == 0 and facts["unpartitioned"] == 0


def test_the_rollup_of_generated_data_gives_the_live_figures() -> None:
    """Three years of generated tickets (spans, open tickets, re-assignments): the
    bench's summaries from the rollup equal the live query's."""
    from sqlalchemy.orm import Session

    from service.auth import Principal
    from service.db import utcnow
    from service.enums import Role
    from service.metrics import rollup, rollup_summary
    from service.metrics.engine import live_summary, run_summary
    from service.metrics.request import build_scope
    from tests.metrics.test_rollup import assert_same

    db = new_database("linli_gen")
    settings = Settings(database_url=db.url, jwt_secret=TEST_SECRET)
    engine = make_engine(settings)
    try:
        generate(
            engine, Plan(communities=30, residents=2000, tickets=3000, seed=5), out=io.StringIO()
        )
        with Session(engine) as session, session.begin():
            assert rollup.rebuild(session, utcnow(), settings.timezone) > 0
        province = Principal(user_id=0, role=Role.admin)
        for group_by in ("organization,quarter", "category", "region", "kind,month", ""):
            with Session(engine) as session, session.begin():
                scope = build_scope(
                    session,
                    province,
                    settings,
                    start="2023-11-01",
                    end="2026-11-01",
                    group_by=group_by,
                )
                assert rollup_summary.usable(session, scope) is not None
                assert_same(run_summary(session, scope), live_summary(session, scope))
    finally:
        engine.dispose()
        if db.cleanup:
            db.cleanup()
