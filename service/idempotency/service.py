"""Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header).

The key is claimed in its own short transaction before the work starts, so a
concurrent duplicate sees the claim and answers 409 instead of doing the work
twice. The outcome is stored in the same transaction as the work itself: a
ticket acknowledged with 201 and its stored response commit together or not
at all. A claim whose request died (crash, timeout) frees itself after
`lock_seconds`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import FieldError, IdempotencyInProgress, IdempotencyKeyReused, Unprocessable
from service.idempotency.models import IdempotencyKey

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any
    headers: dict[str, str]


def fingerprint(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def validate_key(key: str) -> str:
    key = key.strip().strip('"')
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Unprocessable(
            "Bad Idempotency-Key.",
            errors=[FieldError(field="Idempotency-Key", message="1-255 printable characters")],
        )
    return key


def claim(
    session: Session,
    *,
    owner: str,
    key: str,
    request_hash: str,
    ttl: dt.timedelta,
    lock: dt.timedelta,
) -> Replay | None:
    """Claim `key` for this request and commit the claim.

    Returns None when the caller should do the work, or the stored response
    to replay. Raises 409 while another request holds the key and 422 when the
    key was used for a different request.
    """
    for _attempt in range(3):
        now = utcnow()
        try:
            session.add(
                IdempotencyKey(
                    owner=owner,
                    key=key,
                    request_hash=request_hash,
                    locked_until=now + lock,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
            session.commit()
            return None
        except IntegrityError:
            session.rollback()
        existing = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        )
        if existing is None:
            continue  # released meanwhile: try the claim again
        if existing.expires_at <= now:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
            session.commit()
            continue
        if existing.request_hash != request_hash:
            session.rollback()
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request body."
            )
        if existing.response_status is not None:
            replay = Replay(
                existing.response_status, existing.response_body, existing.response_headers or {}
            )
            session.rollback()
            return replay
        if existing.locked_until > now:
            session.rollback()
            raise IdempotencyInProgress("The first request with this key is still being processed.")
        # The request that claimed it died: take the claim over, once.
        taken = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == existing.id,
                IdempotencyKey.response_status.is_(None),
                IdempotencyKey.locked_until <= now,
            )
            .values(locked_until=now + lock)
        )
        session.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return None
    raise IdempotencyInProgress("The first request with this key is still being processed.")


def complete(
    session: Session, *, owner: str, key: str, status: int, body: Any, headers: dict[str, str]
) -> None:
    """Store the outcome in the request's own transaction (not committed here)."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body, response_headers=headers)
    )


def release(session: Session, *, owner: str, key: str) -> None:
    """Forget a claim whose request failed, so that a retry does the work afresh."""
    session.rollback()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.owner == owner,
            IdempotencyKey.key == key,
            IdempotencyKey.response_status.is_(None),
        )
    )
    session.commit()


def purge_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
