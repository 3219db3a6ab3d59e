"""People known to Linli, provisioned from identity-gateway tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow
from service.enums import OrgRole, Role, str_enum


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    # The mini program's openid of this person (the token's `wechat_openid`):
    # where WeChat subscribe messages go (service/notifications).
    wechat_openid: Mapped[str | None] = mapped_column(String(64))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    org_role: Mapped[OrgRole | None] = mapped_column(str_enum(OrgRole, 16))
    # Indexed: alerts find the admins of a region (service/notifications/alerts.py).
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Dispatch (service/dispatch): a deactivated person's tokens are refused (403);
    # a technician on duty takes round-robin tickets; when one was last given one.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    on_duty: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A hint for the staff list, written at most every few minutes (service.auth).
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
