"""Bodies of /v1/announcements, and the brief form a ticket's answer carries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, ValidationInfo, field_validator

from service.announcements.models import BODY_LENGTH, TITLE_LENGTH
from service.enums import AnnouncementKind
from service.i18n import Rejected
from service.validation import ReadModel, StrictModel, text

# The most communities one announcement names: a district's heating cut reaches
# a few hundred; every one of their residents is notified in the same transaction.
MAX_COMMUNITIES = 200
# The longest an announcement stays up: a notice for a season, not for ever.
LONGEST = dt.timedelta(days=366)
# Real announcements are about now; anything outside these years is a client bug.
_EARLIEST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

CommunityId = Annotated[int, Field(gt=0, lt=2**31)]


def _distinct(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))


class AnnouncementCreate(StrictModel):
    community_ids: Annotated[
        list[CommunityId],
        Field(min_length=1, max_length=MAX_COMMUNITIES),
        AfterValidator(_distinct),
    ] = Field(
        description="The communities whose residents are told (a repeated id counts once): "
        "for an admin, communities in their region; for a property company's dispatcher, "
        "those it serves. Any other is 422 and nothing is posted."
    )
    kind: AnnouncementKind
    title: text(TITLE_LENGTH, 1)  # type: ignore[valid-type]
    body: text(BODY_LENGTH, 1)  # type: ignore[valid-type]
    starts_at: AwareDatetime = Field(description="When it begins (it may have begun already).")
    ends_at: AwareDatetime = Field(
        description="When it is over: after `starts_at` and after now, at most 366 days on."
    )

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _plausible(cls, value: dt.datetime) -> dt.datetime:
        if not _EARLIEST <= value < _LATEST:
            raise Rejected("validation.time_range")
        return value

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is None:
            return value
        if value <= starts_at:
            raise Rejected("announcement.ends_before_start")
        if value - starts_at > LONGEST:
            raise Rejected("announcement.too_long", days=LONGEST.days)
        return value


class AnnouncementBrief(ReadModel):
    """An announcement shown now in a ticket's community, as the answer to filing
    the ticket lists it (GET /v1/announcements/{id} has the rest)."""

    id: int
    kind: AnnouncementKind
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class AnnouncementRead(ReadModel):
    id: int
    kind: AnnouncementKind
    title: str
    body: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    community_ids: list[int] = Field(
        description="Its communities that the caller may see (a resident: their own)."
    )
    organization_id: int | None = Field(
        description="The property company that posted it; null: the housing department."
    )
    organization_name: str | None
    current: bool = Field(description="Shown now: begun, not over, not withdrawn.")
    created_at: dt.datetime
    withdrawn_at: dt.datetime | None = Field(
        description="When it was taken back (DELETE); residents no longer see it."
    )


class AnnouncementPage(ReadModel):
    items: list[AnnouncementRead]
    next_cursor: str | None = Field(
        description="Send it back as `cursor` for the next page; null on the last page."
    )
