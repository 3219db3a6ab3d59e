"""Category bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from service.enums import Priority, TicketKind
from service.validation import StrictModel, omittable, text

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=64)]


class Names(StrictModel):
    zh_hans: text(100, 1) = Field(alias="zh-Hans")  # type: ignore[valid-type]
    ug: text(200, 1)  # type: ignore[valid-type]
    en: text(100, 1)  # type: ignore[valid-type]

    model_config = {"extra": "forbid", "populate_by_name": True}


class NamesUpdate(StrictModel):
    zh_hans: text(100, 1) = omittable(alias="zh-Hans")  # type: ignore[valid-type]
    ug: text(200, 1) = omittable()  # type: ignore[valid-type]
    en: text(100, 1) = omittable()  # type: ignore[valid-type]

    model_config = {"extra": "forbid", "populate_by_name": True}


class CategoryCreate(StrictModel):
    code: Code
    kind: TicketKind
    default_priority: Priority = Priority.normal
    names: Names
    sort_order: int = Field(default=1000, ge=0, le=100_000)


class CategoryUpdate(StrictModel):
    default_priority: Priority = omittable()
    names: NamesUpdate = omittable()
    sort_order: Annotated[int, Field(ge=0, le=100_000)] = omittable()
    active: bool = omittable()


class CategoryRead(BaseModel):
    code: str
    parent: str | None
    kind: TicketKind
    default_priority: Priority
    name: str
    names: dict[str, str]
    active: bool


class CategoryList(BaseModel):
    language: str
    items: list[CategoryRead]
