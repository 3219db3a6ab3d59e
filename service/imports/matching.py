"""Names in a spreadsheet to rows of the database, within what the caller sees:
regions by id, name or path (新疆维吾尔自治区/乌鲁木齐市/天山区), communities by id or
name, organisations by id, credit code or name. Anything outside the caller's
scope reads exactly as a name that does not exist."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.directory.credit_code import is_valid
from service.directory.models import Community, Organization, Region
from service.enums import RegionLevel
from service.i18n import Rejected
from service.scope import visible


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    level: RegionLevel
    path: str  # the materialised path, "/1/7/42/"
    names: str  # "新疆维吾尔自治区/乌鲁木齐市/天山区"


class Regions:
    """The regions the caller sees, loaded once (a province has a few hundred)."""

    def __init__(self, session: Session, principal: Principal) -> None:
        rows = session.execute(
            select(Region.id, Region.name, Region.parent_id, Region.level, Region.path)
        ).all()
        parents = {row.id: (row.name, row.parent_id) for row in rows}
        seen = set(session.scalars(select(Region.id).where(visible(principal, Region))))
        self.places: dict[int, Place] = {}
        self.by_name: dict[str, list[Place]] = defaultdict(list)
        for row in rows:
            if row.id not in seen:
                continue
            chain, parent = [row.name], row.parent_id
            while parent is not None and parent in parents:
                name, parent = parents[parent]
                chain.append(name)
            place = Place(row.id, row.name, row.level, row.path, "/".join(reversed(chain)))
            self.places[row.id] = place
            self.by_name[row.name.strip()].append(place)
        self.principal = principal
        self._roots = [row.id for row in rows if row.parent_id is None]

    def find(self, wanted: str) -> Place:
        wanted = wanted.strip().strip("/")
        if wanted.isdigit():
            place = self.places.get(int(wanted))
            if place is None:
                raise Rejected("import.region_unknown")
            return place
        parts = [part.strip() for part in wanted.split("/") if part.strip()]
        if not parts:
            raise Rejected("import.region_unknown")
        suffix = "/".join(parts)
        found = [
            place
            for place in self.by_name.get(parts[-1], [])
            if place.names == suffix or place.names.endswith("/" + suffix)
        ]
        if not found:
            raise Rejected("import.region_unknown")
        if len(found) > 1:
            raise Rejected("import.region_ambiguous")
        return found[0]

    def own(self) -> Place:
        """Where the caller registers what names no region: their own region, or
        for a province-wide admin the province (the one root of the tree)."""
        if self.principal.region_id is not None and self.principal.region_id in self.places:
            return self.places[self.principal.region_id]
        roots = [self.places[i] for i in self._roots if i in self.places]
        if not roots:
            raise Rejected("region.no_province")
        if len(roots) > 1:
            raise Rejected("region.several_provinces")
        return roots[0]


def find_community(
    session: Session, principal: Principal, wanted: str, region: Place | None
) -> Community:
    query: Any = select(Community).where(visible(principal, Community))
    wanted = wanted.strip()
    if wanted.isdigit() and region is None:
        query = query.where(Community.id == int(wanted))
    else:
        query = query.where(Community.name == wanted)
    if region is not None:
        query = query.where(Community.region_path.startswith(region.path, autoescape=True))
    found = session.scalars(query.order_by(Community.id).limit(2)).all()
    if not found:
        raise Rejected("import.community_unknown")
    if len(found) > 1:
        raise Rejected("import.community_ambiguous")
    return found[0]


def find_organization(session: Session, principal: Principal, wanted: str) -> Organization:
    query: Any = select(Organization).where(visible(principal, Organization))
    wanted = wanted.strip()
    if len(wanted) == 18 and is_valid(wanted.upper()):
        query = query.where(Organization.credit_code == wanted.upper())
    elif wanted.isdigit():
        query = query.where(Organization.id == int(wanted))
    else:
        query = query.where(Organization.name == wanted)
    found = session.scalars(query.order_by(Organization.id).limit(2)).all()
    if not found:
        raise Rejected("import.organization_unknown")
    if len(found) > 1:
        raise Rejected("import.organization_ambiguous")
    return found[0]
