"""The housing department's dashboard: one server-rendered page of inline SVG.

How an admin gets in from a browser without a long-lived token in a URL:

1. Whatever holds the admin's bearer token (the department's portal, or the
   admin with curl) asks `POST /v1/dashboard/links` for a one-time link;
2. the link `/dashboard/login?code=...` works once, within a minute; opening it
   sets an HttpOnly, SameSite=Strict cookie scoped to /dashboard that holds a
   random session id (8 hours) and redirects to /dashboard;
3. the page is also served to `Authorization: Bearer` callers directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.auth import AdminPrincipal, Principal, _principal_for, get_principal
from service.config import Settings, SettingsDep
from service.dashboard.models import DashboardSession
from service.dashboard.page import render_dashboard
from service.db import CommitInRoute, SessionDep, WriteSessionDep, in_thread, utcnow
from service.enums import Role, TicketKind
from service.errors import AppError, Forbidden, responses
from service.users.models import User

COOKIE = "linli_dashboard"
CODE_TTL = dt.timedelta(seconds=60)
SESSION_TTL = dt.timedelta(hours=8)

api = APIRouter(prefix="/v1/dashboard", tags=["metrics"], route_class=CommitInRoute)
pages = APIRouter(prefix="/dashboard", include_in_schema=False, route_class=CommitInRoute)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class DashboardLink(BaseModel):
    url: str
    expires_at: str


class DashboardView(BaseModel):
    """What the link opens: the page's own query parameters (all optional)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(default=None, alias="from", max_length=40)
    to: str | None = Field(default=None, max_length=40)
    region_id: int | None = Field(default=None, gt=0, lt=2**31)
    kind: TicketKind | None = None


VIEW_PARAMS = ("from", "to", "region_id", "kind")


@api.post("/links", status_code=201, response_model=DashboardLink, responses=responses(Forbidden))
def create_link(
    principal: AdminPrincipal, session: WriteSessionDep, view: DashboardView | None = None
) -> DashboardLink:
    """A one-time link into the dashboard for this admin, valid for a minute; the
    optional body names the view it opens (`from`, `to`, `region_id`, `kind`)."""
    shown = view.model_dump(by_alias=True, exclude_none=True, mode="json") if view else {}
    code = secrets.token_urlsafe(24)
    expires = utcnow() + CODE_TTL
    session.add(
        DashboardSession(
            token_hash=_hash(code), kind="code", user_id=principal.user_id, expires_at=expires
        )
    )
    session.flush()
    return DashboardLink(
        url=f"/dashboard/login?{urlencode({'code': code, **shown})}",
        expires_at=expires.isoformat().replace("+00:00", "Z"),
    )


_LOGIN_HELP = """<!doctype html><html lang="zh-Hans"><meta charset="utf-8">
<title>Linli 服务质量看板</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>服务质量看板 · Service-quality dashboard</h1><p>{message}</p>
<p>Ask for a one-time link with your token (it works once, within a minute):</p>
<pre>curl -X POST -H "Authorization: Bearer $ADMIN" {base}v1/dashboard/links</pre>
<p>and open <code>{base}dashboard/login?code=…</code> from its answer.</p></body></html>"""


def _help(request: Request, message: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        _LOGIN_HELP.format(message=message, base=str(request.base_url)), status_code=status
    )


@pages.get("/login")
def login(
    request: Request, session: WriteSessionDep, code: Annotated[str, Query(max_length=100)] = ""
) -> Any:
    now = utcnow()
    row = session.scalar(
        select(DashboardSession).where(
            DashboardSession.token_hash == _hash(code), DashboardSession.kind == "code"
        )
    )
    if row is None or row.used_at is not None or row.expires_at < now:
        return _help(request, "This link is unknown, used or expired. 链接无效或已过期。", 401)
    row.used_at = now
    secret = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=_hash(secret),
            kind="session",
            user_id=row.user_id,
            expires_at=now + SESSION_TTL,
        )
    )
    # Old sessions and codes are swept as new ones are made.
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
    session.flush()
    view = {k: v for k, v in request.query_params.items() if k in VIEW_PARAMS}
    target = f"/dashboard?{urlencode(view)}" if view else "/dashboard"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@pages.post("/logout")
def logout(
    session: WriteSessionDep, linli_dashboard: Annotated[str | None, Cookie()] = None
) -> Any:
    if linli_dashboard:
        session.execute(
            delete(DashboardSession).where(DashboardSession.token_hash == _hash(linli_dashboard))
        )
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


def _cookie_principal(session: Session, secret: str) -> Principal | None:
    row = session.scalar(
        select(DashboardSession).where(
            DashboardSession.token_hash == _hash(secret), DashboardSession.kind == "session"
        )
    )
    if row is None or row.expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    return None if user is None else _principal_for(session, user)


@pages.get("")
async def dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    linli_dashboard: Annotated[str | None, Cookie()] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    region_id: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    principal: Principal | None = None
    if request.headers.get("authorization"):
        try:
            principal = await get_principal(request, session, settings)
        except AppError as exc:
            return _help(request, exc.detail or exc.title, exc.status)
    elif linli_dashboard:
        principal = await in_thread(session, _cookie_principal, session, linli_dashboard)
    if principal is None:
        return _help(request, "Please sign in. 请先登录。", 401)
    if principal.role != Role.admin:
        return _help(request, "The dashboard is for the housing department. 仅限住建部门。", 403)
    response: HTMLResponse = await in_thread(
        session, _render, session, principal, settings, from_, to, region_id, kind
    )
    return response


def _render(
    session: Session,
    principal: Principal,
    settings: Settings,
    start: str | None,
    end: str | None,
    region_id: int | None,
    kind: str | None,
) -> HTMLResponse:
    try:
        html = render_dashboard(session, principal, settings, start, end, region_id, kind)
    except AppError as exc:
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><p>{exc.status}: {exc.detail or exc.title}</p>",
            status_code=exc.status,
        )
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})
