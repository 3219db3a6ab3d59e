"""Query parameters of the metrics routes, checked against the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Depends, Header, Query
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.auth import CurrentPrincipal, Principal
from service.categories.models import Category
from service.config import Settings, SettingsDep
from service.db import SessionDep, utcnow
from service.directory.models import Community, Organization, Region
from service.enums import RegionLevel, Role, TicketKind
from service.errors import Forbidden, NotFound, Unprocessable
from service.i18n import negotiate
from service.metrics.periods import MAX_BUCKETS, buckets, local_midnight
from service.metrics.tickets import GROUPS, SummaryScope
from service.scope import visible

Id = Annotated[int, Query(gt=0, lt=2**31)]
Format = Literal["json", "csv", "xlsx"]
# The languages of the message catalogue (service.i18n.LANGUAGES); `zh` is the
# older name of zh-Hans, still accepted.
Lang = Literal["zh-Hans", "ug", "en", "zh"]


def parse_instant(value: str, field: str, timezone: str) -> dt.datetime:
    """A date (local midnight) or an ISO 8601 instant (naive means local time)."""
    from zoneinfo import ZoneInfo

    try:
        if len(value) == 10:
            return local_midnight(dt.date.fromisoformat(value), timezone)
        instant = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable.on(field, "validation.date_or_datetime") from exc
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZoneInfo(timezone))
    if (
        not dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
        < instant
        < dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
    ):
        raise Unprocessable.on(field, "validation.out_of_range")
    return instant.astimezone(dt.UTC)


def metrics_principal(principal: CurrentPrincipal) -> Principal:
    """Admins see their region; provider staff their own organisation's figures."""
    if principal.role not in (Role.admin, Role.provider_staff):
        raise Forbidden("metrics.forbidden")
    return principal


MetricsPrincipal = Annotated[Principal, Depends(metrics_principal)]


def language(lang: Lang | None, accept_language: str | None) -> str:
    """An export's language, one of i18n.LANGUAGES: `lang`, else the one
    Accept-Language prefers (i18n.negotiate), else English, as exports always were
    (the API's own default, zh-Hans, would change what a client without either
    header gets)."""
    if lang is not None:
        return "zh-Hans" if lang == "zh" else lang
    return negotiate(accept_language, default="en")


def build_scope(
    session: Session,
    principal: Principal,
    settings: Settings,
    *,
    start: str | None,
    end: str | None,
    group_by: str | None,
    region_id: int | None = None,
    region_level: RegionLevel | None = None,
    community_id: int | None = None,
    organization_id: int | None = None,
    kind: TicketKind | None = None,
    category: str | None = None,
) -> SummaryScope:
    tz = settings.timezone
    now = utcnow()
    end_at = parse_instant(end, "to", tz) if end else now
    if start:
        start_at = parse_instant(start, "from", tz)
    else:
        local_year = end_at.astimezone(__import__("zoneinfo").ZoneInfo(tz)).year
        start_at = local_midnight(dt.date(local_year, 1, 1), tz)
        if start_at >= end_at:
            start_at = local_midnight(dt.date(local_year - 1, 1, 1), tz)
    if start_at >= end_at:
        raise Unprocessable.on("to", "validation.to_before_from")
    groups: list[str] = []
    for part in (group_by or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part not in GROUPS:
            raise Unprocessable.on(
                "group_by", "metrics.unknown_group", group=repr(part), groups=", ".join(GROUPS)
            )
        if part not in groups:
            groups.append(part)
    for unit in ("month", "quarter"):
        if unit in groups:
            try:
                buckets(start_at, end_at, unit, tz)
            except ValueError as exc:
                raise Unprocessable.on(
                    "to", f"metrics.too_many_{unit}s", limit=MAX_BUCKETS
                ) from exc
    region = None
    if region_id is not None:
        region = _visible(session, principal, Region, region_id, "region")
    if community_id is not None:
        _visible(session, principal, Community, community_id, "community")
    if organization_id is not None:
        _visible(session, principal, Organization, organization_id, "organization")
    category_ids = None
    if category is not None:
        category_ids = tuple(
            session.scalars(
                select(Category.id).where(
                    or_(Category.code == category, Category.code.startswith(category + "."))
                )
            )
        )
        if not category_ids:
            raise Unprocessable.on("category", "category.unknown", code=repr(category))
    return SummaryScope(
        principal=principal,
        start=start_at,
        end=end_at,
        timezone=tz,
        group_by=tuple(groups),
        region=region,
        region_level=region_level,
        community_id=community_id,
        organization_id=organization_id,
        kind=kind,
        category_ids=category_ids,
        as_of=now,
        visit_grace_minutes=settings.visit_grace_minutes,
    )


def _visible(session: Session, principal: Principal, model: type, object_id: int, what: str):  # type: ignore[no-untyped-def]
    row = session.scalar(select(model).where(model.id == object_id, visible(principal, model)))  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"{what}.not_found", id=object_id)
    return row


class SummaryParams:
    """The filters shared by the summary, its exports and the dashboard."""

    def __init__(
        self,
        from_: Annotated[
            str | None, Query(alias="from", max_length=40, description="date or ISO instant")
        ] = None,
        to: Annotated[str | None, Query(max_length=40)] = None,
        group_by: Annotated[
            str | None,
            Query(max_length=200, description="comma-separated: " + ", ".join(GROUPS)),
        ] = None,
        region_id: Id | None = None,
        region_level: RegionLevel | None = None,
        community_id: Id | None = None,
        organization_id: Id | None = None,
        kind: TicketKind | None = None,
        category: Annotated[str | None, Query(max_length=64)] = None,
        format: Format = "json",
        lang: Annotated[
            Lang | None,
            Query(
                description="Language of an export's column headers and labels: `zh-Hans`, "
                "`ug` (Uyghur, Arabic script, right to left) or `en` (the JSON's field names "
                "and values); `zh` is `zh-Hans`. Without it, the first of these that "
                "`Accept-Language` prefers; neither: `en`. JSON answers are the same in "
                "every language."
            ),
        ] = None,
        accept_language: Annotated[
            str | None, Header(alias="Accept-Language", max_length=200)
        ] = None,
    ) -> None:
        self.start, self.end, self.group_by = from_, to, group_by
        self.region_id, self.region_level = region_id, region_level
        self.community_id, self.organization_id = community_id, organization_id
        self.kind, self.category, self.format = kind, category, format
        self.lang = language(lang, accept_language)

    def scope(self, session: Session, principal: Principal, settings: Settings) -> SummaryScope:
        return build_scope(
            session,
            principal,
            settings,
            start=self.start,
            end=self.end,
            group_by=self.group_by,
            region_id=self.region_id,
            region_level=self.region_level,
            community_id=self.community_id,
            organization_id=self.organization_id,
            kind=self.kind,
            category=self.category,
        )


__all__ = ["SummaryParams", "MetricsPrincipal", "SessionDep", "SettingsDep", "build_scope"]
