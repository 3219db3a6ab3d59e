"""The ticket state machine as data: which action moves which status, done by whom.

This table is the whole policy; the service applies it and the tests walk it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.auth import Principal
from service.enums import Role, Status
from service.tickets.models import Ticket

S = Status


class Actor(StrEnum):
    """How a principal relates to one ticket."""

    reporter = "reporter"  # the resident it belongs to, or the grid worker who filed it
    staff = "staff"  # any provider_staff of the organisation it is assigned to
    dispatcher = "dispatcher"  # a dispatcher of that organisation
    admin = "admin"  # an administrator whose region holds the community


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change
    actors: frozenset[Actor]
    event: str


def _t(action: str, sources: set[Status], target: Status | None, actors: set[Actor], event: str):
    return Transition(action, frozenset(sources), target, frozenset(actors), event)


A = Actor
# Statuses in which someone still has to act on the ticket.
OPEN = {S.submitted, S.assigned, S.accepted, S.in_progress, S.on_hold}
TRANSITIONS: tuple[Transition, ...] = (
    # An admin sends the ticket to an organisation (optionally naming a technician).
    _t("assign", {S.submitted, S.assigned, S.accepted}, S.assigned, {A.admin}, "ticket.assigned"),
    # A dispatcher hands it to a technician of their own organisation.
    _t("assign", {S.assigned, S.accepted}, None, {A.dispatcher}, "ticket.dispatched"),
    _t("accept", {S.assigned}, S.accepted, {A.staff}, "ticket.accepted"),
    _t("start", {S.accepted}, S.in_progress, {A.staff}, "ticket.started"),
    _t("hold", {S.accepted, S.in_progress}, S.on_hold, {A.staff}, "ticket.held"),
    _t("resume", {S.on_hold}, S.in_progress, {A.staff}, "ticket.resumed"),
    _t("resolve", {S.in_progress}, S.resolved, {A.staff}, "ticket.resolved"),
    # A visit (a care plan's ticket): the carer at the door checks in, whatever
    # the dispatcher has or has not done yet, and checks out when done.
    _t("check_in", {S.assigned, S.accepted}, S.in_progress, {A.staff}, "visit.checked_in"),
    _t("check_out", {S.in_progress}, S.resolved, {A.staff}, "visit.checked_out"),
    _t("confirm", {S.resolved}, S.closed, {A.reporter}, "ticket.confirmed"),
    _t("reopen", {S.resolved, S.closed}, S.in_progress, {A.reporter}, "ticket.reopened"),
    _t(
        "cancel",
        {S.submitted, S.assigned, S.accepted},
        S.cancelled,
        {A.reporter, A.admin},
        "ticket.cancelled",
    ),
    _t("return", {S.assigned, S.accepted}, S.submitted, {A.staff}, "ticket.returned"),
    _t("reject", {S.submitted, S.assigned}, S.rejected, {A.admin}, "ticket.rejected"),
    # 催单: the reporter presses an open ticket, at most once per interval (actions.py).
    _t("urge", OPEN, None, {A.reporter}, "ticket.urged"),
)


def actors_of(principal: Principal, ticket: Ticket) -> set[Actor]:
    """The relations `principal` has to a ticket it can already see."""
    actors: set[Actor] = set()
    if principal.role in (Role.resident, Role.grid_worker) and principal.user_id in (
        ticket.reporter_id,
        ticket.filed_by_id,
    ):
        actors.add(Actor.reporter)
    if (
        principal.role == Role.provider_staff
        and ticket.organization_id is not None
        and ticket.organization_id == principal.organization_id
    ):
        actors.add(Actor.staff)
        if principal.is_dispatcher:
            actors.add(Actor.dispatcher)
    if principal.role == Role.admin:
        actors.add(Actor.admin)
    return actors


class NotPermitted(Exception):
    """The principal has no role in this action."""


class WrongStatus(Exception):
    """The action exists for this principal but not from the ticket's status."""


def find_transition(action: str, actors: set[Actor], status: Status) -> Transition:
    candidates = [t for t in TRANSITIONS if t.action == action and t.actors & actors]
    if not candidates:
        raise NotPermitted(action)
    for transition in candidates:
        if status in transition.sources:
            return transition
    raise WrongStatus(action)
