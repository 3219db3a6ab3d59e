"""The category tree residents choose from, named in three languages."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.enums import Priority, TicketKind, str_enum


class Category(Base):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))
    default_priority: Mapped[Priority] = mapped_column(str_enum(Priority, 16))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_ug: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
