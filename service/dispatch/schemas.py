"""Request and response bodies of the staff list, on-duty and dispatch modes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from service.dispatch.models import DispatchMode
from service.enums import OrgRole
from service.validation import ReadModel, StrictModel, omittable

CategoryPrefix = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=64)]


class StaffRead(ReadModel):
    """A person of the organisation, as its dispatchers and admins see them."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    phone: str | None
    org_role: OrgRole | None
    active: bool = Field(description="False: deactivated, their tokens are refused (403).")
    on_duty: bool = Field(description="A technician taking round-robin tickets.")
    last_seen_at: dt.datetime | None = Field(
        description="When their token was last looked up: to within a few minutes."
    )
    last_dispatched_at: dt.datetime | None = Field(
        description="When round-robin last gave them a ticket."
    )


class StaffPage(ReadModel):
    items: list[StaffRead]


class StaffUpdate(StrictModel):
    # Left out: unchanged; null is refused (422 naming the field), not "unchanged".
    active: bool = omittable(
        description="False deactivates them: their tokens are refused from now on."
    )
    on_duty: bool = omittable(description="Technicians only.")


class OnDuty(StrictModel):
    on_duty: bool


class DispatchRuleItem(StrictModel):
    category: CategoryPrefix | None = Field(
        default=None,
        description="A category code or a prefix of codes (`repair` covers "
        "`repair.plumbing`); null: every category. The most specific one wins.",
    )
    mode: DispatchMode


class DispatchRules(StrictModel):
    """The organisation's whole set of rules: what is not listed is `manual`."""

    rules: list[DispatchRuleItem] = Field(max_length=200)


class DispatchRuleRead(ReadModel):
    category: str | None
    mode: DispatchMode


class DispatchRulesRead(ReadModel):
    rules: list[DispatchRuleRead]
