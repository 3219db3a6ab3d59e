"""Registering, listing and revoking integrations, and finding one by its key."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from service.auth import API_KEY_PREFIX, Principal, hash_api_key, new_api_key
from service.db import utcnow
from service.directory.models import Region
from service.enums import Role
from service.errors import NotFound, Unprocessable
from service.open311.models import Integration
from service.scope import visible
from service.users.models import User

# last_used_at is a hint, not an audit trail (as for organisations' keys).
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def create_integration(
    session: Session, principal: Principal, name: str, region_id: int
) -> tuple[Integration, str]:
    """The integration and its raw key, which is shown once and never stored.
    The region must be the admin's or under it (422 otherwise, as for any
    object named in a body)."""
    region = session.scalar(
        select(Region).where(Region.id == region_id, visible(principal, Region))
    )
    if region is None:
        raise Unprocessable.on("region_id", "region.not_in_scope", id=region_id)
    raw = new_api_key()
    machine_user = User(
        sub=f"integration:{uuid.uuid4()}", role=Role.admin, name=name, region_id=region.id
    )
    session.add(machine_user)
    session.flush()
    integration = Integration(
        name=name,
        region_id=region.id,
        region_path=region.path,
        prefix=raw[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + 8],
        key_hash=hash_api_key(raw),
        user_id=machine_user.id,
    )
    session.add(integration)
    session.flush()
    return integration, raw


def list_integrations(session: Session, principal: Principal) -> Sequence[Integration]:
    return session.scalars(
        select(Integration).where(visible(principal, Integration)).order_by(Integration.id)
    ).all()


def visible_integration(session: Session, principal: Principal, integration_id: int) -> Integration:
    integration = session.scalar(
        select(Integration).where(Integration.id == integration_id, visible(principal, Integration))
    )
    if integration is None:
        raise NotFound("integration.not_found", id=integration_id)
    return integration


def revoke_integration(session: Session, integration: Integration) -> Integration:
    if integration.revoked_at is None:
        integration.revoked_at = utcnow()
        session.flush()
    return integration


# Built once: building a statement per request cost a quarter of a POST's CPU.
_BY_HASH = select(Integration).where(
    Integration.key_hash == bindparam("key_hash"), Integration.revoked_at.is_(None)
)


def by_key(session: Session, raw: str) -> Integration | None:
    """The live integration of `raw`, its use noted at most once a minute (in the
    request's write transaction: a request refused later does not count)."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    integration = session.scalar(_BY_HASH, {"key_hash": hash_api_key(raw)})
    if integration is None:
        return None
    now = utcnow()
    last_used = integration.last_used_at
    if last_used is None or now - last_used > TOUCH_INTERVAL:
        session.execute(
            update(Integration).where(Integration.id == integration.id).values(last_used_at=now)
        )
    return integration


def principal_of(integration: Integration) -> Principal:
    """Who files an integration's tickets: its machine user, as an admin of its
    region (so the filing path's scope is the jurisdiction's)."""
    return Principal(
        user_id=integration.user_id,
        role=Role.admin,
        name=integration.name,
        region_id=integration.region_id,
        region_path=integration.region_path,
    )
