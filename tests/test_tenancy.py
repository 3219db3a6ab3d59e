"""Tenancy: every route of the API, tried by every kind of caller.

PRODUCT.md: "an object outside the caller's scope answers 404, never 403 with
details, and never appears in a list". MATRIX names every route of the OpenAPI
document and how to exercise it against an object on the reporter's side of the
world: a ticket `reporter` filed in community_a, community_a itself, `company`
(which serves it), company's API keys, the county tianshan. A route that is
missing from MATRIX fails `test_every_route_is_in_the_matrix`.

What each caller must get:

- in scope and allowed: the route's success status;
- in scope but refused by role: 403 for admin-only reference data, category
  edits, API-key management and what a role may not do to elders and their
  care plans; 409 for a
  lifecycle action or follow-up that the caller's relation to the ticket does
  not allow. Nothing changes;
- out of scope: 404 on object routes, exactly the answer a missing id gets; not
  among `items` on list routes; 422 where the out-of-scope object is only named
  in the body (again exactly the answer a missing id gets). Nothing changes.
  Admin-only routes refuse non-admins with 403 before looking anything up; that
  answer is the same for a missing id, so it reveals nothing.

"Nothing changes" is checked by comparing every row of every table before and
after the request.

And whatever the route and the answer, a caller who may not see an elder's
sensitive fields in clear never finds one of its values (SECRETS) in it.

Speed: on top of the conftest's committed world, this module adds its actors,
API keys and tickets once, in a transaction of its own, and runs each test in a
savepoint of it that is rolled back; arranging them for each of the ~800 cases
would take minutes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.care import horizon
from service.directory.credit_code import check_character
from service.tables import metadata
from service.tickets.models import Ticket
from tests import conftest
from tests.conftest import Actor, World, file_ticket, photo_bytes, token_for

# The conftest's `app` fixture, run once per module here instead of once per test.
_app_on_connection = conftest.app.__wrapped__

NOPE = 2**31 - 1  # an id that exists nowhere
STALE_ETAG = '"0.0"'
NEW_CREDIT_CODE = "91650102MA77XKQ60" + check_character("91650102MA77XKQ60")

# --- who -----------------------------------------------------------------------

ACTORS = (
    "reporter",  # resident of community_a who filed the ticket
    "neighbour",  # another resident of community_a
    "grid_worker",  # grid worker of community_a (did not file the ticket)
    "b_resident",  # resident of community_b: same county, same company
    "far_resident",  # resident of community_k, another prefecture
    "other_grid_worker",  # grid worker of community_k
    "dispatcher",  # company, which serves community_a
    "technician",  # company
    "api_key",  # a machine key of company (acts as its dispatcher)
    "care_dispatcher",  # care: serves community_a, but elderly care only
    "other_dispatcher",  # other_company, serves community_k only
    "admin",  # county tianshan, which holds community_a
    "prefecture_admin",  # prefecture urumqi, above tianshan
    "province_admin",  # the whole province
    "sibling_admin",  # county shayibake: same prefecture, company serves community_c there
    "other_admin",  # county kashi_city in another prefecture
)
ADMINS = frozenset({"admin", "prefecture_admin", "province_admin", "sibling_admin", "other_admin"})
RESIDENTS_A = frozenset({"reporter", "neighbour", "grid_worker"})
COMPANY = frozenset({"dispatcher", "technician", "api_key"})
OVER_A = frozenset({"admin", "prefecture_admin", "province_admin"})

# Who may see each object the routes touch.
SEES: dict[str, frozenset[str]] = {
    "public": frozenset(ACTORS),
    "everyone": frozenset(ACTORS),
    "ticket": frozenset({"reporter"}) | COMPANY | OVER_A,
    "community": RESIDENTS_A | COMPANY | {"care_dispatcher"} | OVER_A,
    # Residents see the organisations serving them; admins those registered in or
    # serving their region (company serves community_c in shayibake).
    "organization": RESIDENTS_A | {"b_resident"} | COMPANY | OVER_A | {"sibling_admin"},
    # Editing an organisation and managing its keys: admins "above it", i.e. of the
    # region it is registered in (tianshan); serving a community there is not enough.
    "organization_registry": RESIDENTS_A | {"b_resident"} | COMPANY | OVER_A,
    "region": RESIDENTS_A | {"b_resident"} | COMPANY | {"care_dispatcher"} | OVER_A,
    "prefecture": frozenset({"prefecture_admin", "province_admin"}),  # urumqi
    "county": OVER_A,  # tianshan, named in a body
    # The elder the grid worker registered in community_a, whose family proxy the
    # reporter is: its care provider (care) sees it; the property company does not.
    "elder": frozenset({"reporter", "grid_worker", "care_dispatcher"}) | OVER_A,
    # Where one may register elders: community_a, named in a body.
    "elder_community": frozenset({"grid_worker", "care_dispatcher"}) | OVER_A,
    # company's webhook: other providers' dispatchers must not learn it exists
    # (404); everyone else is refused by role (403) whatever the id.
    "webhook": frozenset(ACTORS) - {"care_dispatcher", "other_dispatcher"},
    # The integration the county admin registered for tianshan: the admins over it.
    "integration": OVER_A,
    # The reporter's notification (their ticket was accepted): theirs alone.
    "notification": frozenset({"reporter"}),
    # The announcement company posted to community_a: whoever sees community_a
    # (its residents while it is shown, which it is).
    "announcement": RESIDENTS_A | COMPANY | {"care_dispatcher"} | OVER_A,
    # Where one may post announcements: community_a, named in a body: its property
    # company's dispatchers (people and keys) and the admins over it.
    "announce": frozenset({"dispatcher", "api_key"}) | OVER_A,
    # A visit of the grid worker's plan for that elder: its provider, the
    # community's grid worker (who keeps the elder) and the admins over it; not
    # the family proxy (the plan's visits are not theirs to act on).
    "visit": frozenset({"grid_worker", "care_dispatcher"}) | OVER_A,
}


# --- the matrix ------------------------------------------------------------------

Body = Callable[[dict[str, Any], Actor], dict[str, Any] | None]


@dataclass(frozen=True)
class Case:
    """How to exercise one route and what each caller gets."""

    scope: str  # key of SEES: who may see the object the route touches
    ok: int = 200
    may: frozenset[str] | None = None  # the in-scope callers who succeed; None: all of them
    refused: int = 409  # the answer to the other in-scope callers
    admin_only: bool = False  # non-admins get 403 before any lookup
    # Refused by role (403) before any lookup, whatever the id: the same answer
    # for an object in scope, out of scope or missing, so it reveals nothing.
    forbidden: frozenset[str] = frozenset()
    outside: int = 404  # 422 where the object is only named in the body
    listed: str | None = None  # list route: the ref whose id is among items iff in scope
    status: str = "assigned"  # the state of the reporter's ticket the route acts on
    body: Body | None = None
    params: dict[str, Any] = field(default_factory=dict)
    upload: bool = False  # a multipart photo instead of a JSON body
    files: Callable[[dict[str, Any], Actor], dict[str, Any]] | None = None  # other multipart
    path: dict[str, Any] = field(default_factory=dict)  # path parameters of this route's own
    form: Body | None = None  # a form-encoded body instead of a JSON one (Open311)
    check: Callable[[Response, dict[str, Any], Actor], None] | None = None


def _is_me(response: Response, refs: dict[str, Any], actor: Actor) -> None:
    assert response.json()["user_id"] == actor.user_id


def _new_ticket(refs: dict[str, Any], actor: Actor) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "public.lighting",
        "community_id": refs["community_id"],
        "description": "楼道灯不亮",
    }
    if actor.claims["role"] != "resident":
        body["on_behalf_of"] = {"name": "阿依古丽", "phone": "13900000001"}
    return body


def _own_feed(response: Response, refs: dict[str, Any], actor: Actor) -> None:
    """A feed holds only events of the caller's organisation (PostgreSQL serves
    nothing uncommitted, so presence is tested in tests/feed, absence here)."""
    organization_id = actor.claims["organization_id"]
    for event in response.json()["events"]:
        assert event["organization_id"] == organization_id, event
        assert event["ticket"] is None or event["ticket"]["organization_id"] == organization_id
        if organization_id != refs["organization_id"]:
            assert event["ticket_id"] != refs["ticket_id"], event


def _lists_company_webhook(response: Response, refs: dict[str, Any], actor: Actor) -> None:
    listed = {item["id"] for item in response.json()["items"]}
    mine = actor.claims["organization_id"] == refs["organization_id"]
    assert (refs["webhook_id"] in listed) == mine, (actor.name, listed)


def _fixed(body: dict[str, Any]) -> Body:
    return lambda refs, actor: body


# An elder's sensitive values, each found nowhere else in the world.
SECRETS = {
    "phone": "13912340001",
    "contact_phone": "13800005678",
    "room": "1702室",
    "unit": "四单元",
    "notes": "TENANCY-糖尿病-胰岛素",
}


def _new_elder(community_id: int) -> dict[str, Any]:
    return {
        "community_id": community_id,
        "name": "阿依古丽·买买提",
        "phone": SECRETS["phone"],
        "birth_year": 1946,
        "lives_alone": True,
        "care_level": 2,
        "location": {"building": "7", "unit": SECRETS["unit"], "room": SECRETS["room"]},
        "emergency_contacts": [
            {"name": "古丽娜尔", "relation": "女儿", "phone": SECRETS["contact_phone"]}
        ],
        "health_notes": SECRETS["notes"],
        "consent": {"given_at": "2026-11-30T10:00:00+08:00", "by": "self"},
    }


def _elder_as_seen(response: Response, refs: dict[str, Any], actor: Actor) -> None:
    """In clear to ELDER_CLEAR, masked to the proxy (the leak check covers the rest)."""
    elder = response.json()
    if actor.claims["role"] != "resident":
        assert elder["masked"] == [] and elder["phone"] == SECRETS["phone"], actor.name
        assert elder["health_notes"] == SECRETS["notes"], actor.name
    else:
        assert elder["phone"] == "139****0001", actor.name
        assert elder["masked"] == ["phone", "location", "emergency_contacts", "health_notes"]


def _action(status: str, may: frozenset[str], body: Body | None = None, ok: int = 200) -> Case:
    return Case("ticket", ok=ok, may=may, refused=409, status=status, body=body)


KEY_MANAGERS = frozenset({"dispatcher"}) | OVER_A
COMPANY_DISPATCHERS = frozenset({"dispatcher", "api_key"})
STAFF_MANAGERS = COMPANY_DISPATCHERS | OVER_A
HOOK_MANAGERS = COMPANY_DISPATCHERS | {"care_dispatcher", "other_dispatcher"}
HOOK = "https://hooks.example.com/linli"
WH = "/v1/webhooks/{webhook_id}"
METRICS_READERS = ADMINS | COMPANY | {"care_dispatcher", "other_dispatcher"}
T = "/v1/tickets/{ticket_id}"
# SLA configuration: read by admins and providers, edited by deployment-wide admins.
SLA_READERS = ADMINS | COMPANY | {"care_dispatcher", "other_dispatcher"}
SLA_EDITORS = frozenset({"province_admin"})
CAL = "/v1/calendars/{calendar_id}"
KEYS = "/v1/organizations/{organization_id}/api-keys"
INTEGRATION = "/v1/integrations/{integration_id}"
OPEN311 = "/open311/v2"
OPEN311_READS = (
    "/discovery.{format}",
    "/services.{format}",
    "/services/{service_code}.{format}",
    "/requests.{format}",
    "/requests/{service_request_id}.{format}",
    "/tokens/{token}.{format}",
    "/servicerequestupdates.{format}",
)


def _lists_integration(response: Response, refs: dict[str, Any], actor: Actor) -> None:
    listed = {item["id"] for item in response.json()["items"]}
    # Over tianshan: its admin, the prefecture's (urumqi) and the province's (no region).
    over = actor.claims.get("region_id") in (None, refs["region_id"], refs["prefecture_id"])
    assert (refs["integration_id"] in listed) == over, (actor.name, listed)


def _open311_report(refs: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {
        "api_key": refs["integration_key"],
        "service_code": "public.lighting",
        "address_id": refs["community_id"],
        "description": "楼道灯不亮",
        "first_name": "阿依古丽",
        "phone": "13900000001",
    }


STAFF = "/v1/organizations/{organization_id}/staff"
MODES = "/v1/organizations/{organization_id}/dispatch-modes"


EL = "/v1/elders/{elder_id}"
CP = "/v1/care-plans/{plan_id}"
AN = "/v1/announcements/{announcement_id}"
# Who may post announcements at all (where to: SEES["announce"]); the rest 403.
ANNOUNCERS = ADMINS | {"dispatcher", "api_key", "care_dispatcher", "other_dispatcher"}


def _new_announcement(community_id: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "community_ids": [community_id],
        "kind": "planned_outage",
        "title": "今日停水通知",
        "body": "因主管道维修，今日停水。",
        "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=5)).isoformat(),
    }


def _new_plan(elder_id: int) -> dict[str, Any]:
    return {
        "elder_id": elder_id,
        "category": "elderly.meal",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "time": "11:30",
        "duration_minutes": 30,
        "starts_on": "2026-12-07",
    }


RESIDENTS = frozenset({"reporter", "neighbour", "b_resident", "far_resident"})
# By role, whatever the elder: who may register and edit (admins, grid workers,
# dispatchers: a property company's then finds no community of its own to use),
# who may erase and name proxies (admins, grid workers), who may read the
# access log (admins, and residents: a proxy finds their elder, others nothing).
ELDER_EDITORS = ADMINS | {
    "grid_worker",
    "other_grid_worker",
    "dispatcher",
    "api_key",
    "care_dispatcher",
    "other_dispatcher",
}
ELDER_STEWARDS = ADMINS | {"grid_worker", "other_grid_worker"}
ELDER_AUDITORS = ADMINS | RESIDENTS
# Who sees the elders' sensitive fields in clear; nobody else may find them in
# any answer of any route (test_tenancy checks every response against SECRETS).
ELDER_CLEAR = frozenset({"grid_worker", "care_dispatcher"}) | OVER_A

MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/healthz"): Case("public"),
    # Integrations: admins register them for their region (named in the body: 422
    # outside it) and see, revoke, only those of their region.
    ("POST", "/v1/integrations"): Case(
        "county",
        ok=201,
        admin_only=True,
        outside=422,
        body=lambda refs, actor: {"name": "12345 热线", "region_id": refs["region_id"]},
    ),
    ("GET", "/v1/integrations"): Case("everyone", admin_only=True, check=_lists_integration),
    ("GET", INTEGRATION): Case("integration", admin_only=True),
    ("DELETE", INTEGRATION): Case("integration", admin_only=True),
    # Open311: public reads whoever calls (a bearer token changes nothing), and a
    # POST that the integration's key in the form authorises, not the caller's
    # token (tests/open311 has the keys of other regions and the refusals).
    **{("GET", OPEN311 + path): Case("public") for path in OPEN311_READS},
    ("POST", OPEN311 + "/requests.{format}"): Case("public", ok=201, form=_open311_report),
    ("GET", "/readyz"): Case("public"),
    # Open unless LINLI_METRICS_TOKEN is set (tests/observability/test_metrics.py).
    ("GET", "/metrics"): Case("public"),
    ("GET", "/v1/me"): Case("everyone", check=_is_me),
    # A person's inbox and preferences are their own.
    ("GET", "/v1/me/notifications"): Case(
        "notification", listed="notification_id", params={"limit": 100}
    ),
    ("POST", "/v1/me/notifications/{notification_id}/read"): Case("notification"),
    ("GET", "/v1/me/notification-preferences"): Case("everyone"),
    ("PUT", "/v1/me/notification-preferences"): Case(
        "everyone", body=_fixed({"language": "ug", "sms": True})
    ),
    # Categories are shared by the whole deployment.
    ("GET", "/v1/categories"): Case("everyone"),
    # Labels, the same for every caller with a token.
    ("GET", "/v1/vocabulary"): Case("everyone"),
    ("POST", "/v1/categories"): Case(
        "everyone",
        ok=201,
        may=frozenset({"province_admin"}),
        refused=403,
        admin_only=True,
        body=_fixed(
            {
                "code": "repair.tenancy_probe",
                "kind": "property",
                "names": {"zh-Hans": "测试", "ug": "سىناق", "en": "Probe"},
            }
        ),
    ),
    ("PATCH", "/v1/categories/{code}"): Case(
        "everyone",
        may=frozenset({"province_admin"}),
        refused=403,
        admin_only=True,
        body=_fixed({"sort_order": 7}),
    ),
    # Regions: tianshan, and a new county under urumqi.
    ("GET", "/v1/regions"): Case("region", listed="region_id"),
    ("GET", "/v1/regions/{region_id}"): Case("region"),
    ("PATCH", "/v1/regions/{region_id}"): Case(
        "region", admin_only=True, body=_fixed({"timezone": "Asia/Urumqi"})
    ),
    ("POST", "/v1/regions"): Case(
        "prefecture",
        ok=201,
        admin_only=True,
        outside=422,
        body=lambda refs, actor: {
            "name": "新市区",
            "level": "county",
            "parent_id": refs["prefecture_id"],
        },
    ),
    # Communities: community_a, and a new one in tianshan.
    ("GET", "/v1/communities"): Case("community", listed="community_id"),
    ("GET", "/v1/communities/{community_id}"): Case("community"),
    ("POST", "/v1/communities"): Case(
        "county",
        ok=201,
        admin_only=True,
        outside=422,
        body=lambda refs, actor: {"name": "新建小区", "region_id": refs["county_id"]},
    ),
    ("PATCH", "/v1/communities/{community_id}"): Case(
        "community", admin_only=True, body=_fixed({"address": "幸福路1号"})
    ),
    ("GET", "/v1/communities/{community_id}/providers"): Case("community"),
    ("PUT", "/v1/communities/{community_id}/providers/{kind}"): Case(
        "community",
        admin_only=True,
        body=lambda refs, actor: {"organization_id": refs["organization_id"]},
    ),
    # Organisations: company, and a new one registered in tianshan.
    ("GET", "/v1/organizations"): Case("organization", listed="organization_id"),
    ("GET", "/v1/organizations/{organization_id}"): Case("organization"),
    ("POST", "/v1/organizations"): Case(
        "county",
        ok=201,
        admin_only=True,
        outside=422,
        body=lambda refs, actor: {
            "name": "新物业公司",
            "kind": "property_company",
            "credit_code": NEW_CREDIT_CODE,
            "region_id": refs["county_id"],
        },
    ),
    ("PATCH", "/v1/organizations/{organization_id}"): Case(
        "organization_registry", admin_only=True, body=_fixed({"contact_phone": "13900000099"})
    ),
    # Imports: admins, into their region (the county is named in the file).
    ("POST", "/v1/imports/{kind}"): Case(
        "county",
        admin_only=True,
        outside=422,
        path={"kind": "communities"},
        files=lambda refs, actor: {
            "file": (
                "list.csv",
                f"name,region\n导入小区,{refs['county_id']}\n".encode(),
                "text/csv",
            )
        },
    ),
    # company's API keys: its human dispatchers and the admins above it.
    ("POST", KEYS): Case(
        "organization_registry",
        ok=201,
        may=KEY_MANAGERS,
        refused=403,
        body=_fixed({"name": "调度系统"}),
    ),
    ("GET", KEYS): Case("organization_registry", may=KEY_MANAGERS, refused=403),
    ("DELETE", KEYS + "/{key_id}"): Case("organization_registry", may=KEY_MANAGERS, refused=403),
    # company's people and dispatch modes: its dispatchers (its key too) and the
    # admins above it; its technicians read the modes (to know whether to grab).
    ("GET", STAFF): Case("organization_registry", may=STAFF_MANAGERS, refused=403),
    ("PATCH", STAFF + "/{staff_id}"): Case(
        "organization_registry",
        may=STAFF_MANAGERS,
        refused=403,
        body=_fixed({"on_duty": True}),
    ),
    ("GET", MODES): Case("organization_registry", may=COMPANY | OVER_A, refused=403),
    ("PUT", MODES): Case(
        "organization_registry",
        may=STAFF_MANAGERS,
        refused=403,
        body=_fixed({"rules": [{"category": "repair", "mode": "grab"}]}),
    ),
    # Only a technician has a duty to go on.
    ("PUT", "/v1/me/on-duty"): Case(
        "everyone", may=frozenset({"technician"}), refused=403, body=_fixed({"on_duty": True})
    ),
    # Photos: anyone uploads; the reporter's photo on their ticket is served to
    # whoever may see the ticket (tests/attachments: before linking, internal notes).
    ("POST", "/v1/attachments"): Case("everyone", ok=201, upload=True),
    ("GET", "/v1/attachments/{attachment_id}"): Case("ticket"),
    ("GET", "/v1/attachments/{attachment_id}/thumbnail"): Case("ticket"),
    # Tickets: the reporter's, in the status each action starts from.
    ("POST", "/v1/tickets"): Case("community", ok=201, body=_new_ticket),
    ("GET", "/v1/tickets"): Case("ticket", listed="ticket_id", params={"limit": 200}),
    ("GET", T): Case("ticket"),
    ("POST", T + "/assign"): _action(
        "assigned",
        frozenset({"dispatcher", "api_key"}) | OVER_A,
        lambda refs, actor: {
            "organization_id": refs["organization_id"],
            "assignee_id": refs["technician_id"],
        },
    ),
    ("POST", T + "/accept"): _action("assigned", COMPANY),
    ("POST", T + "/start"): _action("accepted", COMPANY),
    ("POST", T + "/hold"): _action("in_progress", COMPANY, _fixed({"reason": "awaiting_parts"})),
    ("POST", T + "/resume"): _action("on_hold", COMPANY),
    ("POST", T + "/resolve"): _action("in_progress", COMPANY, _fixed({"note": "已修好"})),
    ("POST", T + "/confirm"): _action("resolved", frozenset({"reporter"}), _fixed({"rating": 5})),
    ("POST", T + "/reopen"): _action(
        "resolved", frozenset({"reporter"}), _fixed({"reason": "又漏了"})
    ),
    ("POST", T + "/cancel"): _action(
        "assigned", frozenset({"reporter"}) | OVER_A, _fixed({"reason": "不需要了"})
    ),
    ("POST", T + "/return"): _action("assigned", COMPANY, _fixed({"reason": "不归我们管"})),
    ("POST", T + "/reject"): _action("assigned", OVER_A, _fixed({"reason": "重复"})),
    # 催单: only the reporter (the grid worker who filed it would be one too).
    ("POST", T + "/urge"): _action("assigned", frozenset({"reporter"})),
    ("POST", T + "/check-in"): Case(
        "visit", may=frozenset({"care_dispatcher"}), status="visit", body=_fixed({})
    ),
    ("POST", T + "/check-out"): Case(
        "visit",
        may=frozenset({"care_dispatcher"}),
        status="visit_in_progress",
        body=_fixed({"note": "午餐已送到"}),
    ),
    ("POST", T + "/comments"): Case(
        "ticket", ok=201, body=_fixed({"body": "什么时候来？", "internal": False})
    ),
    ("GET", T + "/comments"): Case("ticket", status="resolved"),
    ("PATCH", T): _action("assigned", COMPANY_DISPATCHERS | OVER_A, _fixed({"priority": "low"})),
    ("GET", "/v1/sla-policies"): Case("everyone", may=SLA_READERS, refused=403),
    ("GET", "/v1/sla-policies/{policy_id}"): Case("everyone", may=SLA_READERS, refused=403),
    ("POST", "/v1/sla-policies"): Case(
        "everyone",
        ok=201,
        may=SLA_EDITORS,
        refused=403,
        body=_fixed(
            {
                "name": "低优先级",
                "kind": "property",
                "priority": "low",
                "respond_minutes": 480,
                "calendar_id": 2,
            }
        ),
    ),
    ("PATCH", "/v1/sla-policies/{policy_id}"): Case(
        "everyone", may=SLA_EDITORS, refused=403, body=_fixed({"respond_minutes": 20})
    ),
    ("GET", "/v1/calendars"): Case("everyone", may=SLA_READERS, refused=403),
    ("GET", CAL): Case("everyone", may=SLA_READERS, refused=403),
    ("GET", CAL + "/days"): Case(
        "everyone", may=SLA_READERS, refused=403, params={"from": "2026-02-14", "to": "2026-02-28"}
    ),
    ("POST", "/v1/calendars"): Case(
        "everyone",
        ok=201,
        may=SLA_EDITORS,
        refused=403,
        body=_fixed({"code": "night", "name": "夜班", "hours": {"mon": [["20:00", "24:00"]]}}),
    ),
    ("PATCH", CAL): Case("everyone", may=SLA_EDITORS, refused=403, body=_fixed({"name": "工作日"})),
    ("PUT", CAL + "/days/{day}"): Case(
        "everyone", may=SLA_EDITORS, refused=403, body=_fixed({"working": True})
    ),
    ("DELETE", CAL + "/days/{day}"): Case("everyone", ok=204, may=SLA_EDITORS, refused=403),
    ("GET", "/v1/sla-escalations"): Case("everyone", may=SLA_READERS, refused=403),
    ("GET", "/v1/follow-ups/due"): Case("everyone", may=SLA_READERS, refused=403),
    ("GET", T + "/events"): Case("ticket", status="resolved"),
    # The provider feed: every provider's staff reads their own; nobody else has one.
    ("GET", "/v1/feed"): Case(
        "everyone",
        may=COMPANY | {"care_dispatcher", "other_dispatcher"},
        refused=403,
        check=_own_feed,
    ),
    # Webhooks: managed by each provider's dispatchers (people and API keys).
    ("POST", "/v1/webhooks"): Case(
        "everyone", ok=201, may=HOOK_MANAGERS, refused=403, body=_fixed({"url": HOOK})
    ),
    ("GET", "/v1/webhooks"): Case(
        "everyone", may=HOOK_MANAGERS, refused=403, check=_lists_company_webhook
    ),
    ("GET", WH): Case("webhook", may=COMPANY_DISPATCHERS, refused=403),
    ("DELETE", WH): Case("webhook", ok=204, may=COMPANY_DISPATCHERS, refused=403),
    ("GET", WH + "/deliveries"): Case("webhook", may=COMPANY_DISPATCHERS, refused=403),
    ("GET", WH + "/deliveries/{delivery_id}"): Case(
        "webhook", may=COMPANY_DISPATCHERS, refused=403
    ),
    ("POST", WH + "/deliveries/{delivery_id}/redeliver"): Case(
        "webhook", ok=202, may=COMPANY_DISPATCHERS, refused=403
    ),
    ("POST", T + "/follow-ups"): _action(
        "resolved", COMPANY | OVER_A, _fixed({"method": "phone", "satisfied": True}), ok=201
    ),
    # Metrics: admins see their region, provider staff their own organisation's
    # figures (tests/metrics/test_api.py checks what each one's figures contain).
    ("GET", "/v1/metrics/summary"): Case(
        "everyone", may=METRICS_READERS, refused=403, params={"group_by": "organization"}
    ),
    ("GET", "/v1/metrics/rankings"): Case("everyone", may=METRICS_READERS, refused=403),
    ("GET", "/v1/metrics/trend"): Case("everyone", may=METRICS_READERS, refused=403),
    ("GET", "/v1/metrics/action"): Case("everyone", may=METRICS_READERS, refused=403),
    # Elders: the one in community_a (tests/care has the details of each rule).
    ("POST", "/v1/elders"): Case(
        "elder_community",
        ok=201,
        forbidden=frozenset(ACTORS) - ELDER_EDITORS,
        outside=422,
        body=lambda refs, actor: _new_elder(refs["community_id"]),
    ),
    ("GET", "/v1/elders"): Case("elder", listed="elder_id", params={"limit": 200}),
    ("GET", EL): Case("elder", check=_elder_as_seen),
    ("PATCH", EL): Case(
        "elder",
        forbidden=frozenset(ACTORS) - ELDER_EDITORS,
        body=_fixed({"care_level": 3}),
        check=_elder_as_seen,
    ),
    ("DELETE", EL): Case("elder", ok=204, forbidden=frozenset(ACTORS) - ELDER_STEWARDS),
    ("GET", EL + "/access-log"): Case("elder", forbidden=frozenset(ACTORS) - ELDER_AUDITORS),
    ("GET", EL + "/proxies"): Case("elder", forbidden=frozenset(ACTORS) - ELDER_STEWARDS),
    ("POST", EL + "/proxies"): Case(
        "elder",
        ok=201,
        forbidden=frozenset(ACTORS) - ELDER_STEWARDS,
        body=_fixed({"phone": "13900000002"}),  # the neighbour
    ),
    ("DELETE", EL + "/proxies/{user_id}"): Case(
        "elder", ok=204, forbidden=frozenset(ACTORS) - ELDER_STEWARDS
    ),
    # Care plans, as the elder's: the one the grid worker made for that elder, whose
    # family proxy (the reporter) reads it (tests/care/test_plans.py has the rest).
    ("POST", "/v1/care-plans"): Case(
        "elder_community",
        ok=201,
        forbidden=frozenset(ACTORS) - ELDER_EDITORS,
        outside=422,
        body=lambda refs, actor: _new_plan(refs["elder_id"]),
    ),
    ("GET", "/v1/care-plans"): Case("elder", listed="plan_id", params={"limit": 200}),
    ("GET", CP): Case("elder"),
    ("PATCH", CP): Case(
        "elder",
        forbidden=frozenset(ACTORS) - ELDER_EDITORS,
        body=_fixed({"note": "改为送到社区食堂"}),
    ),
    # Announcements: company's in community_a (tests/announcements has the rest).
    ("POST", "/v1/announcements"): Case(
        "announce",
        ok=201,
        forbidden=frozenset(ACTORS) - ANNOUNCERS,
        outside=422,
        body=lambda refs, actor: _new_announcement(refs["community_id"]),
    ),
    ("GET", "/v1/announcements"): Case(
        "announcement", listed="announcement_id", params={"limit": 100}
    ),
    ("GET", AN): Case("announcement"),
    # Withdrawn by the company that posted it and the admins over all its communities.
    ("DELETE", AN): Case("announcement", may=COMPANY_DISPATCHERS | OVER_A, refused=403),
    # A one-time link into the dashboard: any admin, for themselves.
    ("POST", "/v1/dashboard/links"): Case("everyone", ok=201, admin_only=True),
    # The action's targets are the province's: county admins are refused too.
    ("PUT", "/v1/metrics/action"): Case(
        "everyone",
        may=frozenset({"province_admin"}),
        refused=403,
        admin_only=True,
        body=_fixed({"min_tickets": 31}),
    ),
}


def expected(case: Case, actor_name: str) -> int:
    if case.scope == "public":
        return case.ok
    if case.listed:
        return 200
    if case.admin_only and actor_name not in ADMINS:
        return 403
    if actor_name in case.forbidden:
        return 403
    if actor_name not in SEES[case.scope]:
        return case.outside
    if case.may is None or actor_name in case.may:
        return case.ok
    return case.refused


# --- the scene: built once per module, each test inside a rolled-back savepoint ---


@dataclass
class Scene:
    connection: Any
    app: Any
    client: TestClient
    world: World
    tickets: dict[str, int]  # status -> a ticket the reporter filed in community_a
    etags: dict[str, str]  # status -> that ticket's current ETag
    far_ticket: int  # far_resident's ticket in community_k, served by other_company
    key_id: int  # a spare API key of company, for DELETE to revoke
    integration_id: int = 0  # tianshan's, registered by its admin
    integration_key: str = ""
    attachment_id: int = 0  # the reporter's photo, linked to the "assigned" ticket
    webhook_id: int = 0  # company's webhook
    delivery_id: int = 0  # one of its deliveries, dead-lettered (so it can be redelivered)
    notification_id: int = 0  # the reporter's: the "accepted" ticket was accepted
    elder_id: int = 0  # registered by grid_worker in community_a; the reporter is its proxy
    far_elder_id: int = 0  # registered by other_grid_worker in community_k
    plan_id: int = 0  # the grid worker's care plan for that elder
    announcement_id: int = 0  # company's dispatcher's, to community_a, shown now
    # That plan's visits (served by care): "visit" assigned, "visit_in_progress" checked in.
    visits: dict[str, int] = field(default_factory=dict)

    def refs(self, case: Case) -> dict[str, Any]:
        w = self.world
        return {
            "ticket_id": self.tickets.get(case.status) or self.visits[case.status],
            "community_id": w.community_a,
            "organization_id": w.company,
            "region_id": w.tianshan,
            "prefecture_id": w.urumqi,
            "county_id": w.tianshan,
            "key_id": self.key_id,
            "integration_id": self.integration_id,
            "integration_key": self.integration_key,
            "format": "json",
            "service_code": "repair.plumbing",
            "service_request_id": self.tickets["assigned"],
            "token": self.tickets["assigned"],
            "attachment_id": self.attachment_id,
            "webhook_id": self.webhook_id,
            "delivery_id": self.delivery_id,
            "notification_id": self.notification_id,
            "elder_id": self.elder_id,
            "plan_id": self.plan_id,
            "announcement_id": self.announcement_id,
            "user_id": w.reporter.user_id,  # the elder's proxy
            "technician_id": w.technician.user_id,
            "staff_id": w.technician.user_id,
            "code": "repair.plumbing",
            "kind": "property",
            "policy_id": 1,
            "calendar_id": 2,
            "day": "2027-01-01",
        } | case.path


def _ok(response: Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), (response.request.url, response.text)
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _keys(organization_id: int) -> str:
    return f"/v1/organizations/{organization_id}/api-keys"


def _build_scene(
    client: TestClient, settings: Any, connection: Any, app: Any, base: World
) -> Scene:
    # A copy: the extra actors and user ids below live only in this module's transaction.
    w = World(ids=dict(base.ids), actors={k: replace(a) for k, a in base.actors.items()})
    for name, role, scope in (
        ("b_resident", "resident", {"community_id": w.community_b, "phone": "13900000004"}),
        ("prefecture_admin", "admin", {"region_id": w.urumqi}),
        ("sibling_admin", "admin", {"region_id": w.shayibake}),
    ):
        token = token_for(settings, f"tenancy-{name}", role, **scope)
        w.actors[name] = Actor(name, token, {"role": role, **scope})
    raw = _ok(
        client.post(_keys(w.company), json={"name": "派单系统"}, headers=w.dispatcher.headers)
    )
    w.actors["api_key"] = Actor(
        "api_key",
        raw["key"],
        {"role": "provider_staff", "organization_id": w.company, "org_role": "dispatcher"},
    )
    spare = _ok(client.post(_keys(w.company), json={"name": "备用"}, headers=w.dispatcher.headers))
    webhook = _ok(client.post("/v1/webhooks", json={"url": HOOK}, headers=w.dispatcher.headers))
    # An override for DELETE /v1/calendars/{id}/days/{day} to remove.
    _ok(
        client.put(
            "/v1/calendars/2/days/2027-01-01",
            json={"working": False, "note": "元旦"},
            headers=w.province_admin.headers,
        )
    )
    elder = _ok(
        client.post("/v1/elders", json=_new_elder(w.community_a), headers=w.grid_worker.headers)
    )
    _ok(
        client.post(
            f"/v1/elders/{elder['id']}/proxies",
            json={"phone": w.reporter.claims["phone"]},
            headers=w.grid_worker.headers,
        )
    )
    far_elder = _ok(
        client.post(
            "/v1/elders",
            json={"community_id": w.community_k, "name": "吐尔逊"},
            headers=w.other_grid_worker.headers,
        )
    )
    plan = _ok(
        client.post(
            "/v1/care-plans",
            json=_new_plan(elder["id"]),
            headers=w.grid_worker.headers,
        )
    )
    # Provision everyone now, so that no request under test writes a user row.
    for actor in w.actors.values():
        actor.user_id = _ok(client.get("/v1/me", headers=actor.headers))["user_id"]
    assert set(ACTORS) <= set(w.actors)

    steps = {
        "assigned": (),
        "accepted": ("accept",),
        "in_progress": ("accept", "start"),
        "on_hold": ("accept", "start", "hold"),
        "resolved": ("accept", "start", "resolve"),
    }
    tickets, etags = {}, {}
    photo = _ok(
        client.post(
            "/v1/attachments",
            files={"file": ("p.jpg", photo_bytes(), "image/jpeg")},
            headers=w.reporter.headers,
        )
    )
    for status, actions in steps.items():
        photos = [photo["id"]] if status == "assigned" else []
        ticket_id = file_ticket(client, w.reporter, w.community_a, attachment_ids=photos)["id"]
        for action in actions:
            body = {"reason": "awaiting_parts"} if action == "hold" else None
            _ok(
                client.post(
                    f"/v1/tickets/{ticket_id}/{action}", json=body, headers=w.technician.headers
                )
            )
        response = client.get(f"/v1/tickets/{ticket_id}", headers=w.province_admin.headers)
        assert _ok(response)["status"] == status
        tickets[status], etags[status] = ticket_id, response.headers["etag"]
    far_ticket = file_ticket(client, w.far_resident, w.community_k)["id"]
    scene = Scene(connection, app, client, w, tickets, etags, far_ticket, spare["id"])
    from service.notifications.models import Notification
    from service.webhooks.models import WebhookDelivery

    scene.notification_id = connection.scalar(
        select(Notification.id).where(
            Notification.ticket_id == tickets["accepted"], Notification.type == "ticket.accepted"
        )
    )
    scene.webhook_id = webhook["id"]
    scene.elder_id, scene.far_elder_id = elder["id"], far_elder["id"]
    scene.plan_id = plan["id"]
    session = Session(bind=connection)
    horizon.make_batch(
        session, dt.datetime(2026, 12, 7, tzinfo=dt.UTC), dt.timedelta(hours=48), "Asia/Shanghai"
    )
    session.flush()
    made = session.scalars(
        select(Ticket.id).where(Ticket.care_plan_id == plan["id"]).order_by(Ticket.scheduled_for)
    ).all()
    session.close()
    assert len(made) == 2, made
    scene.visits = {"visit": made[0], "visit_in_progress": made[1]}
    _ok(client.post(f"/v1/tickets/{made[1]}/check-in", json={}, headers=w.care_dispatcher.headers))
    for key, visit_id in scene.visits.items():
        response = client.get(f"/v1/tickets/{visit_id}", headers=w.province_admin.headers)
        _ok(response)
        scene.etags[key] = response.headers["etag"]
    scene.attachment_id = photo["id"]
    scene.announcement_id = _ok(
        client.post(
            "/v1/announcements",
            json=_new_announcement(w.community_a),
            headers=w.dispatcher.headers,
        )
    )["id"]
    integration = _ok(
        client.post(
            "/v1/integrations",
            json={"name": "12345 热线", "region_id": w.tianshan},
            headers=w.admin.headers,
        )
    )
    scene.integration_id, scene.integration_key = integration["id"], integration["key"]
    scene.delivery_id = connection.scalar(
        select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == webhook["id"]).limit(1)
    )
    connection.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == scene.delivery_id)
        .values(status="dead", attempts=8)
    )
    return scene


@pytest.fixture(scope="module")
def _scene(settings: Any, engine: Any, base_world: World) -> Iterator[Scene]:
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            app = _app_on_connection(settings, engine, connection)
            with TestClient(app, raise_server_exceptions=False) as client:
                yield _build_scene(client, settings, connection, app, base_world)
        finally:
            outer.rollback()


# These override the conftest's fixtures of the same names for this module.
@pytest.fixture
def connection(_scene: Scene) -> Iterator[Any]:
    savepoint = _scene.connection.begin_nested()
    yield _scene.connection
    if savepoint.is_active:
        savepoint.rollback()


@pytest.fixture
def scene(_scene: Scene, connection: Any) -> Scene:
    return _scene


@pytest.fixture
def app(_scene: Scene, connection: Any) -> Any:
    return _scene.app


@pytest.fixture
def client(_scene: Scene, connection: Any) -> TestClient:
    return _scene.client


@pytest.fixture
def world(_scene: Scene, connection: Any) -> World:
    return _scene.world


# --- helpers -------------------------------------------------------------------

VOLATILE_COLUMNS = {
    "last_used_at",  # an API key's use is not a write by its caller
    "last_seen_at",  # nor a person's (service.auth: at most every few minutes)
}


def db_state(connection: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused request changed nothing."""
    state = {}
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
        rows = connection.execute(select(*columns).order_by(*table.primary_key.columns))
        state[table.name] = [tuple(row) for row in rows]
    return state


def _call(
    client: TestClient,
    route: tuple[str, str],
    refs: dict[str, Any],
    actor: Actor,
    headers: dict[str, str],
) -> Response:
    method, template = route
    case = MATRIX[route]
    if case.form:
        return client.post(template.format(**refs), data=case.form(refs, actor), headers=headers)
    if case.upload:
        files = {"file": ("p.jpg", photo_bytes(), "image/jpeg")}
        return client.post(template.format(**refs), files=files, headers=headers)
    if case.files:
        return client.post(template.format(**refs), files=case.files(refs, actor), headers=headers)
    return client.request(
        method,
        template.format(**refs),
        json=case.body(refs, actor) if case.body else None,
        params=case.params,
        headers=headers,
    )


def _shape(response: Response, ids: list[int]) -> tuple[int, str, str]:
    """The answer with ids blanked out, to compare an existing object with a missing one."""
    text = response.text
    for value in ids:
        text = re.sub(rf"\b{value}\b", "<id>", text)
    return response.status_code, response.headers.get("content-type", ""), text


def _route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def _is_problem(response: Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


# --- the matrix tests ----------------------------------------------------------


def test_every_route_is_in_the_matrix(app: Any) -> None:
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in methods
    }
    assert sorted(routes - MATRIX.keys()) == [], "routes without a tenancy entry in MATRIX"
    assert sorted(MATRIX.keys() - routes) == [], "MATRIX entries for routes that no longer exist"


@pytest.mark.parametrize("actor_name", ACTORS)
@pytest.mark.parametrize("route", list(MATRIX), ids=_route_id)
def test_tenancy(route: tuple[str, str], actor_name: str, scene: Scene, connection: Any) -> None:
    case = MATRIX[route]
    actor = scene.world.actors[actor_name]
    refs = scene.refs(case)
    in_scope = actor_name in SEES[case.scope]
    want = expected(case, actor_name)
    where = f"{_route_id(route)} as {actor_name}"
    headers = dict(actor.headers)
    if not in_scope and "{ticket_id}" in route[1]:
        # Preconditions come after the lookup: no 412 or 304 that would confirm the ticket.
        headers |= {"If-Match": STALE_ETAG, "If-None-Match": scene.etags[case.status]}

    before = db_state(connection) if want >= 300 else None
    response = _call(scene.client, route, refs, actor, headers)
    assert response.status_code == want, (
        f"{where}: expected {want}, got {response.status_code} {response.text}"
    )
    if actor_name not in ELDER_CLEAR:
        leaked = [name for name, value in SECRETS.items() if value in response.text]
        assert leaked == [], f"{where}: the elder's {leaked} in the answer"

    if case.listed:
        listed = {item["id"] for item in response.json()["items"]}
        problem = "is missing from" if in_scope else "leaks into"
        assert (refs[case.listed] in listed) == in_scope, (
            f"{where}: {case.listed} {refs[case.listed]} {problem} the list"
        )
        return
    if want < 300:
        if case.check:
            case.check(response, refs, actor)
        return

    assert _is_problem(response), f"{where}: not problem+json"
    assert db_state(connection) == before, f"{where}: a refused request changed the database"
    if not in_scope:
        missing_refs = {k: NOPE if isinstance(v, int) else v for k, v in refs.items()}
        missing = _call(scene.client, route, missing_refs, actor, headers)
        ids = [v for v in refs.values() if isinstance(v, int)] + [NOPE]
        assert _shape(response, ids) == _shape(missing, ids), (
            f"{where}: the answer differs from the one for a missing object: "
            f"{response.text} vs {missing.text}"
        )


PRIVATE_ROUTES = [route for route, case in MATRIX.items() if case.scope != "public"]
PUBLIC_ROUTES = [route for route, case in MATRIX.items() if case.scope == "public"]


@pytest.mark.parametrize(
    "token", [None, "not-a-jwt", "lk_unknown"], ids=["no token", "bad jwt", "unknown key"]
)
@pytest.mark.parametrize("route", PRIVATE_ROUTES, ids=_route_id)
def test_strangers_get_401(
    route: tuple[str, str], token: str | None, scene: Scene, connection: Any
) -> None:
    refs = scene.refs(MATRIX[route])
    before = db_state(connection)
    headers = {} if token is None else _bearer(token)
    response = _call(scene.client, route, refs, scene.world.reporter, headers)
    assert response.status_code == 401, response.text
    assert _is_problem(response)
    assert response.json()["status"] == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert db_state(connection) == before


@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=_route_id)
def test_probes_need_no_token(route: tuple[str, str], scene: Scene, client: TestClient) -> None:
    case = MATRIX[route]
    response = _call(client, route, scene.refs(case), scene.world.reporter, {})
    assert response.status_code == case.ok, response.text


# Each caller's lists, exactly: a scope that widens fails here even where the matrix,
# which looks at the reporter's side only, cannot tell.
VISIBLE: dict[str, dict[str, set[str]]] = {
    # actor: communities, organisations, regions
    "reporter": {
        "communities": {"community_a"},
        "organizations": {"company", "care"},
        "regions": {"province", "urumqi", "tianshan"},
    },
    "b_resident": {
        "communities": {"community_b"},
        "organizations": {"company"},
        "regions": {"province", "urumqi", "tianshan"},
    },
    "far_resident": {
        "communities": {"community_k"},
        "organizations": {"other_company"},
        "regions": {"province", "kashgar", "kashi_city"},
    },
    "dispatcher": {
        "communities": {"community_a", "community_b", "community_c"},
        "organizations": {"company"},
        "regions": {"province", "urumqi", "tianshan", "shayibake"},
    },
    "care_dispatcher": {
        "communities": {"community_a"},
        "organizations": {"care"},
        "regions": {"province", "urumqi", "tianshan"},
    },
    "other_dispatcher": {
        "communities": {"community_k"},
        "organizations": {"other_company"},
        "regions": {"province", "kashgar", "kashi_city"},
    },
    "admin": {
        "communities": {"community_a", "community_b"},
        "organizations": {"company", "care"},
        "regions": {"tianshan"},
    },
    "prefecture_admin": {
        "communities": {"community_a", "community_b", "community_c"},
        "organizations": {"company", "care"},
        "regions": {"urumqi", "tianshan", "shayibake"},
    },
    "province_admin": {
        "communities": {"community_a", "community_b", "community_c", "community_k"},
        "organizations": {"company", "care", "other_company"},
        "regions": {"province", "urumqi", "kashgar", "tianshan", "shayibake", "kashi_city"},
    },
    "sibling_admin": {
        "communities": {"community_c"},
        "organizations": {"company"},  # it serves community_c
        "regions": {"shayibake"},
    },
    "other_admin": {
        "communities": {"community_k"},
        "organizations": {"other_company"},
        "regions": {"kashi_city"},
    },
}
for _twin, _of in (
    ("neighbour", "reporter"),
    ("grid_worker", "reporter"),
    ("other_grid_worker", "far_resident"),
    ("technician", "dispatcher"),
    ("api_key", "dispatcher"),
):
    VISIBLE[_twin] = VISIBLE[_of]
SEES_FAR_TICKET = {"far_resident", "other_dispatcher", "province_admin", "other_admin"}


@pytest.mark.parametrize("actor_name", ACTORS)
def test_each_caller_lists_exactly_their_scope(
    actor_name: str, scene: Scene, client: TestClient
) -> None:
    w = scene.world
    actor = w.actors[actor_name]
    for collection, names in VISIBLE[actor_name].items():
        known = {w.ids[name]: name for name in VISIBLE["province_admin"][collection]}
        listed = _ok(client.get(f"/v1/{collection}?limit=500", headers=actor.headers))["items"]
        seen = {known[item["id"]] for item in listed if item["id"] in known}
        assert seen == names, f"{actor_name} lists {collection} {sorted(seen)}"
    listed = _ok(client.get("/v1/tickets?limit=200", headers=actor.headers))["items"]
    ids = {item["id"] for item in listed}
    ours = set(scene.tickets.values())
    assert (ids & ours) == (ours if actor_name in SEES["ticket"] else set()), actor_name
    assert (scene.far_ticket in ids) == (actor_name in SEES_FAR_TICKET), actor_name
    visits = set(scene.visits.values())
    assert (ids & visits) == (visits if actor_name in SEES["visit"] else set()), actor_name


@pytest.mark.parametrize("actor_name", ACTORS)
def test_each_caller_finds_exactly_their_scope(
    actor_name: str, scene: Scene, client: TestClient
) -> None:
    """A search narrows the list, never widens it: every scene ticket says 水管."""
    actor = scene.world.actors[actor_name]
    ours = set(scene.tickets.values())
    numbers = {}
    for ticket_id in (*ours, scene.far_ticket):
        response = client.get(
            f"/v1/tickets/{ticket_id}", headers=scene.world.province_admin.headers
        )
        numbers[ticket_id] = _ok(response)["number"]
    for params in ({"q": "水管"}, {"q": "水"}, {"number": ",".join(numbers.values())}):
        listed = _ok(
            client.get("/v1/tickets", params={"limit": 200, **params}, headers=actor.headers)
        )
        ids = {item["id"] for item in listed["items"]}
        assert (ids & ours) == (ours if actor_name in SEES["ticket"] else set()), params
        assert (scene.far_ticket in ids) == (actor_name in SEES_FAR_TICKET), params


SEES_FAR_ELDER = {"other_grid_worker", "province_admin", "other_admin"}


@pytest.mark.parametrize("actor_name", ACTORS)
def test_each_caller_lists_exactly_their_elders(
    actor_name: str, scene: Scene, client: TestClient
) -> None:
    actor = scene.world.actors[actor_name]
    listed = _ok(client.get("/v1/elders?limit=200", headers=actor.headers))["items"]
    ids = {item["id"] for item in listed}
    assert (scene.elder_id in ids) == (actor_name in SEES["elder"]), actor_name
    assert (scene.far_elder_id in ids) == (actor_name in SEES_FAR_ELDER), actor_name
    if actor_name not in ELDER_CLEAR:
        assert not [value for value in SECRETS.values() if value in str(listed)], actor_name


# --- internal notes --------------------------------------------------------------


def _views(client: TestClient, ticket_id: int, actor: Actor) -> list[Response]:
    responses = [
        client.get(f"/v1/tickets/{ticket_id}/{view}", headers=actor.headers)
        for view in ("comments", "events")
    ]
    for response in responses:
        assert response.status_code == 200, (actor.name, response.text)
    return responses


def test_residents_never_see_internal_notes(scene: Scene, client: TestClient) -> None:
    w = scene.world
    by_reporter = scene.tickets["assigned"]
    # Filed by the grid worker for the reporter (same phone): both residents see it.
    by_grid_worker = file_ticket(client, w.grid_worker, w.community_a)["id"]
    note, reply = "内部：该户拖欠物业费", "师傅明天上午到"
    for ticket_id in (by_reporter, by_grid_worker):
        for body, internal in ((note, True), (reply, False)):
            _ok(
                client.post(
                    f"/v1/tickets/{ticket_id}/comments",
                    json={"body": body, "internal": internal},
                    headers=w.dispatcher.headers,
                )
            )
        for name in ("reporter", "grid_worker") if ticket_id == by_grid_worker else ("reporter",):
            for response in _views(client, ticket_id, w.actors[name]):
                assert note not in response.text, (name, response.url)
                assert reply in response.text, (name, response.url)
                assert not any(item["internal"] for item in response.json()["items"])
        for name in ("dispatcher", "technician", "api_key", "admin", "province_admin"):
            for response in _views(client, ticket_id, w.actors[name]):
                assert note in response.text, (name, response.url)

    # Nor may they write one.
    response = client.post(
        f"/v1/tickets/{by_reporter}/comments",
        json={"body": "我也想写内部备注", "internal": True},
        headers=w.reporter.headers,
    )
    assert response.status_code == 403, response.text


def test_another_organisation_never_sees_internal_notes(scene: Scene, client: TestClient) -> None:
    w = scene.world
    ticket_id = scene.tickets["accepted"]
    ours, theirs = "内部：材料费另算", "内部：喀什这边接手"
    _ok(
        client.post(
            f"/v1/tickets/{ticket_id}/comments",
            json={"body": ours, "internal": True},
            headers=w.dispatcher.headers,
        )
    )
    # The province re-dispatches the ticket to other_company, which then writes its own note.
    _ok(
        client.post(
            f"/v1/tickets/{ticket_id}/assign",
            json={"organization_id": w.other_company},
            headers=w.province_admin.headers,
        )
    )
    _ok(
        client.post(
            f"/v1/tickets/{ticket_id}/comments",
            json={"body": theirs, "internal": True},
            headers=w.other_dispatcher.headers,
        )
    )
    for response in _views(client, ticket_id, w.other_dispatcher):
        assert ours not in response.text, response.url
        assert theirs in response.text, response.url
    for response in _views(client, ticket_id, w.reporter):
        assert ours not in response.text and theirs not in response.text, response.url
    for response in _views(client, ticket_id, w.province_admin):
        assert ours in response.text and theirs in response.text, response.url
    # company lost the ticket with the re-dispatch; care never had it.
    for name in ("dispatcher", "technician", "api_key", "care_dispatcher"):
        actor = w.actors[name]
        for path in ("", "/comments", "/events"):
            response = client.get(f"/v1/tickets/{ticket_id}{path}", headers=actor.headers)
            assert response.status_code == 404, (name, path, response.text)
    for name in ("dispatcher", "care_dispatcher"):
        listed = _ok(client.get("/v1/tickets?limit=200", headers=w.actors[name].headers))
        assert ticket_id not in {item["id"] for item in listed["items"]}, name


@pytest.mark.parametrize("actor_name", sorted(SEES["ticket"]))
def test_comments_and_events_show_the_same_notes(
    actor_name: str, scene: Scene, client: TestClient
) -> None:
    """A note hidden from the comments must not show through the timeline, and back."""
    w = scene.world
    ticket_id = scene.tickets["assigned"]
    for author, internal in (("reporter", False), ("dispatcher", True), ("admin", True)):
        _ok(
            client.post(
                f"/v1/tickets/{ticket_id}/comments",
                json={"body": f"{author} 的备注", "internal": internal},
                headers=w.actors[author].headers,
            )
        )
    comments, events = (r.json()["items"] for r in _views(client, ticket_id, w.actors[actor_name]))
    in_comments = {c["id"] for c in comments}
    in_events = {e["data"]["comment_id"] for e in events if e["type"] == "ticket.commented"}
    assert in_events == in_comments, (
        f"{actor_name}: events show comments {sorted(in_events - in_comments)} "
        f"that the comment list hides"
    )


# --- API keys ------------------------------------------------------------------


def test_api_key_acts_for_its_organisation_until_revoked(scene: Scene, client: TestClient) -> None:
    w = scene.world
    created = client.post(_keys(w.company), json={"name": "工单接口"}, headers=w.dispatcher.headers)
    assert created.status_code == 201, created.text
    raw = created.json()["key"]
    assert raw.startswith("lk_")

    me = _ok(client.get("/v1/me", headers=_bearer(raw)))
    assert (me["role"], me["organization_id"], me["org_role"]) == (
        "provider_staff",
        w.company,
        "dispatcher",
    )
    listed = _ok(client.get("/v1/tickets?limit=200", headers=_bearer(raw)))
    ids = {item["id"] for item in listed["items"]}
    assert set(scene.tickets.values()) <= ids
    assert scene.far_ticket not in ids
    assert client.get(f"/v1/tickets/{scene.far_ticket}", headers=_bearer(raw)).status_code == 404

    # other_company's key sees the other side of the world.
    other = _ok(
        client.post(
            _keys(w.other_company), json={"name": "喀什"}, headers=w.other_dispatcher.headers
        )
    )
    other_ids = {
        item["id"]
        for item in _ok(client.get("/v1/tickets?limit=200", headers=_bearer(other["key"])))["items"]
    }
    assert scene.far_ticket in other_ids
    assert not set(scene.tickets.values()) & other_ids

    # Listed without its secret.
    listing = client.get(_keys(w.company), headers=w.dispatcher.headers)
    assert created.json()["id"] in {item["id"] for item in _ok(listing)["items"]}
    assert raw not in listing.text
    assert all("key" not in item and "key_hash" not in item for item in listing.json()["items"])

    revoked = client.delete(
        f"{_keys(w.company)}/{created.json()['id']}", headers=w.dispatcher.headers
    )
    assert _ok(revoked)["revoked_at"] is not None
    response = client.get("/v1/tickets", headers=_bearer(raw))
    assert response.status_code == 401, response.text
    assert _is_problem(response)


def test_keys_are_revoked_only_through_their_own_organisation(
    scene: Scene, client: TestClient, connection: Any
) -> None:
    w = scene.world
    other = _ok(
        client.post(
            _keys(w.other_company), json={"name": "喀什"}, headers=w.other_dispatcher.headers
        )
    )
    before = db_state(connection)
    for organization_id, key_id, actor in (
        (w.company, other["id"], w.dispatcher),  # someone else's key under one's own org
        (w.other_company, scene.key_id, w.other_dispatcher),
        (w.company, scene.key_id, w.other_dispatcher),  # the right pair, the wrong caller
    ):
        response = client.delete(f"{_keys(organization_id)}/{key_id}", headers=actor.headers)
        assert response.status_code == 404, (organization_id, key_id, actor.name, response.text)
    assert db_state(connection) == before
    assert client.get("/v1/me", headers=_bearer(other["key"])).status_code == 200


def test_an_admin_cannot_mint_keys_for_an_organisation_registered_elsewhere(
    scene: Scene, client: TestClient
) -> None:
    """shayibake's admin sees company (it serves community_c there), but company is
    registered in tianshan: a key of company would open tianshan's tickets to them."""
    w = scene.world
    ticket_id = scene.tickets["assigned"]  # in community_a, tianshan
    assert (
        client.get(f"/v1/tickets/{ticket_id}", headers=w.sibling_admin.headers).status_code == 404
    )
    response = client.post(_keys(w.company), json={"name": "越权"}, headers=w.sibling_admin.headers)
    if response.status_code == 201:
        leaked = client.get(f"/v1/tickets/{ticket_id}", headers=_bearer(response.json()["key"]))
        pytest.fail(
            "shayibake's admin minted an API key of company (registered in tianshan); "
            f"with it, GET of a tianshan ticket answers {leaked.status_code}"
        )
    assert response.status_code == 404, response.text


# --- idempotency keys ------------------------------------------------------------


def test_idempotency_keys_belong_to_their_caller(scene: Scene, client: TestClient) -> None:
    w = scene.world
    refs = scene.refs(MATRIX[("POST", "/v1/tickets")])
    headers = {"Idempotency-Key": "tenancy-0001"}

    def create(actor: Actor) -> Response:
        body = _new_ticket(refs, actor)
        return client.post("/v1/tickets", json=body, headers={**actor.headers, **headers})

    first = create(w.reporter)
    assert first.status_code == 201, first.text
    second = create(w.neighbour)
    assert second.status_code == 201, second.text
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert create(w.far_resident).status_code == 404
