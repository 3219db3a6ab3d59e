"""Request and response bodies for regions, communities, organisations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.directory.credit_code import is_valid
from service.enums import OrganizationKind, RegionLevel, ServiceKind
from service.i18n import Rejected
from service.validation import Name, Phone, ReadModel, StrictModel, TimeZone, omittable, text


def _credit_code(value: str) -> str:
    value = value.strip().upper()
    if not is_valid(value):
        raise Rejected("validation.credit_code")
    return value


CreditCode = Annotated[str, AfterValidator(_credit_code)]
Id = Annotated[int, Field(gt=0, lt=2**31)]


class RegionCreate(StrictModel):
    name: Name  # type: ignore[valid-type]
    level: RegionLevel
    parent_id: Id | None = None
    # The SLA clocks' local time here and below (e.g. Asia/Urumqi); default: inherited.
    timezone: TimeZone | None = None


class RegionUpdate(StrictModel):
    name: Name = omittable()  # type: ignore[valid-type]
    # null: inherit the parent's again.
    timezone: TimeZone | None = None


class RegionRead(ReadModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    level: RegionLevel
    parent_id: int | None
    timezone: str | None = None


class RegionPage(BaseModel):
    items: list[RegionRead]


class CommunityCreate(StrictModel):
    name: text(200, 1)  # type: ignore[valid-type]
    region_id: Id
    address: text(300) | None = None  # type: ignore[valid-type]
    households: int = Field(default=0, ge=0, le=1_000_000)
    residents: int = Field(default=0, ge=0, le=5_000_000)
    renovation_year: int | None = Field(default=None, ge=1990, le=2100)
    renovation_batch: text(50) | None = None  # type: ignore[valid-type]
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class CommunityUpdate(StrictModel):
    """Fields left out keep their value; null clears the optional ones."""

    name: text(200, 1) = omittable()  # type: ignore[valid-type]
    # Another county inside the caller's region, while the community has no tickets.
    region_id: Id = omittable()
    address: text(300) | None = None  # type: ignore[valid-type]
    households: Annotated[int, Field(ge=0, le=1_000_000)] = omittable()
    residents: Annotated[int, Field(ge=0, le=5_000_000)] = omittable()
    renovation_year: int | None = Field(default=None, ge=1990, le=2100)
    renovation_batch: text(50) | None = None  # type: ignore[valid-type]
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class CommunityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    region_id: int
    address: str | None
    households: int
    residents: int
    renovation_year: int | None
    renovation_batch: str | None
    latitude: float | None
    longitude: float | None


class CommunityPage(ReadModel):
    items: list[CommunityRead]
    next_cursor: str | None = None


class OrganizationCreate(StrictModel):
    name: text(200, 1)  # type: ignore[valid-type]
    kind: OrganizationKind
    credit_code: CreditCode
    contact_phone: Phone | None = None
    region_id: Id | None = None


class OrganizationUpdate(StrictModel):
    name: text(200, 1) = omittable()  # type: ignore[valid-type]
    credit_code: CreditCode = omittable()
    contact_phone: Phone | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: OrganizationKind
    credit_code: str
    contact_phone: str | None
    region_id: int


class OrganizationPage(ReadModel):
    items: list[OrganizationRead]
    next_cursor: str | None = None


class ProviderAssign(StrictModel):
    organization_id: Id
    since: dt.date | None = None


class ProviderAssignmentRead(BaseModel):
    community_id: int
    kind: ServiceKind
    organization_id: int
    since: dt.date
    until: dt.date | None


class ProviderAssignmentPage(BaseModel):
    items: list[ProviderAssignmentRead]
