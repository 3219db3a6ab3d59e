"""The housing department's dashboard: one server-rendered page of inline SVG,
and the ways an official's browser gets in (service/dashboard/sessions.py):

- the sign-in page (`GET /dashboard/login`), where the identity gateway's token
  is pasted (`POST /dashboard/login`);
- a one-time link `/dashboard/login?code=...`, made by the operator's
  `python -m service dashboard-link --region ...` or by a portal holding the
  admin's bearer token (`POST /v1/dashboard/links`);
- the page is also served to `Authorization: Bearer` callers directly.

Either way the browser gets an HttpOnly, SameSite=Strict cookie (Secure over
https) scoped to /dashboard, which only the dashboard's GET routes honour: the
API never reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.auth import AdminPrincipal, Principal, authenticate, get_principal
from service.config import Settings, SettingsDep
from service.dashboard import sessions
from service.dashboard.page import render_dashboard
from service.dashboard.sessions import COOKIE, COOKIE_PATH, SESSION_TTL
from service.dashboard.signin import signin_page
from service.db import CommitInRoute, SessionDep, WriteSessionDep, in_thread, utcnow
from service.enums import Role, TicketKind
from service.errors import AppError, Forbidden, responses
from service.replica import ReadSessionDep

api = APIRouter(prefix="/v1/dashboard", tags=["metrics"], route_class=CommitInRoute)
pages = APIRouter(prefix="/dashboard", include_in_schema=False, route_class=CommitInRoute)


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
# The HTML forms these pages post (urlencoded: a browser's form cannot send JSON).
FORM_PATHS = frozenset({f"{COOKIE_PATH}/login", f"{COOKIE_PATH}/logout"})


def _view(params: Mapping[str, str]) -> dict[str, str]:
    """The page's own parameters among `params`, carried through the sign-in."""
    return {k: v[:40] for k, v in params.items() if k in VIEW_PARAMS and v}


def _target(view: Mapping[str, str]) -> str:
    return f"{COOKIE_PATH}?{urlencode(view)}" if view else COOKIE_PATH


@api.post("/links", status_code=201, response_model=DashboardLink, responses=responses(Forbidden))
def create_link(
    principal: AdminPrincipal, session: WriteSessionDep, view: DashboardView | None = None
) -> DashboardLink:
    """A one-time link into the dashboard for this admin, valid for a minute; the
    optional body names the view it opens (`from`, `to`, `region_id`, `kind`)."""
    shown = view.model_dump(by_alias=True, exclude_none=True, mode="json") if view else {}
    code, expires = sessions.create_code(session, principal.user_id, utcnow())
    return DashboardLink(
        url=f"{COOKIE_PATH}/login?{urlencode({'code': code, **shown})}",
        expires_at=expires.isoformat().replace("+00:00", "Z"),
    )


def _signed_in(request: Request, secret: str, view: Mapping[str, str]) -> RedirectResponse:
    response = RedirectResponse(_target(view), status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(SESSION_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/login")
def login(
    request: Request,
    session: WriteSessionDep,
    code: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    """The sign-in page; with `code`, a one-time link: spent, and a session opened."""
    view = _view(request.query_params)
    if code is None:
        return signin_page(None, view)
    now = utcnow()
    try:
        user_id = sessions.exchange_code(session, code, now)
    except sessions.CodeRefused as refused:
        return signin_page(f"link_{refused.reason}", view)
    return _signed_in(request, sessions.open_session(session, user_id, now), view)


def _same_origin(request: Request) -> bool:
    """A browser's form post says where it comes from; another site may not sign
    anyone in (login CSRF). Clients that send no Origin are not browsers. The
    host is compared, not the scheme: behind a proxy that ends TLS the app may
    see http where the browser saw https."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


@pages.post("/login")
async def login_with_token(
    request: Request, session: WriteSessionDep, settings: SettingsDep
) -> Any:
    """The sign-in form: the gateway's token, pasted. The body is small
    (form-urlencoded, bounded by LINLI_MAX_BODY_BYTES)."""
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), max_num_fields=10))
    view = _view(form)
    if not _same_origin(request):
        return signin_page("cross_site", view)
    token = form.get("token", "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    result: str | RedirectResponse = await in_thread(
        session, _sign_in, request, session, settings, token, view
    )
    return signin_page(result, view) if isinstance(result, str) else result


def _sign_in(
    request: Request, session: Session, settings: Settings, token: str, view: dict[str, str]
) -> str | RedirectResponse:
    """A session for the token's admin, or the notice saying why not."""
    if not token or len(token) > 8000:
        return "token_invalid"
    try:
        principal = authenticate(session, token, settings)
    except AppError:
        return "token_invalid"
    if principal.role != Role.admin:
        return "not_admin"
    return _signed_in(request, sessions.open_session(session, principal.user_id, utcnow()), view)


@pages.post("/logout")
def logout(
    session: WriteSessionDep, linli_dashboard: Annotated[str | None, Cookie()] = None
) -> Any:
    if linli_dashboard:
        sessions.end_session(session, linli_dashboard)
    response = RedirectResponse(f"{COOKIE_PATH}/login", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@pages.get("")
async def dashboard(
    request: Request,
    session: SessionDep,
    reads: ReadSessionDep,
    settings: SettingsDep,
    linli_dashboard: Annotated[str | None, Cookie()] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    region_id: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The page, for a bearer token or for the browser session's cookie; anyone
    else gets the sign-in page (401), which brings them back to this view."""
    view = _view(request.query_params)
    principal: Principal | None = None
    if request.headers.get("authorization"):
        try:
            principal = await get_principal(request, session, settings)
        except AppError:
            return signin_page("token_invalid", view)
    elif linli_dashboard:
        principal = await in_thread(
            session, sessions.session_principal, session, linli_dashboard, utcnow()
        )
        if principal is None:
            return signin_page("session_expired", view)
    if principal is None:
        return signin_page("signed_out", view)
    if principal.role != Role.admin:
        return signin_page("not_admin", view)
    # Who signs in: the primary (a session or key of a moment ago counts); what
    # the page shows may come from the read replica (service/replica.py).
    response: HTMLResponse = await in_thread(
        reads, _render, reads, principal, settings, from_, to, region_id, kind
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
            f"<!doctype html><meta charset='utf-8'><p>{exc.status}: "
            f"{escape(exc.problem('zh-Hans').detail or '')}</p>",
            status_code=exc.status,
            headers={"Cache-Control": "no-store"},
        )
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})
