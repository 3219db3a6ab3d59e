"""Request and response bodies of the elders, their proxies and their access log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from service.db import utcnow
from service.enums import ConsentBy, Gender, Role
from service.i18n import Rejected
from service.validation import Name, Phone, ReadModel, StrictModel, omittable, text

Id = Annotated[int, Field(gt=0, lt=2**31)]
# A consent recorded "now" by a device whose clock runs a little fast is still now.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _not_in_future(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise Rejected("validation.give_offset")
    if value > utcnow() + CLOCK_SKEW:
        raise Rejected("elder.consent_in_future")
    return value


def _born_by_now(value: int) -> int:
    if value > utcnow().year:
        raise Rejected("elder.birth_year_future")
    return value


BirthYear = Annotated[int, Field(ge=1900), AfterValidator(_born_by_now)]
CareLevel = Annotated[
    int,
    Field(
        ge=0,
        le=4,
        description="GB/T 42195-2022: 0 能力完好, 1 轻度失能, 2 中度失能, 3 重度失能, 4 完全失能",
    ),
]
ConsentTime = Annotated[dt.datetime, AfterValidator(_not_in_future)]


class ElderLocation(StrictModel):
    building: text(50) | None = None  # type: ignore[valid-type]
    unit: text(50) | None = None  # type: ignore[valid-type]
    room: text(50) | None = None  # type: ignore[valid-type]


class EmergencyContact(StrictModel):
    name: Name  # type: ignore[valid-type]
    relation: text(20, 1)  # type: ignore[valid-type]
    phone: Phone


class Consent(StrictModel):
    """The consent under which the sensitive fields are kept (PIPL art. 29, 31)."""

    given_at: ConsentTime
    by: ConsentBy = Field(description="`self`, or `guardian` for an elder who cannot consent")
    note: text(500) | None = None  # type: ignore[valid-type]


SENSITIVE_NOTE = (
    "Sensitive personal information: kept only with `consent` (without it: 422 "
    "`elder.consent_required`)."
)


class ElderCreate(StrictModel):
    community_id: Id
    name: Name  # type: ignore[valid-type]
    phone: Phone | None = Field(default=None, description=SENSITIVE_NOTE)
    birth_year: BirthYear | None = None
    gender: Gender | None = None
    lives_alone: bool = Field(default=False, description="Default false.")
    care_level: CareLevel | None = None
    location: ElderLocation | None = Field(default=None, description=SENSITIVE_NOTE)
    emergency_contacts: list[EmergencyContact] = Field(
        default_factory=list, max_length=5, description=SENSITIVE_NOTE + " At most 5."
    )
    health_notes: text(2000) | None = Field(  # type: ignore[valid-type]
        default=None, description=SENSITIVE_NOTE
    )
    consent: Consent | None = None


class ElderUpdate(StrictModel):
    """Fields left out keep their value; null clears the optional ones. In
    `location` likewise, part by part (null: no location at all).
    `emergency_contacts` is replaced whole (`[]`: none). `consent: null` withdraws
    the consent (PIPL art. 15), which erases the sensitive fields with it."""

    name: Name = omittable()  # type: ignore[valid-type]
    phone: Phone | None = None
    birth_year: BirthYear | None = None
    gender: Gender | None = None
    lives_alone: bool = omittable()
    care_level: CareLevel | None = None
    location: ElderLocation | None = None
    emergency_contacts: Annotated[list[EmergencyContact], Field(max_length=5)] = omittable()
    health_notes: text(2000) | None = None  # type: ignore[valid-type]
    consent: Consent | None = None


class ElderLocationRead(BaseModel):
    building: str | None
    unit: str | None
    room: str | None


class EmergencyContactRead(BaseModel):
    name: str
    relation: str
    phone: str


class ConsentRead(BaseModel):
    given_at: dt.datetime
    by: ConsentBy
    note: str | None


class ElderRead(BaseModel):
    id: int
    community_id: int
    name: str
    phone: str | None = Field(description="Masked (`139****0001`) unless the caller may see it.")
    birth_year: int | None
    gender: Gender | None
    lives_alone: bool
    care_level: int | None
    location: ElderLocationRead | None = Field(
        description="Masked to the building (unit and room null) unless the caller may see it."
    )
    emergency_contacts: list[EmergencyContactRead] = Field(
        description="Phones masked unless the caller may see them."
    )
    health_notes: str | None = Field(description="null unless the caller may see them.")
    consent: ConsentRead | None
    masked: list[str] = Field(
        description="The sensitive fields that hold a value and are shown masked to this "
        "caller: `phone`, `location`, `emergency_contacts`, `health_notes`; empty in clear."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class ElderPage(ReadModel):
    items: list[ElderRead]
    next_cursor: str | None = None


class ProxyAdd(StrictModel):
    """A resident who has signed in to Linli once, named by one of the two."""

    user_id: Id | None = Field(
        default=None, description="A resident of a community the caller keeps elders in."
    )
    phone: Phone | None = Field(
        default=None, description="The phone of exactly one resident (any community)."
    )


class ProxyRead(BaseModel):
    user_id: int
    name: str
    phone: str | None
    created_at: dt.datetime


class ProxyPage(BaseModel):
    items: list[ProxyRead]


class AccessReader(BaseModel):
    user_id: int | None = Field(description="null when shown to a family proxy")
    name: str | None = Field(description="null when shown to a family proxy")
    role: Role
    organization_id: int | None
    api_key: bool = Field(description="read through an organisation's API key")


class AccessRead(BaseModel):
    id: int
    read_at: dt.datetime
    reader: AccessReader
    route: str = Field(description="The operation, e.g. `GET /v1/elders/{elder_id}`.")
    fields: list[str] = Field(description="The sensitive fields shown in clear.")


class AccessPage(ReadModel):
    items: list[AccessRead]
    next_cursor: str | None = None
