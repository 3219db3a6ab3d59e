"""Creating, listing and revoking organisations' API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.apikeys.models import ApiKey
from service.auth import API_KEY_PREFIX, hash_api_key, new_api_key
from service.db import utcnow
from service.directory.models import Organization
from service.enums import OrgRole, Role
from service.users.models import User


def create_api_key(session: Session, organization: Organization, name: str) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is shown once and never stored."""
    raw = new_api_key()
    machine_user = User(
        sub=f"api-key:{uuid.uuid4()}",
        role=Role.provider_staff,
        name=name,
        organization_id=organization.id,
        org_role=OrgRole.dispatcher,
    )
    session.add(machine_user)
    session.flush()
    api_key = ApiKey(
        organization_id=organization.id,
        name=name,
        prefix=raw[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + 8],
        key_hash=hash_api_key(raw),
        user_id=machine_user.id,
    )
    session.add(api_key)
    session.flush()
    return api_key, raw


def list_api_keys(session: Session, organization_id: int) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.organization_id == organization_id).order_by(ApiKey.id)
    ).all()


def revoke_api_key(session: Session, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        session.flush()
    return api_key
