"""/readyz is public: a flood of it must not cost the database (or the migration
scripts' parsing) once a call; a stale pooled connection does not make it 503.
And what a serving process sets up for itself (the collector)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from service import health
from service.db import make_engine
from service.main import GC_YOUNG_THRESHOLD, create_app
from tests.conftest import BACKEND


def test_readyz_answers_a_flood_from_one_check_a_second(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    statements: list[str] = []
    engine = client.app.state.engine

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = client.get("/readyz")
        assert first.status_code == 200 and first.json()["status"] == "ready"
        checked = len(statements)
        assert checked >= 1
        for _ in range(50):
            again = client.get("/readyz")
            assert again.status_code == 200 and again.json() == first.json()
        assert len(statements) == checked  # the flood cost nothing

        now[0] += health.READY_TTL_SECONDS
        assert client.get("/readyz").status_code == 200
        assert len(statements) == 2 * checked  # a second later: checked again
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_migration_scripts_are_read_once() -> None:
    health._heads.cache_clear()
    health._heads()
    health._heads()
    assert health._heads.cache_info().misses == 1


def test_while_one_renews_the_answer_the_others_get_the_last_copy(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting on the renewal would hold a worker thread per caller while the
    database is slow: a flood of /readyz could take every thread."""
    import threading

    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    first = client.get("/readyz")
    assert first.status_code == 200
    now[0] += health.READY_TTL_SECONDS  # stale
    answer = client.app.state.readyz_answer
    answers: list[Any] = []
    with answer.lock:  # someone else is renewing it
        caller = threading.Thread(target=lambda: answers.append(client.get("/readyz")))
        caller.start()
        caller.join(10)
        assert not caller.is_alive(), "the caller waited for the renewal"
    assert answers[0].status_code == 200 and answers[0].json() == first.json()


@pytest.mark.skipif(BACKEND != "postgres", reason="a server-side kill: PostgreSQL")
def test_a_pooled_connection_that_is_gone_is_no_sign_of_the_database(
    settings: Any, live_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failover (or a restart) the pool still holds connections to the
    server that went away: /readyz takes a new one rather than answer 503."""
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    engine = make_engine(
        settings.model_copy(
            update={"database_url": live_engine.url.render_as_string(hide_password=False)}
        ),
        pool=(1, 0),
    )
    try:
        with TestClient(create_app(settings, engine)) as client:
            assert client.get("/readyz").status_code == 200
            with engine.connect() as pooled:  # the one connection of the pool
                pid = pooled.scalar(text("SELECT pg_backend_pid()"))
            with live_engine.connect() as other:
                assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            now[0] += health.READY_TTL_SECONDS
            answer = client.get("/readyz")
            assert answer.status_code == 200, answer.json()
    finally:
        engine.dispose()


def test_a_serving_process_collects_garbage_less_often(app: Any) -> None:
    """The lifespan freezes the start-up objects and sets the young generation's
    threshold (service.main): tests run in one process, so the threshold is put
    back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])
    try:
        with TestClient(app):
            assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
