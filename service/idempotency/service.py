"""Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header).

Everything happens in the request's one transaction, so a ticket acknowledged
with 201 and its stored response commit together or not at all, and a request
that dies (crash, timeout, error) leaves no trace and no stale claim behind:

- PostgreSQL: the request first takes a transaction-scoped advisory lock on
  (caller, key) with pg_try_advisory_xact_lock. If another request holds it,
  that one is still running: 409. The lock goes with its transaction.
- SQLite: write requests hold the database's write lock (BEGIN IMMEDIATE), so a
  duplicate waits for the first to commit and then finds its stored response.

Then: a stored response with the same fingerprint is replayed, with another
fingerprint the key was reused (422); otherwise the work is done and the
response is stored by `store` before the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, text
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


def _lock_id(owner: str, key: str) -> int:
    digest = hashlib.sha256(f"{owner}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def begin(session: Session, *, owner: str, key: str, request_hash: str) -> Replay | None:
    """Start handling `key` in the session's (write) transaction.

    Returns the stored response to replay, or None when the caller should do the
    work and then call `store`. Raises 409 while another request with this key
    runs, and 422 when the key was used for a different request.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:lock_id)"), {"lock_id": _lock_id(owner, key)}
        )
        if not locked:
            raise IdempotencyInProgress(
                "The first request with this key is still being processed; retry shortly."
            )
    existing = session.execute(
        select(
            IdempotencyKey.request_hash,
            IdempotencyKey.response_status,
            IdempotencyKey.response_body,
            IdempotencyKey.response_headers,
            IdempotencyKey.expires_at,
        ).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).one_or_none()
    if existing is None:
        return None
    if existing.expires_at <= utcnow():
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        )
        return None
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body.")
    return Replay(existing.response_status, existing.response_body, existing.response_headers or {})


def store(
    session: Session,
    *,
    owner: str,
    key: str,
    request_hash: str,
    status: int,
    body: Any,
    headers: dict[str, str],
    ttl: dt.timedelta,
) -> None:
    """Remember the response, in the same transaction as the work it describes."""
    now = utcnow()
    session.execute(
        insert(IdempotencyKey.__table__).values(  # type: ignore[arg-type]
            owner=owner,
            key=key,
            request_hash=request_hash,
            response_status=status,
            response_body=body,
            response_headers=headers,
            created_at=now,
            expires_at=now + ttl,
        )
    )


def purge_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
