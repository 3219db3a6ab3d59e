"""HTTP routes of the elders (服务对象), their family proxies and their access log.

Every answer that shows an elder's sensitive fields in clear records it in the
access log, in the same transaction: reads too, which therefore write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from service.auth import CurrentPrincipal, Principal
from service.care import service
from service.care.models import Elder
from service.care.schemas import (
    AccessPage,
    ElderCreate,
    ElderPage,
    ElderRead,
    ElderUpdate,
    Id,
    ProxyAdd,
    ProxyPage,
    ProxyRead,
)
from service.care.service import Act, ElderErased, require
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep, begin_write
from service.errors import Forbidden, NotFound, responses
from service.pagination import decode_cursor, encode_cursor
from service.validation import MULTI_VALUED, Several

router = APIRouter(prefix="/v1/elders", tags=["elderly care"], route_class=CommitInRoute)

ElderId = Annotated[int, Path(gt=0, lt=2**31)]
UserId = Annotated[int, Path(gt=0, lt=2**31)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]
ELDER = "/v1/elders/{elder_id}"


def _answer(
    session: Session, principal: Principal, route: str, elder: Elder, *, writer: bool
) -> ElderRead:
    read, in_clear = service.shown(principal, elder)
    if in_clear:
        if not writer:
            begin_write(session)
        service.record_reads(session, principal, route, [(elder.id, in_clear)])
    return read


@router.post(
    "",
    status_code=201,
    response_model=ElderRead,
    responses=responses(Forbidden),
)
def create_elder(
    data: ElderCreate, principal: CurrentPrincipal, session: WriteSessionDep, response: Response
) -> ElderRead:
    """Register an elder (admins, the community's grid workers, its care provider's
    dispatchers). Phones, address, emergency contacts and health notes need `consent`."""
    elder = service.create_elder(session, principal, data)
    response.headers["Location"] = f"/v1/elders/{elder.id}"
    return _answer(session, principal, "POST /v1/elders", elder, writer=True)


@router.get("", response_model=ElderPage, responses=responses())
def list_elders(
    principal: CurrentPrincipal,
    session: SessionDep,
    community_id: Annotated[Several[Id] | None, Query(description=MULTI_VALUED)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ElderPage:
    """The elders the caller sees (erased ones never), by id; masked or in clear as
    for one elder, and each shown in clear is recorded in its access log."""
    after = decode_cursor("el", cursor) if cursor else None
    rows, last = service.list_elders(
        session, principal, community_ids=community_id, after=after, limit=limit
    )
    shown = [service.shown(principal, elder) for elder in rows]
    reads = [(elder.id, fields) for elder, (_, fields) in zip(rows, shown, strict=True) if fields]
    if reads:
        begin_write(session)
        service.record_reads(session, principal, "GET /v1/elders", reads)
    return ElderPage(
        items=[read for read, _ in shown],
        next_cursor=None if last is None else encode_cursor("el", last),
    )


@router.get("/{elder_id}", response_model=ElderRead, responses=responses(NotFound, ElderErased))
def get_elder(elder_id: ElderId, principal: CurrentPrincipal, session: SessionDep) -> ElderRead:
    """In clear to admins in scope, the community's grid workers and its care
    provider's staff (and recorded); masked to the elder's family proxies."""
    elder = service.visible_elder(session, principal, elder_id)
    return _answer(session, principal, f"GET {ELDER}", elder, writer=False)


@router.patch(
    "/{elder_id}",
    response_model=ElderRead,
    responses=responses(Forbidden, NotFound, ElderErased),
)
def update_elder(
    elder_id: ElderId, data: ElderUpdate, principal: CurrentPrincipal, session: WriteSessionDep
) -> ElderRead:
    require(principal, Act.edit)
    elder = service.visible_elder(session, principal, elder_id)
    elder = service.update_elder(session, principal, elder, data)
    return _answer(session, principal, f"PATCH {ELDER}", elder, writer=True)


@router.delete(
    "/{elder_id}", status_code=204, responses=responses(Forbidden, NotFound, ElderErased)
)
def erase_elder(
    elder_id: ElderId, principal: CurrentPrincipal, session: WriteSessionDep, settings: SettingsDep
) -> Response:
    """Erase the elder's personal data for good (admins, the community's grid
    workers). An anonymous row stays for the service history; the elder answers
    410 from then on."""
    require(principal, Act.erase)
    elder = service.visible_elder(session, principal, elder_id)
    service.erase_elder(session, principal, elder, settings.timezone)
    return Response(status_code=204)


@router.get(
    "/{elder_id}/access-log",
    response_model=AccessPage,
    responses=responses(Forbidden, NotFound),
)
def list_elder_access(
    elder_id: ElderId,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AccessPage:
    """Who read the elder's sensitive fields in clear, newest first: for admins in
    scope (also after erasure) and the elder's family proxies (who see readers by
    role and organisation, not by name)."""
    require(principal, Act.read_access_log)
    before = decode_cursor("ea", cursor) if cursor else None
    elder = service.visible_elder(session, principal, elder_id, erased=True)
    return service.access_log(session, principal, elder.id, before=before, limit=limit)


@router.get(
    "/{elder_id}/proxies",
    response_model=ProxyPage,
    responses=responses(Forbidden, NotFound, ElderErased),
)
def list_elder_proxies(
    elder_id: ElderId, principal: CurrentPrincipal, session: SessionDep
) -> ProxyPage:
    """The residents who may act for the elder (admins, the community's grid workers)."""
    require(principal, Act.manage_proxies)
    elder = service.visible_elder(session, principal, elder_id)
    return ProxyPage(items=service.list_proxies(session, elder))


@router.post(
    "/{elder_id}/proxies",
    status_code=201,
    response_model=ProxyRead,
    responses=responses(Forbidden, NotFound, ElderErased),
)
def add_elder_proxy(
    elder_id: ElderId, data: ProxyAdd, principal: CurrentPrincipal, session: WriteSessionDep
) -> ProxyRead:
    """Let a resident (a family member) act for the elder: they then see the elder,
    masked. Linking one already linked answers the same link."""
    require(principal, Act.manage_proxies)
    elder = service.visible_elder(session, principal, elder_id)
    return service.add_proxy(session, principal, elder, data)


@router.delete(
    "/{elder_id}/proxies/{user_id}",
    status_code=204,
    responses=responses(Forbidden, NotFound, ElderErased),
)
def remove_elder_proxy(
    elder_id: ElderId, user_id: UserId, principal: CurrentPrincipal, session: WriteSessionDep
) -> Response:
    require(principal, Act.manage_proxies)
    elder = service.visible_elder(session, principal, elder_id)
    service.remove_proxy(session, elder, user_id)
    return Response(status_code=204)
