"""The generator: deterministic for a seed, and shaped like the programme."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from sqlalchemy import text

from service.config import Settings
from service.db import make_engine
from service.generate import Plan, generate
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
                    " t.created_at, t.responded_at, t.resolved_at FROM ticket t"
                    " JOIN category c ON c.id = t.category_id ORDER BY t.id"
                )
            ).all()
            digest = hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()
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
            }
        return digest, facts
    finally:
        engine.dispose()
        if db.cleanup:
            db.cleanup()


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
