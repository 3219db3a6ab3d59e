"""The same report filed twice: a resident pressing "submit" again on a slow
network, or two grid workers' rounds noting one broken light for the same
person. Within LINLI_DUPLICATE_WINDOW_MINUTES, a filing by the same person with
the same community, category, location and description (whitespace
normalised) answers the first ticket, still open, instead of a second one.

The report's fingerprint is stored on the ticket (`duplicate_key`, indexed)
and looked up by the filing context's one statement (filing.py), so the check
costs no round trip. Only residents' and grid workers' filings are matched:
staff taking phone calls and integrations file what they are told, with an
Idempotency-Key for their retries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select

from service.auth import Principal
from service.enums import Role
from service.tickets.lifecycle import OPEN
from service.tickets.models import Ticket
from service.tickets.schemas import TicketCreate

MATCHED_ROLES = frozenset({Role.resident, Role.grid_worker})
PARAMS = ("dup_key", "dup_filer", "dup_since")


@dataclass(frozen=True)
class Duplicate:
    """What filing answers instead of a new ticket: the one filed before."""

    ticket_id: int


def _norm(value: str | None) -> str | None:
    return None if value is None else " ".join(value.split())


def fingerprint(principal: Principal, data: TicketCreate) -> int:
    """A signed 64-bit digest of what makes two filings the same report."""
    location = data.location
    person = data.on_behalf_of
    parts: list[Any] = [
        principal.user_id,
        _norm(person.name) if person else None,
        person.phone if person else None,
        data.community_id,
        data.category,
        _norm(location.building) if location else None,
        _norm(location.unit) if location else None,
        _norm(location.room) if location else None,
        str(location.area) if location and location.area else None,
        _norm(data.description),
    ]
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def matches(principal: Principal) -> bool:
    return principal.role in MATCHED_ROLES and principal.user_id is not None


def earlier_column() -> Any:
    """The id of the caller's open ticket with the same fingerprint filed since
    `dup_since` (NULL: none), as a column of the filing context's statement.
    An index lookup on duplicate_key; the filer is checked as well, so that a
    collision of the digest could only ever answer the caller's own ticket."""
    return (
        select(Ticket.id)
        .where(
            Ticket.duplicate_key == bindparam("dup_key"),
            Ticket.filed_by_id == bindparam("dup_filer"),
            Ticket.created_at > bindparam("dup_since"),
            # Literal equalities, not IN: the statement runs through the driver.
            or_(*(Ticket.status == status for status in sorted(OPEN))),
        )
        .order_by(Ticket.id)
        .limit(1)
        .scalar_subquery()
        .label("duplicate_id")
    )


def params(principal: Principal, key: int, now: dt.datetime, window: dt.timedelta) -> dict:
    return {"dup_key": key, "dup_filer": principal.user_id, "dup_since": now - window}
