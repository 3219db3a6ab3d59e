"""HTTP routes of /v1/categories."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path

from service.auth import AdminPrincipal, CurrentPrincipal, Principal
from service.categories import service
from service.categories.models import Category
from service.categories.schemas import CategoryCreate, CategoryList, CategoryRead, CategoryUpdate
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.enums import Role
from service.errors import Conflict, Forbidden, NotFound, responses
from service.i18n import negotiate
from service.i18n.http import AnswerLanguage

router = APIRouter(prefix="/v1/categories", tags=["categories"], route_class=CommitInRoute)
CodePath = Annotated[str, Path(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=64)]


def _read(category: Category, language: str) -> CategoryRead:
    return CategoryRead(
        code=category.code,
        parent=category.code.rsplit(".", 1)[0] if "." in category.code else None,
        kind=category.kind,
        default_priority=category.default_priority,
        name=service.localised_name(category, language),
        names={"zh-Hans": category.name_zh, "ug": category.name_ug, "en": category.name_en},
        active=category.active,
    )


def _province_admin(principal: Principal) -> None:
    # Categories are shared by the whole deployment: only its top level edits them.
    if principal.role != Role.admin or principal.region_path is not None:
        raise Forbidden("category.edit_forbidden")


@router.get("", response_model=CategoryList, responses=responses())
def list_categories(
    principal: CurrentPrincipal, session: SessionDep, language: AnswerLanguage
) -> CategoryList:
    rows = service.list_categories(session, include_inactive=principal.role == Role.admin)
    return CategoryList(language=language, items=[_read(c, language) for c in rows])


@router.post(
    "", status_code=201, response_model=CategoryRead, responses=responses(Forbidden, Conflict)
)
def create_category(
    data: CategoryCreate,
    principal: AdminPrincipal,
    session: WriteSessionDep,
    accept_language: Annotated[str | None, Header(alias="Accept-Language", max_length=200)] = None,
) -> CategoryRead:
    _province_admin(principal)
    category = service.create_category(session, data)
    return _read(category, negotiate(accept_language))


@router.patch("/{code}", response_model=CategoryRead, responses=responses(Forbidden, NotFound))
def update_category(
    code: CodePath,
    data: CategoryUpdate,
    principal: AdminPrincipal,
    session: WriteSessionDep,
    accept_language: Annotated[str | None, Header(alias="Accept-Language", max_length=200)] = None,
) -> CategoryRead:
    _province_admin(principal)
    category = service.update_category(session, service.get_by_code(session, code), data)
    return _read(category, negotiate(accept_language))
