"""What Open311 shows anyone: services (the category tree), service requests
and their updates. Nothing personal leaves here: no names, phones, rooms or
descriptions (free text a resident wrote for their property company), no
photos, and no elderly-care tickets (they are about a named person's care).
Where: the community (a place of hundreds of households), never the home."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session, aliased

from service.categories.models import Category
from service.db import utcnow
from service.directory.models import Community, Organization, Region
from service.enums import LocationArea, Status, TicketKind
from service.errors import NotFound, Unprocessable
from service.i18n import text
from service.i18n.vocabulary import LABELS
from service.tickets.models import Ticket, TicketEvent

# Open311 knows two states. A resolved ticket is closed to the public (the work
# is done) even while its reporter may still confirm or reopen it.
CLOSED = frozenset({Status.resolved, Status.closed, Status.cancelled, Status.rejected})
DEFAULT_DAYS = 90
MAX_DAYS = 90
MAX_REQUESTS = 1000
_LANGUAGE_INDEX = {"zh-Hans": 0, "ug": 1, "en": 2}


def open311_status(status: Status | str) -> str:
    return "closed" if Status(status) in CLOSED else "open"


def statuses_for(wanted: Sequence[str]) -> list[Status]:
    """The Linli statuses of the Open311 statuses `wanted` (open, closed)."""
    out: list[Status] = []
    for name in wanted:
        out += [s for s in Status if open311_status(s) == name]
    return out


def _label(vocabulary: str, value: str, language: str) -> str:
    return LABELS[vocabulary][value][_LANGUAGE_INDEX[language]]


_NAME_COLUMN = {"zh-Hans": "name_zh", "ug": "name_ug", "en": "name_en"}


def _name(category: Any, language: str) -> str:
    """A category's (or a row's) name in `language`."""
    return str(getattr(category, _NAME_COLUMN[language]))


# --- jurisdictions -----------------------------------------------------------


def jurisdiction_path(session: Session, jurisdiction_id: int | None) -> str | None:
    """The region path of `jurisdiction_id`, None for the whole deployment; 404
    for a region that does not exist."""
    if jurisdiction_id is None:
        return None
    path = session.scalar(select(Region.path).where(Region.id == jurisdiction_id))
    if path is None:
        raise NotFound("open311.jurisdiction_not_found", id=jurisdiction_id)
    return path


def _under(column: Any, path: str | None) -> ColumnElement[bool]:
    return true() if path is None else column.startswith(path, autoescape=True)


# --- services ----------------------------------------------------------------


def filable() -> ColumnElement[bool]:
    return and_(Category.active, Category.kind != TicketKind.elderly_care)


def services(session: Session, language: str) -> list[dict[str, Any]]:
    parent = aliased(Category)
    rows = session.execute(
        select(Category, parent)
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(filable())
        .order_by(Category.sort_order, Category.code)
    ).all()
    return [
        {
            "service_code": category.code,
            "service_name": _name(category, language),
            "description": _name(category, language)
            if group is None
            else f"{_name(group, language)} / {_name(category, language)}",
            "metadata": True,
            "type": "realtime",
            "keywords": category.code.replace(".", ","),
            "group": _name(group or category, language),
        }
        for category, group in rows
    ]


def service_category(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, filable()))
    if category is None:
        raise NotFound("open311.service_not_found", code=code)
    return category


# The attributes every service takes (`attribute[code]=value` in a POST): where
# in the building, and when someone is home. Stored on the ticket, never shown.
ATTRIBUTES = ("area", "building", "unit", "room", "preferred_from", "preferred_to")
_DATATYPES = {
    "area": "singlevaluelist",
    "building": "string",
    "unit": "string",
    "room": "string",
    "preferred_from": "datetime",
    "preferred_to": "datetime",
}


def service_definition(category: Category, language: str) -> dict[str, Any]:
    attributes = []
    for order, code in enumerate(ATTRIBUTES, start=1):
        attribute: dict[str, Any] = {
            "variable": True,
            "code": code,
            "datatype": _DATATYPES[code],
            "required": False,
            "datatype_description": text(f"open311.attribute.{code}.format", language),
            "order": order,
            "description": text(f"open311.attribute.{code}", language),
        }
        if code == "area":
            attribute["values"] = [
                {"key": area.value, "name": text(f"open311.area.{area.value}", language)}
                for area in LocationArea
            ]
        attributes.append(attribute)
    return {"service_code": category.code, "attributes": attributes}


# --- requests ----------------------------------------------------------------


def window(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end]: the most recent 90 days by default, at most 90 days (422)."""
    if end is None:
        end = utcnow() if start is None else start + dt.timedelta(days=DEFAULT_DAYS)
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS)
    if end < start:
        raise Unprocessable.on("end_date", "open311.end_before_start")
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise Unprocessable.on("end_date", "open311.range_too_long", days=MAX_DAYS)
    return start, end


def _public_tickets(path: str | None) -> ColumnElement[bool]:
    return and_(
        Ticket.kind != TicketKind.elderly_care,
        Ticket.elder_id.is_(None),
        _under(Ticket.region_path, path),
    )


def _request_query() -> Any:
    return (
        select(
            Ticket.id,
            Ticket.status,
            Ticket.created_at,
            Ticket.updated_at,
            Ticket.resolve_by,
            Ticket.community_id,
            Category.code,
            Category.name_zh,
            Category.name_ug,
            Category.name_en,
            Community.name.label("community_name"),
            Community.latitude,
            Community.longitude,
            Organization.name.label("organization_name"),
        )
        .join(Category, Category.id == Ticket.category_id)
        .join(Community, Community.id == Ticket.community_id)
        .outerjoin(Organization, Organization.id == Ticket.organization_id)
    )


def _statuses(language: str) -> dict[str, tuple[str, str]]:
    """Linli status -> (Open311 status, its label in `language`)."""
    return {s.value: (open311_status(s), _label("statuses", s.value, language)) for s in Status}


def _request_row(row: Any, language: str, statuses: dict[str, tuple[str, str]]) -> dict[str, Any]:
    status, notes = statuses[row.status]
    return {
        "service_request_id": row.id,
        "status": status,
        "status_notes": notes,
        "service_name": _name(row, language),
        "service_code": row.code,
        "agency_responsible": row.organization_name,
        "requested_datetime": row.created_at,
        "updated_datetime": row.updated_at,
        "expected_datetime": row.resolve_by,
        "address": row.community_name,
        "address_id": row.community_id,
        "lat": row.latitude,
        "long": row.longitude,
    }


def requests(
    session: Session,
    language: str,
    *,
    path: str | None,
    ids: Sequence[int] = (),
    codes: Sequence[str] = (),
    statuses: Sequence[str] = (),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The requests asked for, newest first, at most MAX_REQUESTS. Named by
    `ids`, the other filters are ignored (as the spec says); else within the
    date window of their filing."""
    query = _request_query().where(_public_tickets(path))
    if ids:
        query = query.where(Ticket.id.in_(ids))
    else:
        since, until = window(start, end)
        query = query.where(Ticket.created_at >= since, Ticket.created_at <= until)
        if codes:
            query = query.where(Category.code.in_(codes))
        if statuses:
            query = query.where(Ticket.status.in_(statuses_for(statuses)))
    rows = session.execute(query.order_by(Ticket.id.desc()).limit(MAX_REQUESTS)).all()
    labels = _statuses(language)
    return [_request_row(row, language, labels) for row in rows]


def one_request(
    session: Session, language: str, request_id: int, path: str | None
) -> dict[str, Any]:
    row = session.execute(
        _request_query().where(Ticket.id == request_id, _public_tickets(path))
    ).first()
    if row is None:
        raise NotFound("open311.request_not_found", id=request_id)
    return _request_row(row, language, _statuses(language))


def updates(
    session: Session,
    language: str,
    *,
    path: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[dict[str, Any]]:
    """mySociety's servicerequestupdates: the public events of public requests
    in the window, oldest first, at most MAX_REQUESTS. An event says what
    happened (its type, the status it led to), never who or what was written."""
    since, until = window(start, end)
    rows = session.execute(
        select(
            TicketEvent.id,
            TicketEvent.ticket_id,
            TicketEvent.type,
            TicketEvent.to_status,
            TicketEvent.created_at,
            Ticket.status,
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            _public_tickets(path),
            or_(TicketEvent.internal.is_(False), TicketEvent.internal.is_(None)),
            TicketEvent.created_at >= since,
            TicketEvent.created_at <= until,
        )
        .order_by(TicketEvent.id)
        .limit(MAX_REQUESTS)
    ).all()
    out = []
    for row in rows:
        status = row.to_status or row.status
        kind = LABELS["event_types"].get(row.type)
        out.append(
            {
                "update_id": row.id,
                "service_request_id": row.ticket_id,
                "status": open311_status(status),
                "external_status_code": str(status),
                "updated_datetime": row.created_at,
                "description": kind[_LANGUAGE_INDEX[language]] if kind else row.type,
                "media_url": None,
            }
        )
    return out
