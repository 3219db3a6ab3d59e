"""How an organisation's new tickets reach its technicians, per category."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.enums import str_enum


class DispatchMode(StrEnum):
    manual = "manual"  # a dispatcher hands each ticket to a technician
    round_robin = "round_robin"  # filing gives it to the on-duty technician waiting longest
    grab = "grab"  # 抢单: left unassigned; the first technician to accept it has it


class DispatchRule(Base):
    """One organisation's mode for the categories under `category_prefix`
    (`repair` covers `repair.plumbing`; "" covers every category). The most
    specific prefix wins; without any rule the mode is manual."""

    __tablename__ = "dispatch_rule"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    category_prefix: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[DispatchMode] = mapped_column(str_enum(DispatchMode, 16))
