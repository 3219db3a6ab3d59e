"""Who is signed in to the dashboard in a browser, and how they got there.

A one-time code (a link's `code`) is made for an admin, by the API
(`POST /v1/dashboard/links`, a minute) or by the operator's command line
(`python -m service dashboard-link --region ...`, minutes); only a SHA-256 of it
is stored. Opening the link exchanges the code, once, for a browser session:
another random secret, hashed likewise, in an HttpOnly cookie that the
dashboard's GET routes alone honour. Pasting the gateway's token on the sign-in
page opens a session the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Literal

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from service.auth import Principal, principal_for_user
from service.dashboard.models import DashboardSession
from service.directory.models import Region
from service.enums import Role
from service.users.models import User

COOKIE = "linli_dashboard"
COOKIE_PATH = "/dashboard"
API_CODE_TTL = dt.timedelta(seconds=60)
CLI_CODE_TTL = dt.timedelta(minutes=10)
MAX_CODE_TTL = dt.timedelta(hours=1)
SESSION_TTL = dt.timedelta(hours=8)
# A used or expired code is kept this long after it expired, so that opening it
# again says "used" or "expired" rather than "unknown".
KEEP_SPENT = dt.timedelta(days=1)
LINK_SUB_PREFIX = "linli-dashboard-link:"

Refusal = Literal["unknown", "used", "expired"]


class CodeRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


def hash_secret(secret: str) -> str:
    # 192-256 random bits: a fast hash cannot be brute-forced.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_code(
    session: Session, user_id: int, now: dt.datetime, ttl: dt.timedelta = API_CODE_TTL
) -> tuple[str, dt.datetime]:
    """A new one-time code for `user_id`, and when it expires."""
    code = secrets.token_urlsafe(24)
    expires = now + min(ttl, MAX_CODE_TTL)
    session.add(
        DashboardSession(
            token_hash=hash_secret(code),
            kind="code",
            user_id=user_id,
            expires_at=expires,
            created_at=now,
        )
    )
    session.flush()
    return code, expires


def exchange_code(session: Session, code: str, now: dt.datetime) -> int:
    """The user id of a valid code, which is spent by this call: of two requests
    racing with the same code, one wins and the other is told it was used."""
    row = session.execute(
        select(
            DashboardSession.id,
            DashboardSession.user_id,
            DashboardSession.used_at,
            DashboardSession.expires_at,
        ).where(DashboardSession.token_hash == hash_secret(code), DashboardSession.kind == "code")
    ).first()
    if row is None:
        raise CodeRefused("unknown")
    if row.used_at is not None:
        raise CodeRefused("used")
    if row.expires_at < now:
        raise CodeRefused("expired")
    spent = session.execute(
        update(DashboardSession)
        .where(DashboardSession.id == row.id, DashboardSession.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeRefused("used")
    return int(row.user_id)


def open_session(session: Session, user_id: int, now: dt.datetime) -> str:
    """A new browser session for `user_id`: the cookie's secret."""
    secret = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=hash_secret(secret),
            kind="session",
            user_id=user_id,
            expires_at=now + SESSION_TTL,
            created_at=now,
        )
    )
    # Old sessions and codes are swept as new ones are made.
    session.execute(
        delete(DashboardSession).where(
            or_(
                DashboardSession.expires_at < now - KEEP_SPENT,
                and_(DashboardSession.kind == "session", DashboardSession.expires_at < now),
            )
        )
    )
    session.flush()
    return secret


def end_session(session: Session, secret: str) -> None:
    session.execute(
        delete(DashboardSession).where(
            DashboardSession.token_hash == hash_secret(secret), DashboardSession.kind == "session"
        )
    )


def session_principal(session: Session, secret: str, now: dt.datetime) -> Principal | None:
    """The admin whose browser session this cookie is, or None (unknown, expired)."""
    row = session.scalar(
        select(DashboardSession).where(
            DashboardSession.token_hash == hash_secret(secret), DashboardSession.kind == "session"
        )
    )
    if row is None or row.expires_at < now:
        return None
    user = session.get(User, row.user_id)
    return None if user is None else principal_for_user(session, user)


# --- the command line's links --------------------------------------------------


def find_region(session: Session, wanted: str) -> Region:
    """A region by id or by exact name; LookupError says what was wrong."""
    wanted = wanted.strip()
    if wanted.isdigit():
        region = session.get(Region, int(wanted))
        if region is None:
            raise LookupError(f"no region {wanted}")
        return region
    matches = session.scalars(select(Region).where(Region.name == wanted).order_by(Region.id)).all()
    if not matches:
        raise LookupError(f"no region named {wanted!r}")
    if len(matches) > 1:
        ids = ", ".join(str(r.id) for r in matches)
        raise LookupError(f"{len(matches)} regions are named {wanted!r} (ids {ids}): give the id")
    return matches[0]


def link_user(session: Session, region: Region, now: dt.datetime) -> User:
    """The admin a command-line link signs in as: one per region, scoped to it,
    named so that the audit trail says where the session came from."""
    sub = f"{LINK_SUB_PREFIX}{region.id}"
    user = session.scalar(select(User).where(User.sub == sub))
    if user is None:
        user = User(
            sub=sub,
            role=Role.admin,
            name=f"看板链接 · {region.name}"[:100],
            region_id=region.id,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
    return user
