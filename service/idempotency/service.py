"""Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header).

Everything happens in the request's one transaction, so a ticket acknowledged
with 201 and its stored response commit together or not at all, and a request
that dies (crash, timeout, error) leaves no trace and no stale claim behind:

- PostgreSQL: the request first takes a transaction-scoped advisory lock on
  (caller, key) with pg_try_advisory_xact_lock. If another request holds it,
  that one is still running: 409. The lock goes with its transaction (a
  session lock would stay with a server connection that a PgBouncer in
  transaction mode lends to other clients next: issue 20).
- SQLite: write requests hold the database's write lock (BEGIN IMMEDIATE), so a
  duplicate waits for the first to commit and then finds its stored response.

Then: a stored response with the same fingerprint is replayed, with another
fingerprint the key was reused (422); otherwise the work is done and the
response is stored by `store` before the commit.

Ticket creation, the hot path, saves the round trips: it takes the lock and
looks the key up in the statement that reads what the ticket needs
(`claim_columns` / `resolve`), and sends the key's row together with the
ticket's INSERTs (`store`, inside db.pipelined). One statement has one
snapshot, taken before the lock: a request with the same key that commits in
between is not seen by the lookup, but its row is, by the INSERT, which then
stores nothing (ON CONFLICT DO NOTHING); `store` answers False and the caller
rolls back and looks again, and replays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, delete, func, literal, select, text
from sqlalchemy.orm import Session

from service.db import driver_execute, utcnow
from service.errors import IdempotencyInProgress, IdempotencyKeyReused, Invalid, Unprocessable
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
            "idempotency.bad_key", errors=[Invalid("Idempotency-Key", "idempotency.key_shape")]
        )
    return key


@dataclass(frozen=True)
class Claim:
    """A request's Idempotency-Key, scoped to its caller, and its body's fingerprint."""

    owner: str
    key: str
    request_hash: str


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
            raise IdempotencyInProgress("idempotency.in_progress")
    existing = session.execute(
        select(
            IdempotencyKey.request_hash,
            IdempotencyKey.response_status,
            IdempotencyKey.response_body,
            IdempotencyKey.response_headers,
            IdempotencyKey.expires_at,
        ).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).one_or_none()
    return _verdict(session, owner, key, request_hash, existing)


def _verdict(
    session: Session, owner: str, key: str, request_hash: str, existing: Any
) -> Replay | None:
    if existing is None or existing.request_hash is None:
        return None
    if existing.expires_at <= utcnow():
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        )
        return None
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused("idempotency.key_reused")
    return Replay(existing.response_status, existing.response_body, existing.response_headers or {})


def claim_columns(dialect: str) -> tuple[list[Any], Any, Any]:
    """What `begin` does, as columns and an outer join for another statement:
    (columns, the table to join, the ON clause), with bind parameters that
    `claim_params` fills. Pass that statement's row to `resolve`."""
    locked: Any = literal(True)
    if dialect == "postgresql":
        locked = func.pg_try_advisory_xact_lock(bindparam("idem_lock", type_=BigInteger))
    columns = [
        locked.label("idem_locked"),
        IdempotencyKey.request_hash.label("idem_request_hash"),
        IdempotencyKey.response_status.label("idem_status"),
        IdempotencyKey.response_body.label("idem_body"),
        IdempotencyKey.response_headers.label("idem_headers"),
        IdempotencyKey.expires_at.label("idem_expires_at"),
    ]
    on = and_(
        IdempotencyKey.owner == bindparam("idem_owner"),
        IdempotencyKey.key == bindparam("idem_key"),
    )
    return columns, IdempotencyKey, on


CLAIM_PARAMS = ("idem_lock", "idem_owner", "idem_key")


def claim_params(claim: Claim) -> dict[str, Any]:
    return {
        "idem_lock": _lock_id(claim.owner, claim.key),
        "idem_owner": claim.owner,
        "idem_key": claim.key,
    }


@dataclass(frozen=True)
class _Stored:
    request_hash: str | None
    response_status: int
    response_body: Any
    response_headers: dict[str, str] | None
    expires_at: Any


def resolve(session: Session, claim: Claim, row: Any) -> Replay | None:
    """`begin`'s answer from a row that carried `claim_columns`."""
    if not row.idem_locked:
        raise IdempotencyInProgress("idempotency.in_progress")
    stored = _Stored(
        row.idem_request_hash,
        row.idem_status,
        row.idem_body,
        row.idem_headers,
        row.idem_expires_at,
    )
    return _verdict(session, claim.owner, claim.key, claim.request_hash, stored)


_INSERT = {
    "postgresql": (
        "INSERT INTO idempotency_key (owner, key, request_hash, response_status, "
        "response_body, response_headers, created_at, expires_at) VALUES (%(owner)s, %(key)s, "
        "%(request_hash)s, %(status)s, %(body)s::json, %(headers)s::json, %(now)s, "
        "%(expires_at)s) ON CONFLICT (owner, key) DO NOTHING"
    ),
    "sqlite": (
        "INSERT INTO idempotency_key (owner, key, request_hash, response_status, "
        "response_body, response_headers, created_at, expires_at) VALUES (:owner, :key, "
        ":request_hash, :status, :body, :headers, :now, :expires_at) "
        "ON CONFLICT (owner, key) DO NOTHING"
    ),
}


def store(
    session: Session,
    claim: Claim,
    *,
    status: int,
    body: bytes,
    headers: dict[str, str],
    ttl: dt.timedelta,
) -> Callable[[], bool]:
    """Remember the response (`body`: its JSON), in the same transaction as the work
    it describes. Returns a check, to call once the statement has run (after
    db.pipelined): False when a request with the same key committed first."""
    now = utcnow()
    cursor = driver_execute(
        session,
        _INSERT,
        {
            "owner": claim.owner,
            "key": claim.key,
            "request_hash": claim.request_hash,
            "status": status,
            "body": body.decode(),
            "headers": json.dumps(headers),
            "now": now,
            "expires_at": now + ttl,
        },
    )
    return lambda: cursor.rowcount == 1


def purge_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
