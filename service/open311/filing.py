"""Filing an Open311 POST as a ticket: the integration's key, the community
(address_id, else the one nearest lat/long), the filer as `on_behalf_of`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.directory.models import Community, Region
from service.enums import Channel
from service.errors import Forbidden, NotFound, Unprocessable
from service.open311 import integrations
from service.open311.models import Integration
from service.open311.public import ATTRIBUTES, filable
from service.tickets.models import NewTicket
from service.tickets.schemas import TicketCreate

# A degree of latitude, in metres (and of longitude at the equator).
_METRES_PER_DEGREE = 111_320.0

# TicketCreate's fields -> the Open311 names a client sent, for its error list.
_FIELD_NAMES = {
    "category": "service_code",
    "community_id": "address_id",
    "on_behalf_of.name": "first_name",
    "on_behalf_of.phone": "phone",
    "location.area": "attribute[area]",
    "location.building": "attribute[building]",
    "location.unit": "attribute[unit]",
    "location.room": "attribute[room]",
    "preferred_time.from": "attribute[preferred_from]",
    "preferred_time.to": "attribute[preferred_to]",
    "preferred_time": "attribute[preferred_from]",
}


# Built once (as integrations._BY_HASH).
_COMMUNITY_UNDER = select(Community.id).where(
    Community.id == bindparam("id"), Community.region_path.like(bindparam("pattern"))
)
_SERVICE = select(Category.id).where(Category.code == bindparam("code"), filable())


def integration_for(session: Session, form: Mapping[str, str]) -> Integration:
    """The integration whose key the form carries: 403 without one, or with a
    key that is unknown or revoked (the same answer: nothing is revealed)."""
    raw = form.get("api_key", "")
    if not raw:
        raise Forbidden("open311.api_key_missing")
    integration = integrations.by_key(session, raw)
    if integration is None:
        raise Forbidden("open311.api_key_invalid")
    return integration


def _number(form: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not low <= number <= high:  # nan too
        raise Unprocessable.on(name, "open311.coordinate", low=low, high=high)
    return number


def _id(form: Mapping[str, str], name: str) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 2**31:
        raise Unprocessable.on(name, "validation.not_integer")
    return int(value)


def jurisdiction_of(session: Session, integration: Integration, form: Mapping[str, str]) -> str:
    """The region path the request files into: the integration's region, or a
    region under it that `jurisdiction_id` names; any other is refused (403,
    whether it exists or not)."""
    jurisdiction_id = _id(form, "jurisdiction_id")
    if jurisdiction_id is None or jurisdiction_id == integration.region_id:
        return integration.region_path
    path = session.scalar(select(Region.path).where(Region.id == jurisdiction_id))
    if path is None or not path.startswith(integration.region_path):
        raise Forbidden("open311.jurisdiction_not_yours", id=jurisdiction_id)
    return path


def nearest_community(
    session: Session, path: str, lat: float, long: float, max_metres: float
) -> int | None:
    """The community under `path` nearest (lat, long), within `max_metres`. An
    equirectangular distance: exact enough across a city, and plain arithmetic
    that both databases order by."""
    scale = math.cos(math.radians(lat))
    d_lat = Community.latitude - lat
    d_long = (Community.longitude - long) * scale
    row = session.execute(
        select(Community.id, Community.latitude, Community.longitude)
        .where(
            Community.region_path.startswith(path, autoescape=True),
            Community.latitude.is_not(None),
            Community.longitude.is_not(None),
        )
        .order_by(d_lat * d_lat + d_long * d_long, Community.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    metres = _METRES_PER_DEGREE * math.hypot(row.latitude - lat, (row.longitude - long) * scale)
    return int(row.id) if metres <= max_metres else None


def community_of(session: Session, path: str, form: Mapping[str, str], max_metres: float) -> int:
    address_id = _id(form, "address_id")
    if address_id is not None:
        # Region paths are digits and slashes: nothing in them for LIKE to escape.
        found = session.scalar(_COMMUNITY_UNDER, {"id": address_id, "pattern": path + "%"})
        if found is None:  # or in another jurisdiction: the same answer
            raise NotFound("open311.address_not_found", id=address_id)
        return address_id
    lat = _number(form, "lat", -90, 90)
    long = _number(form, "long", -180, 180)
    if lat is None or long is None:
        raise Unprocessable.on("address_id", "open311.where")
    community_id = nearest_community(session, path, lat, long, max_metres)
    if community_id is None:
        raise Unprocessable.on("lat", "open311.no_community_near", metres=int(max_metres))
    return community_id


def ticket_data(form: Mapping[str, str], community_id: int) -> TicketCreate:
    """The ticket the form asks for, validated as any ticket is; errors name the
    form's fields."""
    name = " ".join(p for p in (form.get("first_name", ""), form.get("last_name", "")) if p)
    body: dict[str, Any] = {
        "category": form.get("service_code", ""),
        "community_id": community_id,
        "description": form.get("description", ""),
        "channel": Channel.open311,
        "on_behalf_of": {"name": name.strip(), "phone": form.get("phone", "").strip()},
    }
    attribute = {code: form.get(f"attribute[{code}]", "").strip() for code in ATTRIBUTES}
    location = {k: attribute[k] for k in ("area", "building", "unit", "room") if attribute[k]}
    if location:
        body["location"] = location
    if attribute["preferred_from"] or attribute["preferred_to"]:
        body["preferred_time"] = {
            "from": attribute["preferred_from"] or None,
            "to": attribute["preferred_to"] or None,
        }
    try:
        return TicketCreate.model_validate(body)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            error = {**error, "loc": ("body", _FIELD_NAMES.get(field, field))}
            errors.append(error)
        raise RequestValidationError(errors) from exc


def check_service(session: Session, form: Mapping[str, str]) -> None:
    """A service Open311 offers (public.services): not a care category, nor an
    inactive one."""
    code = form.get("service_code", "").strip()
    if not code:
        raise Unprocessable.on("service_code", "validation.missing")
    if session.scalar(_SERVICE, {"code": code}) is None:
        raise Unprocessable.on("service_code", "open311.service_unknown", code=code)


def filed(ticket: NewTicket) -> dict[str, Any]:
    return {"service_request_id": ticket.id, "service_notice": ticket.number, "account_id": None}
