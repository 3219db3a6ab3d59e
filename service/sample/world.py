"""What the demo and the generator both build their worlds of.

Xinjiang's regions, communities and organisations, entered through the
directory's own functions as a province-wide admin (so that a region's path, a
community's region and a credit code are checked as an admin's request would
be); organisations' credit codes; the categories tickets are filed under; the
targets tickets are due by.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.categories.models import Category
from service.directory.credit_code import ALPHABET, check_character
from service.directory.models import Community, Organization, Region
from service.directory.schemas import CommunityCreate, OrganizationCreate, RegionCreate
from service.directory.service import create_community, create_organization, create_region
from service.enums import OrganizationKind, Priority, RegionLevel

PROVINCE = "新疆维吾尔自治区"
# Its administrative division code: the first two digits of its prefectures' and counties'.
PROVINCE_DIVISION = "65"

# 统一社会信用代码: the registering authority and type an organisation's code
# starts with (91 a company, 52 a private non-enterprise unit).
REGISTRATION = {
    OrganizationKind.property_company: "91",
    OrganizationKind.care_provider: "52",
}

# Response and resolution targets by priority, in wall-clock seconds: the
# defaults tickets are filed with (the live tickets get theirs from the SLA
# policies).
TARGETS = {
    Priority.emergency: (15 * 60, 4 * 3600),
    Priority.urgent: (30 * 60, 24 * 3600),
    Priority.normal: (2 * 3600, 3 * 86400),
    Priority.low: (24 * 3600, 7 * 86400),
}


def credit_code(rng: random.Random, prefix: str) -> str:
    """A valid 18-character credit code: `prefix`, random characters up to 17,
    and the check character."""
    first17 = prefix + "".join(rng.choice(ALPHABET) for _ in range(17 - len(prefix)))
    return first17 + check_character(first17)


@dataclass
class Directory:
    """Enters regions, communities and organisations as `admin` would through the
    API: by the directory's service functions, flushed, one at a time."""

    session: Session
    admin: Principal

    def region(self, name: str, level: RegionLevel, parent: Region | None = None) -> Region:
        data = RegionCreate(name=name, level=level, parent_id=parent.id if parent else None)
        return create_region(self.session, self.admin, data)

    def community(self, county: Region, name: str, **fields: Any) -> Community:
        data = CommunityCreate(name=name, region_id=county.id, **fields)
        return create_community(self.session, self.admin, data)

    def organization(
        self,
        region: Region,
        name: str,
        kind: OrganizationKind,
        credit_code: str,
        contact_phone: str | None = None,
    ) -> Organization:
        data = OrganizationCreate(
            name=name,
            kind=kind,
            credit_code=credit_code,
            contact_phone=contact_phone,
            region_id=region.id,
        )
        return create_organization(self.session, self.admin, data)


def categories(session: Session, codes: Iterable[str]) -> dict[str, Category]:
    """The categories with these codes (the reference tree loaded), by code."""
    query = select(Category).where(Category.code.in_(list(codes)))
    return {category.code: category for category in session.scalars(query)}
