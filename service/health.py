"""Liveness and readiness.

Features may add what they know about their own state to /readyz (the root
registers them in `app.state.readiness_checks`, name -> a function answering a
dict): such a check never makes the service unready, but its "warning", when it
has one, is listed under `warnings`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from service.migrate import alembic_config

router = APIRouter(tags=["health"])

ReadinessCheck = Callable[[], dict[str, Any]]


class Readiness(BaseModel):
    status: str
    revision: list[str] | None = None  # when ready
    current: list[str] | None = None  # when migrations are pending
    head: list[str] | None = None
    detail: str | None = None  # when the database does not answer
    # What features report about themselves, e.g. "calendar": the years of
    # official holidays known and the days left before they run out.
    checks: dict[str, dict[str, Any]] = {}
    # Things an operator should act on that do not stop the service ("check: text").
    warnings: list[str] = []


# /readyz is public and was measured at ~51 ms a call (it parsed the migration
# scripts each time): a flood of it took others from 6.7 to 174 ms. The scripts
# cannot change under a running process, and the answer is kept this long.
READY_TTL_SECONDS = 1.0


@functools.lru_cache(maxsize=1)
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


_CREATE = threading.Lock()


class _Answer:
    """The last answer of /readyz and when it goes stale; one thread renews it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expires = 0.0
        self.response: JSONResponse | None = None


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Database unreachable or not at head"}},
)
def readyz(request: Request) -> Response:
    """Ready when the database answers and its schema is at the newest migration
    (answered from a copy at most a second old)."""
    state = request.app.state
    with _CREATE:
        if not hasattr(state, "readyz_answer"):
            state.readyz_answer = _Answer()
    answer: _Answer = state.readyz_answer
    cached = answer.response
    # One thread renews a stale copy; the others answer the last one meanwhile
    # rather than each holding a worker thread while the database is slow.
    stale = cached is None or time.monotonic() >= answer.expires
    if stale and answer.lock.acquire(blocking=cached is None):
        try:
            if answer.response is None or time.monotonic() >= answer.expires:
                answer.response = _readiness(request)
                answer.expires = time.monotonic() + READY_TTL_SECONDS
            cached = answer.response
        finally:
            answer.lock.release()
    assert cached is not None
    return Response(bytes(cached.body), cached.status_code, media_type="application/json")


def _current_heads(engine: Engine) -> set[str]:
    """The database's migration heads. A pooled connection that turns out to be
    gone (its server restarted, or failed over: SQLAlchemy then discards the
    pool's older connections too) is no sign of the database; asked again, on a
    new connection, it answers or not."""

    def heads() -> set[str]:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())

    try:
        return heads()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return heads()


def _readiness(request: Request) -> JSONResponse:
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    reports = {name: check() for name, check in checks.items()}
    notes = {
        "checks": reports,
        "warnings": [f"{name}: {r['warning']}" for name, r in reports.items() if r.get("warning")],
    }
    heads = set(_heads())
    try:
        current = _current_heads(request.app.state.engine)
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__, **notes}, status_code=503
        )
    if current != heads:
        return JSONResponse(
            {
                "status": "migrations pending",
                "current": sorted(current),
                "head": sorted(heads),
                **notes,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": sorted(current), **notes})
