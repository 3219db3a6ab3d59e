"""GET /v1/vocabulary: the labels of statuses, priorities, kinds, hold reasons,
announcement kinds, actions, event types, indicators and categories in
zh-Hans, ug and en, so a front end shows words, not codes. Any authenticated
caller: it is the same for everyone, and every front end has a token before it
shows a ticket."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service.auth import CurrentPrincipal
from service.categories.service import list_categories, localised_name
from service.db import CommitInRoute, SessionDep
from service.enums import AnnouncementKind, HoldReason, Priority, Status, TicketKind
from service.errors import responses
from service.i18n import LANGUAGES
from service.i18n.http import AnswerLanguage
from service.i18n.vocabulary import LABELS
from service.metrics.indicators import INDICATORS
from service.tickets.lifecycle import TRANSITIONS

router = APIRouter(prefix="/v1", tags=["vocabulary"], route_class=CommitInRoute)


class Term(BaseModel):
    value: str
    label: str
    names: dict[str, str]


class Vocabulary(BaseModel):
    language: str
    statuses: list[Term]
    priorities: list[Term]
    kinds: list[Term]
    hold_reasons: list[Term]
    announcement_kinds: list[Term]
    actions: list[Term]
    event_types: list[Term]
    indicators: list[Term]
    categories: list[Term]


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# The values each vocabulary lists, in the contract's order.
VALUES: dict[str, list[str]] = {
    "statuses": [s.value for s in Status],
    "priorities": [p.value for p in Priority],
    "kinds": [k.value for k in TicketKind],
    "hold_reasons": [r.value for r in HoldReason],
    "announcement_kinds": [k.value for k in AnnouncementKind],
    "actions": _dedupe([t.action for t in TRANSITIONS]),
    "event_types": _dedupe(
        ["ticket.created", *(t.event for t in TRANSITIONS), *LABELS["event_types"]]
    ),
    "indicators": [i.name for i in INDICATORS],
}


def _term(vocabulary: str, value: str, language: str) -> Term:
    names = dict(zip(LANGUAGES, LABELS[vocabulary][value], strict=True))
    return Term(value=value, label=names[language], names=names)


@router.get("/vocabulary", response_model=Vocabulary, responses=responses())
def get_vocabulary(
    _principal: CurrentPrincipal, session: SessionDep, language: AnswerLanguage
) -> Vocabulary:
    terms = {
        name: [_term(name, value, language) for value in values] for name, values in VALUES.items()
    }
    categories = [
        Term(
            value=category.code,
            label=localised_name(category, language),
            names={lang: localised_name(category, lang) for lang in LANGUAGES},
        )
        for category in list_categories(session, include_inactive=False)
    ]
    return Vocabulary(language=language, categories=categories, **terms)
