"""Staff, on duty, and how new tickets reach technicians (PRODUCT.md, Dispatch).

An organisation's dispatch mode is chosen per category by its rules: the rule
of the longest prefix of the ticket's category code wins (`repair.plumbing`
over `repair` over every category); without one the mode is manual.

- manual: tickets wait for a dispatcher (today's behaviour);
- round_robin: filing gives the ticket to the on-duty technician who least
  recently got one (`next_technician`);
- grab (抢单): the ticket stays unassigned, every technician of the
  organisation sees it, and the first `accept` takes it: the ticket's version
  check makes a second accept of the same ticket answer 409.

Services take the session and the principal, flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from service.auth import Principal
from service.categories.models import Category
from service.directory.models import Organization
from service.directory.service import editable_organization
from service.dispatch.models import DispatchMode, DispatchRule
from service.dispatch.schemas import DispatchRuleItem, StaffUpdate
from service.enums import OrgRole, Role
from service.errors import Forbidden, Invalid, NotFound, Unprocessable
from service.scope import visible
from service.users.models import User

# API keys act through machine users (service/apikeys): not people, not staff.
MACHINE_SUB_PREFIX = "api-key:"
EVERY_CATEGORY = ""
# pg_advisory_xact_lock(ROUND_ROBIN_LOCK, organization id): the two-key space,
# apart from the Idempotency-Key locks' one-key space.
ROUND_ROBIN_LOCK = 0x4C4C5252  # "LLRR"


def staff_organization(
    session: Session, principal: Principal, organization_id: int, *, staff_read: bool = False
) -> Organization:
    """The organisation whose staff or rules the caller manages: 404 when they
    cannot see it, 403 unless they are its dispatcher or an admin over it;
    `staff_read`: any of its staff may read (the dispatch rules: a technician
    needs to know whether to grab). Admins: those above the region the
    organisation is registered in, as for its API keys (serving a community in
    their region is not enough to lock its people out)."""
    if principal.role == Role.admin:
        editable: Organization = editable_organization(session, principal, organization_id)
        return editable
    organization = session.scalar(
        select(Organization).where(
            Organization.id == organization_id, visible(principal, Organization)
        )
    )
    if organization is None:
        raise NotFound("organization.not_found", id=organization_id)
    if principal.is_dispatcher:
        return organization
    if staff_read and principal.role == Role.provider_staff:
        return organization
    raise Forbidden("staff.forbidden")


def _staff(organization_id: int) -> Any:
    return select(User).where(
        User.organization_id == organization_id,
        User.role == Role.provider_staff,
        ~User.sub.startswith(MACHINE_SUB_PREFIX, autoescape=True),
    )


def list_staff(session: Session, organization_id: int) -> Sequence[User]:
    return session.scalars(_staff(organization_id).order_by(User.id)).all()


def update_staff(
    session: Session, principal: Principal, organization_id: int, user_id: int, data: StaffUpdate
) -> User:
    """Deactivate (or reactivate) a staff member, or put a technician on or off duty."""
    user = session.scalar(_staff(organization_id).where(User.id == user_id))
    if user is None:
        raise NotFound("staff.not_found", id=user_id)
    if data.active is not None and data.active != user.active:
        if principal.api_key_id is not None:
            raise Forbidden("staff.forbidden")  # a machine does not lock people out
        if not data.active and user.id == principal.user_id:
            raise Unprocessable("staff.unfit", errors=[Invalid("active", "staff.not_yourself")])
        user.active = data.active
    if data.on_duty is not None:
        if user.org_role != OrgRole.technician:
            raise Unprocessable(
                "staff.unfit", errors=[Invalid("on_duty", "staff.technicians_only")]
            )
        user.on_duty = data.on_duty
    session.flush()
    return user


def set_own_duty(session: Session, principal: Principal, on_duty: bool) -> User:
    if (
        principal.role != Role.provider_staff
        or principal.org_role != OrgRole.technician
        or principal.api_key_id is not None
    ):
        raise Forbidden("staff.technicians_only")
    user = session.get(User, principal.user_id)
    assert user is not None
    user.on_duty = on_duty
    session.flush()
    return user


# --- dispatch modes ------------------------------------------------------------


def list_rules(session: Session, organization_id: int) -> Sequence[DispatchRule]:
    return session.scalars(
        select(DispatchRule)
        .where(DispatchRule.organization_id == organization_id)
        .order_by(DispatchRule.category_prefix)
    ).all()


def _covers(prefix: Any, code: Any) -> ColumnElement[bool]:
    """SQL: `prefix` is "" (every category), `code` itself, or a dotted ancestor
    of it (substr, not LIKE: `_` in a code is no wildcard)."""
    return or_(
        prefix == EVERY_CATEGORY,
        code == prefix,
        func.substr(code, 1, func.length(prefix) + 1) == prefix + literal("."),
    )


def replace_rules(
    session: Session, organization_id: int, items: Sequence[DispatchRuleItem]
) -> Sequence[DispatchRule]:
    """The organisation's rules become `items`: each prefix must be a category's
    code or an ancestor of one, and appear once."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        prefix = item.category or EVERY_CATEGORY
        if prefix in seen:
            raise Unprocessable(
                "dispatch.unfit",
                errors=[
                    Invalid(f"rules.{index}.category", "dispatch.category_twice", prefix=prefix)
                ],
            )
        seen.add(prefix)
        if prefix and not session.scalar(
            select(func.count()).where(_covers(literal(prefix), Category.code))
        ):
            raise Unprocessable(
                "dispatch.unfit",
                errors=[
                    Invalid(f"rules.{index}.category", "dispatch.category_unknown", prefix=prefix)
                ],
            )
    session.execute(delete(DispatchRule).where(DispatchRule.organization_id == organization_id))
    session.add_all(
        DispatchRule(
            organization_id=organization_id,
            category_prefix=item.category or EVERY_CATEGORY,
            mode=item.mode,
        )
        for item in items
    )
    session.flush()
    return list_rules(session, organization_id)


def mode_for(rules: Sequence[DispatchRule], category_code: str) -> DispatchMode:
    """The mode of the most specific rule covering `category_code`; manual without one."""
    best: DispatchRule | None = None
    for rule in rules:
        prefix = rule.category_prefix
        if prefix and category_code != prefix and not category_code.startswith(prefix + "."):
            continue
        if best is None or len(prefix) > len(best.category_prefix):
            best = rule
    return best.mode if best is not None else DispatchMode.manual


def mode_column(organization_id: Any, category_code: Any) -> Any:
    """SQL: `mode_for` as a scalar subquery, for the filing context's one SELECT
    (NULL: manual)."""
    return (
        select(DispatchRule.mode)
        .where(
            DispatchRule.organization_id == organization_id,
            _covers(DispatchRule.category_prefix, category_code),
        )
        .order_by(func.length(DispatchRule.category_prefix).desc())
        .limit(1)
        .scalar_subquery()
    )


def next_technician(session: Session, organization_id: int, now: dt.datetime) -> int | None:
    """Round robin: the on-duty, active technician of the organisation who least
    recently got a ticket (never first, then by id), stamped as having got one
    now; None when nobody is on duty.

    Fair between concurrent filings: on PostgreSQL the filings of one
    organisation pick in turn, each holding the organisation's transaction-scoped
    advisory lock until it commits, so the next one's pick (a statement begun
    after that commit) sees the stamp. Row locks alone were not enough: an
    UPDATE whose ORDER BY ... LIMIT 1 FOR UPDATE SKIP LOCKED began before
    another filing committed, and reached the row after it, took that filing's
    technician as well (READ COMMITTED rechecks the row, not the order: two of
    four filings at once on two instances, tests/dispatch/test_races.py, once
    in two runs of the suite). The wait is for the few statements left of the
    filing before; it awaits like any statement on the event loop. SQLite runs
    one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ROUND_ROBIN_LOCK, organization_id)))
    least_recent = (
        select(User.id)
        .where(
            User.organization_id == organization_id,
            User.role == Role.provider_staff,
            User.org_role == OrgRole.technician,
            User.active.is_(True),
            User.on_duty.is_(True),
        )
        .order_by(User.last_dispatched_at.asc().nulls_first(), User.id)
        .limit(1)
        .scalar_subquery()
    )
    chosen = session.execute(
        update(User)
        .where(User.id == least_recent)
        .values(last_dispatched_at=now)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    return None if chosen is None else int(chosen)
