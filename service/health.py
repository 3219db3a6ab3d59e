"""Liveness and readiness."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from service.migrate import alembic_config

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: str
    revision: list[str] | None = None  # when ready
    current: list[str] | None = None  # when migrations are pending
    head: list[str] | None = None
    detail: str | None = None  # when the database does not answer


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Database unreachable or not at head"}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    try:
        with request.app.state.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__}, status_code=503
        )
    if current != heads:
        return JSONResponse(
            {"status": "migrations pending", "current": sorted(current), "head": sorted(heads)},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": sorted(current)})
