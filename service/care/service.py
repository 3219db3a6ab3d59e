"""Elders: registering, reading (masked or in clear, and logged), editing under
consent, erasing, family proxies, and the access log.

Who sees which elders, and who sees them in clear, is decided in service/scope.py
(`visible`, `elder_communities`, `elder_in_clear`); what each role may *do* to
the elders it sees is the table MAY below. A role refused an act is refused (403)
before anything is looked up, so the answer is the same for any id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.care import horizon, masking
from service.care.models import CarePlan, Elder, ElderAccess, ElderProxy
from service.care.schemas import (
    AccessPage,
    AccessRead,
    AccessReader,
    ElderCreate,
    ElderRead,
    ElderUpdate,
    ProxyAdd,
    ProxyRead,
)
from service.db import utcnow
from service.directory.models import Community
from service.enums import OrgRole, Role
from service.errors import AppError, Forbidden, NotFound, Unprocessable
from service.pagination import encode_cursor
from service.scope import elder_communities, elder_in_clear, visible
from service.users.models import User


class ElderErased(AppError):
    """The elder was erased (DELETE): their personal data is gone for good. Only
    callers who could see the elder get this; anyone else gets 404."""

    status, slug = 410, "elder-erased"


class Act(StrEnum):
    edit = "edit"  # register (POST) and change (PATCH)
    erase = "erase"
    manage_proxies = "manage_proxies"
    read_access_log = "read_access_log"


# Who may do what to the elders they see. Editing: the people who register and
# look after them (PRODUCT.md: admins, the community's grid workers, the care
# provider's dispatchers, human or API key; technicians carry out visits and
# read). Erasing and naming family proxies: the public side only (admins, grid
# workers): a provider that stops serving must not take the community's record
# with it, nor choose who speaks for an elder. The access log: the admins who
# oversee, and the elder's own proxies (the family may ask who read their
# parent's record, PIPL art. 44-45); not the readers themselves.
MAY: dict[Act, tuple[tuple[Role, OrgRole | None], ...]] = {
    Act.edit: (
        (Role.admin, None),
        (Role.grid_worker, None),
        (Role.provider_staff, OrgRole.dispatcher),
    ),
    Act.erase: ((Role.admin, None), (Role.grid_worker, None)),
    Act.manage_proxies: ((Role.admin, None), (Role.grid_worker, None)),
    Act.read_access_log: ((Role.admin, None), (Role.resident, None)),
}


def require(principal: Principal, act: Act) -> None:
    for role, org_role in MAY[act]:
        if principal.role == role and (org_role is None or principal.org_role == org_role):
            return
    raise Forbidden(f"elder.may_not_{act}")


def visible_elder(
    session: Session, principal: Principal, elder_id: int, *, erased: bool = False
) -> Elder:
    """The elder `principal` sees: 404 outside their scope, 410 once erased
    (unless `erased`: the access log outlives the person's data)."""
    elder = session.scalar(select(Elder).where(Elder.id == elder_id, visible(principal, Elder)))
    if elder is None:
        raise NotFound("elder.not_found", id=elder_id)
    if elder.erased_at is not None and not erased:
        raise ElderErased("elder.erased", id=elder_id)
    return elder


# --- how an elder is shown -----------------------------------------------------------


def _clear_values(elder: Elder) -> dict[str, Any]:
    location = None
    if any((elder.building, elder.unit, elder.room)):
        location = {"building": elder.building, "unit": elder.unit, "room": elder.room}
    consent = None
    if elder.consent_given_at is not None:
        consent = {
            "given_at": elder.consent_given_at,
            "by": elder.consent_by,
            "note": elder.consent_note,
        }
    return {
        "id": elder.id,
        "community_id": elder.community_id,
        "name": elder.name,
        "phone": elder.phone,
        "birth_year": elder.birth_year,
        "gender": elder.gender,
        "lives_alone": elder.lives_alone,
        "care_level": elder.care_level,
        "location": location,
        "emergency_contacts": list(elder.emergency_contacts or []),
        "health_notes": elder.health_notes,
        "consent": consent,
        "created_at": elder.created_at,
        "updated_at": elder.updated_at,
    }


def shown(principal: Principal, elder: Elder) -> tuple[ElderRead, list[str]]:
    """The elder as `principal` sees it, and the sensitive fields it shows in clear
    (which the caller must record with `record_reads`)."""
    values = _clear_values(elder)
    held = masking.held(values)
    if elder_in_clear(principal):
        return ElderRead(**values, masked=[]), held
    return ElderRead(**masking.mask(values), masked=held), []


def record_reads(
    session: Session, principal: Principal, route: str, reads: Sequence[tuple[int, list[str]]]
) -> None:
    """One access-log row per elder whose sensitive fields an answer shows in clear,
    in the request's transaction: an answer whose reads cannot be recorded is not
    sent. The caller has made the session a writer (service.db.begin_write)."""
    rows = [
        {
            "elder_id": elder_id,
            "reader_id": principal.user_id,
            "role": principal.role,
            "organization_id": principal.organization_id,
            "api_key_id": principal.api_key_id,
            "route": route,
            "fields": fields,
            "read_at": utcnow(),
        }
        for elder_id, fields in reads
        if fields
    ]
    if rows:
        session.execute(insert(ElderAccess), rows)


# --- writing ------------------------------------------------------------------------


def _sensitive_columns(values: dict[str, Any]) -> dict[str, Any]:
    """The columns of the sensitive fields in a body's values (API names -> columns).
    Empty text is no value (NULL): it needs no consent, and the database's check
    counts only NULL as empty."""
    columns: dict[str, Any] = {}
    if "phone" in values:
        columns["phone"] = values["phone"] or None
    if "location" in values:
        location = values["location"] or {}
        for part in ("building", "unit", "room"):
            columns[part] = location.get(part) or None
    if "emergency_contacts" in values:
        columns["emergency_contacts"] = values["emergency_contacts"] or None
    if "health_notes" in values:
        columns["health_notes"] = values["health_notes"] or None
    return columns


def _consent_columns(consent: dict[str, Any] | None) -> dict[str, Any]:
    consent = consent or {}
    return {
        "consent_given_at": consent.get("given_at"),
        "consent_by": consent.get("by"),
        "consent_note": consent.get("note"),
    }


# The columns of each sensitive field.
COLUMNS_OF: dict[str, tuple[str, ...]] = {
    "phone": ("phone",),
    "location": ("building", "unit", "room"),
    "emergency_contacts": ("emergency_contacts",),
    "health_notes": ("health_notes",),
}


def _needs_consent(columns: dict[str, Any]) -> list[str]:
    """The API names of the sensitive fields that `columns` fill."""
    filled = {name for name, value in columns.items() if value}
    return [field for field, parts in COLUMNS_OF.items() if filled.intersection(parts)]


def _refuse_without_consent(fields: list[str]) -> None:
    if fields:
        raise Unprocessable.on("consent", "elder.consent_required", fields=", ".join(fields))


def create_elder(session: Session, principal: Principal, data: ElderCreate) -> Elder:
    require(principal, Act.edit)
    keeps = Community.id.in_(elder_communities(principal))
    if session.scalar(select(Community.id).where(Community.id == data.community_id, keeps)) is None:
        raise Unprocessable.on("community_id", "elder.community_not_yours", id=data.community_id)
    values = data.model_dump()
    sensitive = _sensitive_columns(values)
    if data.consent is None:
        _refuse_without_consent(_needs_consent(sensitive))
    now = utcnow()
    elder = Elder(
        community_id=data.community_id,
        name=data.name,
        birth_year=data.birth_year,
        gender=data.gender,
        lives_alone=data.lives_alone,
        care_level=data.care_level,
        created_at=now,
        updated_at=now,
        created_by_id=principal.user_id,
        **sensitive,
        **_consent_columns(values["consent"]),
    )
    session.add(elder)
    session.flush()
    return elder


def update_elder(session: Session, principal: Principal, elder: Elder, data: ElderUpdate) -> Elder:
    changes = data.model_dump(exclude_unset=True)  # null was refused where not allowed
    if changes.get("location") is not None:
        # Merged part by part: the parts left out keep their value.
        current = {"building": elder.building, "unit": elder.unit, "room": elder.room}
        changes["location"] = {**current, **changes["location"]}
    sensitive = _sensitive_columns(changes)
    plain = {k: v for k, v in changes.items() if k not in masking.SENSITIVE_FIELDS}
    consent = plain.pop("consent", ...)
    if consent is None:
        # Withdrawn: what was kept under it goes with it, and nothing new may come.
        _refuse_without_consent(_needs_consent(sensitive))
        sensitive = dict.fromkeys(column for parts in COLUMNS_OF.values() for column in parts)
        plain.update(_consent_columns(None))
    elif consent is not ...:
        plain.update(_consent_columns(consent))
    elif elder.consent_given_at is None:
        _refuse_without_consent(_needs_consent(sensitive))
    for column, value in {**plain, **sensitive}.items():
        setattr(elder, column, value)
    elder.updated_at = utcnow()
    session.flush()
    return elder


def erase_elder(session: Session, principal: Principal, elder: Elder, timezone: str) -> None:
    """PIPL art. 47: the person is erased; an anonymous row stays (its community,
    the decade of birth, care level, living alone) so that the services they had
    still count in the metrics. Their proxies go; the access log stays (it holds
    nothing of them and is what an audit asks for). Their care plans stop and the
    visits to come are cancelled: nobody is sent to a door for someone erased."""
    now = utcnow()
    for plan in session.scalars(
        select(CarePlan).where(CarePlan.elder_id == elder.id, CarePlan.active)
    ):
        plan.active = False
        plan.updated_at = now
        horizon.reshape(session, plan, principal.user_id, now, timezone, cause="elder_erased")
    session.execute(delete(ElderProxy).where(ElderProxy.elder_id == elder.id))
    for column in (
        "name",
        "phone",
        "gender",
        "building",
        "unit",
        "room",
        "emergency_contacts",
        "health_notes",
        "consent_given_at",
        "consent_by",
        "consent_note",
    ):
        setattr(elder, column, None)
    if elder.birth_year is not None:
        elder.birth_year = elder.birth_year // 10 * 10
    elder.erased_at, elder.erased_by_id, elder.updated_at = now, principal.user_id, now
    session.flush()


def list_elders(
    session: Session,
    principal: Principal,
    *,
    community_ids: list[int] | None,
    after: int | None,
    limit: int,
) -> tuple[Sequence[Elder], int | None]:
    query = (
        select(Elder)
        .where(visible(principal, Elder), Elder.erased_at.is_(None))
        .order_by(Elder.id)
        .limit(limit + 1)
    )
    if community_ids:
        query = query.where(Elder.community_id.in_(community_ids))
    if after is not None:
        query = query.where(Elder.id > after)
    rows = session.scalars(query).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


# --- family proxies -------------------------------------------------------------------


def _proxy_read(user: User, created_at: dt.datetime) -> ProxyRead:
    return ProxyRead(user_id=user.id, name=user.name, phone=user.phone, created_at=created_at)


def _resident(session: Session, principal: Principal, data: ProxyAdd) -> User:
    if (data.user_id is None) == (data.phone is None):
        raise Unprocessable.on("user_id", "elder.proxy_whom")
    residents = select(User).where(User.role == Role.resident)
    if data.user_id is not None:
        # By id only among the residents of communities the caller keeps elders in:
        # ids are easy to guess, and an answer would tell whose they are.
        user = session.scalar(
            residents.where(
                User.id == data.user_id, User.community_id.in_(elder_communities(principal))
            )
        )
        if user is None:
            raise Unprocessable.on("user_id", "elder.proxy_unknown")
        return user
    # By phone anywhere: a daughter living in another city is a resident there, and
    # the grid worker who registers her already holds her phone.
    found = session.scalars(residents.where(User.phone == data.phone).limit(2)).all()
    if not found:
        raise Unprocessable.on("phone", "elder.proxy_unknown")
    if len(found) > 1:
        raise Unprocessable.on("phone", "elder.proxy_ambiguous")
    return found[0]


def add_proxy(session: Session, principal: Principal, elder: Elder, data: ProxyAdd) -> ProxyRead:
    user = _resident(session, principal, data)
    link = session.get(ElderProxy, (elder.id, user.id))
    if link is None:
        link = ElderProxy(
            elder_id=elder.id, user_id=user.id, created_at=utcnow(), created_by_id=principal.user_id
        )
        session.add(link)
        session.flush()
    return _proxy_read(user, link.created_at)


def list_proxies(session: Session, elder: Elder) -> list[ProxyRead]:
    rows = session.execute(
        select(User, ElderProxy.created_at)
        .join(ElderProxy, ElderProxy.user_id == User.id)
        .where(ElderProxy.elder_id == elder.id)
        .order_by(ElderProxy.created_at, User.id)
    ).all()
    return [_proxy_read(user, created_at) for user, created_at in rows]


def remove_proxy(session: Session, elder: Elder, user_id: int) -> None:
    removed = session.execute(
        delete(ElderProxy).where(ElderProxy.elder_id == elder.id, ElderProxy.user_id == user_id)
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound("elder.proxy_not_found", id=user_id)


# --- the access log ---------------------------------------------------------------------


def access_log(
    session: Session, principal: Principal, elder_id: int, *, before: int | None, limit: int
) -> AccessPage:
    """Newest first. An admin sees each reader by name; a family proxy sees them
    as the issue-14 timeline shows people to residents: role and organisation."""
    query = (
        select(ElderAccess, User.name)
        .join(User, User.id == ElderAccess.reader_id)
        .where(ElderAccess.elder_id == elder_id)
        .order_by(ElderAccess.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(ElderAccess.id < before)
    rows = session.execute(query).all()
    named = principal.role == Role.admin
    items = [
        AccessRead(
            id=row.id,
            read_at=row.read_at,
            reader=AccessReader(
                user_id=row.reader_id if named else None,
                name=name if named else None,
                role=row.role,
                organization_id=row.organization_id,
                api_key=row.api_key_id is not None,
            ),
            route=row.route,
            fields=list(row.fields),
        )
        for row, name in rows[:limit]
    ]
    more = len(rows) > limit
    return AccessPage(items=items, next_cursor=encode_cursor("ea", items[-1].id) if more else None)
