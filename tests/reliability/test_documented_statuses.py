"""Every error status the OpenAPI document lists for an operation can be produced,
and every error status an operation can produce is listed.

PROVOKERS holds, for each error status, the one way each kind of operation is
made to answer it: no token (401), a role that may never do this (403), an id
that does not exist (404), a state that does not allow it (409), a stale
`If-Match` (412), a body too large (413), not JSON (415), undecodable (400), a
parameter out of bounds (422), `If-None-Match` with the current ETag (304) and
a database that is not ready (503). A provoker that applies to an operation must
get exactly its status; the set of statuses so produced must be what the
document lists (2xx are left to the rest of the suite and the fuzzer).

The requests run through the conftest's `client`, in the test's rolled-back
transaction, so nothing they do outlives the test.

The gaps we know of (openapi_gaps.KNOWN_UNDOCUMENTED, KNOWN_UNREACHABLE) must
stay exact: when the code is fixed the test fails until the entry is removed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from service.config import Settings
from service.db import make_engine, utcnow
from service.errors import BODY_METHODS
from service.idempotency.service import _lock_id
from service.main import create_app
from service.middleware import Admission
from tests.conftest import BACKEND, Actor, World, file_ticket, photo_bytes, upload_photo
from tests.reliability.openapi_gaps import (
    ACTIONS,
    KNOWN_UNDOCUMENTED,
    KNOWN_UNREACHABLE,
    POSTGRES_ONLY,
    openapi_document,
)

PROBLEM = "application/problem+json"
UPLOAD = "POST /v1/attachments"  # multipart/form-data, not JSON
IMPORT = "POST /v1/imports/{kind}"  # a spreadsheet, multipart/form-data too
IMPORT_URL = "/v1/imports/communities"
NOPE = 2**31 - 1  # an id that exists nowhere
DOCUMENT = openapi_document()
OPERATIONS: dict[str, dict[str, Any]] = {
    f"{method.upper()} {path}": operation
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
}


# --- the requests --------------------------------------------------------------------


@dataclass
class Scene:
    client: TestClient
    world: World
    engine: Engine
    settings: Settings

    def ticket(self, *, cancelled: bool = False) -> dict[str, Any]:
        """A ticket of the reporter's in community_a, assigned to company (or cancelled)."""
        w = self.world
        ticket = file_ticket(self.client, w.reporter, w.community_a)
        if cancelled:
            response = self.client.post(
                f"/v1/tickets/{ticket['id']}/cancel", headers=w.reporter.headers
            )
            assert response.status_code == 200, response.text
            ticket = response.json()
        return ticket

    def integration(self) -> dict[str, Any]:
        """tianshan's integration (Open311), with its key."""
        response = self.client.post(
            "/v1/integrations",
            json={"name": "12345 热线", "region_id": self.world.tianshan},
            headers=self.world.province_admin.headers,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def api_key_id(self) -> int:
        w = self.world
        response = self.client.post(
            f"/v1/organizations/{w.company}/api-keys",
            json={"name": "status probe"},
            headers=w.dispatcher.headers,
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def webhook_and_delivery(self) -> tuple[int, int]:
        """company's webhook, and its (pending) delivery of a new ticket's creation."""
        w = self.world
        hook = self.client.post(
            "/v1/webhooks",
            json={"url": "https://hooks.example.com/x"},
            headers=w.dispatcher.headers,
        )
        assert hook.status_code == 201, hook.text
        self.ticket()
        deliveries = self.client.get(
            f"/v1/webhooks/{hook.json()['id']}/deliveries", headers=w.dispatcher.headers
        )
        return hook.json()["id"], deliveries.json()["items"][0]["id"]

    def notification(self) -> int:
        """The reporter's newest notification: their new ticket was accepted."""
        w = self.world
        ticket = file_ticket(self.client, w.reporter, w.community_a)
        accepted = self.client.post(
            f"/v1/tickets/{ticket['id']}/accept", headers=w.technician.headers
        )
        assert accepted.status_code == 200, accepted.text
        inbox = self.client.get("/v1/me/notifications", headers=w.reporter.headers)
        return int(inbox.json()["items"][0]["id"])

    def photo(self) -> int:
        """A photo of the reporter's, linked to a new ticket of theirs."""
        w = self.world
        photo = upload_photo(self.client, w.reporter)
        file_ticket(self.client, w.reporter, w.community_a, attachment_ids=[photo["id"]])
        return int(photo["id"])

    def elder(self, *, erased: bool = False) -> int:
        """An elder of community_a with every sensitive field, the reporter its
        proxy (or erased)."""
        w = self.world
        elder = self.client.post(
            "/v1/elders",
            json={
                "community_id": w.community_a,
                "name": "阿依古丽",
                "phone": "13912340001",
                "consent": {"given_at": "2026-11-30T10:00:00+08:00", "by": "self"},
            },
            headers=w.grid_worker.headers,
        )
        assert elder.status_code == 201, elder.text
        elder_id = int(elder.json()["id"])
        linked = self.client.post(
            f"/v1/elders/{elder_id}/proxies",
            json={"phone": "13900000001"},
            headers=w.grid_worker.headers,
        )
        assert linked.status_code == 201, linked.text
        if erased:
            gone = self.client.delete(f"/v1/elders/{elder_id}", headers=w.grid_worker.headers)
            assert gone.status_code == 204, gone.text
        return elder_id

    def plan(self) -> int:
        """A care plan for a new elder of community_a, made by the grid worker."""
        w = self.world
        plan = self.client.post(
            "/v1/care-plans",
            json={
                "elder_id": self.elder(),
                "category": "elderly.meal",
                "rrule": "FREQ=DAILY",
                "time": "11:30",
                "duration_minutes": 30,
                "starts_on": "2026-12-07",
            },
            headers=w.grid_worker.headers,
        )
        assert plan.status_code == 201, plan.text
        return int(plan.json()["id"])

    def announcement(self) -> int:
        """company's announcement to community_a, shown now."""
        w = self.world
        response = self.client.post(
            "/v1/announcements",
            json=self.body("POST /v1/announcements"),
            headers=w.dispatcher.headers,
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def url(self, path: str, ticket: dict[str, Any] | None = None, **missing: Any) -> str:
        """`path` with real ids in scope of company and tianshan (or `missing` ones)."""
        w = self.world
        values: dict[str, Any] = {
            "community_id": w.community_a,
            "organization_id": w.company,
            "region_id": w.tianshan,
            "code": "repair.plumbing",
            "kind": "property",
            "policy_id": 1,
            "calendar_id": 2,
            "day": "2027-01-02",
            "format": "json",
            "service_code": "repair.plumbing",
        }
        if "{integration_id}" in path and "integration_id" not in missing:
            values["integration_id"] = self.integration()["id"]
        for name in ("service_request_id", "token"):  # Open311: a public request's id
            if f"{{{name}}}" in path and name not in missing:
                values[name] = (ticket or self.ticket())["id"]
        if "{ticket_id}" in path and "ticket_id" not in missing:
            values["ticket_id"] = (ticket or self.ticket())["id"]
        if "{attachment_id}" in path and "attachment_id" not in missing:
            values["attachment_id"] = self.photo()
        if "{notification_id}" in path and "notification_id" not in missing:
            values["notification_id"] = self.notification()
        if "{elder_id}" in path and "elder_id" not in missing:
            values["elder_id"] = self.elder()
        if "{plan_id}" in path and "plan_id" not in missing:
            values["plan_id"] = self.plan()
        if "{announcement_id}" in path and "announcement_id" not in missing:
            values["announcement_id"] = self.announcement()
        if path.startswith("/v1/imports/"):
            values["kind"] = "communities"
        if "{user_id}" in path:
            values["user_id"] = w.reporter.user_id  # the elder's proxy
        if "{staff_id}" in path:
            values["staff_id"] = w.technician.user_id
        if "{key_id}" in path and "key_id" not in missing:
            values["key_id"] = self.api_key_id()
        if "{webhook_id}" in path and not {"webhook_id", "delivery_id"} <= set(missing):
            values["webhook_id"], values["delivery_id"] = self.webhook_and_delivery()
        values.update(missing)
        return path.format(**values)

    def body(self, label: str) -> Any:
        """A body the operation accepts from an actor allowed to send it."""
        w = self.world
        action = label.rsplit("/", 1)[-1]
        bodies: dict[str, Any] = {
            "POST /v1/categories": {
                "code": "repair.status_probe",
                "kind": "property",
                "names": {"zh-Hans": "探测", "ug": "سىناق", "en": "Probe"},
            },
            "PATCH /v1/categories/{code}": {"sort_order": 7},
            "POST /v1/regions": {"name": "新市区", "level": "county", "parent_id": w.urumqi},
            "PATCH /v1/regions/{region_id}": {"timezone": "Asia/Urumqi"},
            "POST /v1/communities": {"name": "新建小区", "region_id": w.tianshan},
            "PATCH /v1/communities/{community_id}": {"address": "幸福路1号"},
            "PUT /v1/communities/{community_id}/providers/{kind}": {"organization_id": w.company},
            "POST /v1/organizations": {
                "name": "新物业公司",
                "kind": "property_company",
                "credit_code": "91650102MA77XKQ51D",  # company's: a 409 when repeated
                "region_id": w.tianshan,
            },
            "PATCH /v1/organizations/{organization_id}": {"contact_phone": "13900000099"},
            "POST /v1/organizations/{organization_id}/api-keys": {"name": "调度系统"},
            "POST /v1/integrations": {"name": "12345 热线", "region_id": w.tianshan},
            "PATCH /v1/organizations/{organization_id}/staff/{staff_id}": {"on_duty": True},
            "PUT /v1/organizations/{organization_id}/dispatch-modes": {
                "rules": [{"category": "repair", "mode": "round_robin"}]
            },
            "PUT /v1/me/on-duty": {"on_duty": True},
            "POST /v1/tickets": {
                "category": "repair.plumbing",
                "community_id": w.community_a,
                "description": "楼道灯不亮",
                "on_behalf_of": {"name": "阿依古丽", "phone": "13900000001"},
            },
            "POST /v1/tickets/{ticket_id}/comments": {"body": "已联系住户"},
            "POST /v1/tickets/{ticket_id}/follow-ups": {"method": "phone", "satisfied": True},
            "POST /v1/webhooks": {"url": "https://hooks.example.com/linli"},
            "PATCH /v1/tickets/{ticket_id}": {"priority": "low"},
            "POST /v1/sla-policies": {
                "name": "低优先级",
                "kind": "property",
                "priority": "low",
                "respond_minutes": 480,
                "calendar_id": 2,
            },
            "PATCH /v1/sla-policies/{policy_id}": {"respond_minutes": 20},
            "POST /v1/calendars": {
                "code": "night",
                "name": "夜班",
                "hours": {"mon": [["20:00", "24:00"]]},
            },
            "PATCH /v1/calendars/{calendar_id}": {"name": "工作日"},
            "PUT /v1/calendars/{calendar_id}/days/{day}": {"working": False},
            "PUT /v1/metrics/action": {"min_tickets": 31},
            "POST /v1/dashboard/links": {"from": "2026-01-01", "kind": "property"},
            "POST /v1/elders": {"community_id": w.community_a, "name": "买买提"},
            "PATCH /v1/elders/{elder_id}": {"care_level": 3},
            "POST /v1/elders/{elder_id}/proxies": {"phone": "13900000002"},
            "POST /v1/care-plans": {
                "elder_id": self.elder(),
                "category": "elderly.meal",
                "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "time": "11:30",
                "duration_minutes": 30,
                "starts_on": "2026-12-07",
            }
            if label == "POST /v1/care-plans"
            else None,
            "PATCH /v1/care-plans/{plan_id}": {"government_share_percent": 80},
            "POST /v1/announcements": {
                "community_ids": [w.community_a],
                "kind": "planned_outage",
                "title": "今日停水通知",
                "body": "因主管道维修，今日停水。",
                "starts_at": (utcnow() - dt.timedelta(hours=1)).isoformat(),
                "ends_at": (utcnow() + dt.timedelta(hours=5)).isoformat(),
            },
        }
        actions: dict[str, Any] = {
            "assign": {"organization_id": w.company},
            "hold": {"reason": "other"},
            "confirm": {"rating": 5},
            "reopen": {"reason": "又漏了"},
            "return": {"reason": "不归我们管"},
            "reject": {"reason": "重复"},
        }
        if label.startswith("POST /v1/tickets/{ticket_id}/") and action in ACTIONS:
            return actions.get(action, {})
        return bodies.get(label)

    def send(
        self,
        label: str,
        actor: Actor | None,
        *,
        url: str | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        method, path = label.split(" ", 1)
        all_headers = {**(actor.headers if actor else {}), **(headers or {})}
        if label == UPLOAD and content is None and body is None:
            files = {"file": ("photo.jpg", photo_bytes(), "image/jpeg")}
            return self.client.post(path, files=files, headers=all_headers)
        if label == IMPORT and content is None and body is None:
            csv = f"小区名称,所属区县\n探测小区,{self.world.tianshan}\n".encode()
            files = {"file": ("list.csv", csv, "text/csv")}
            return self.client.post(IMPORT_URL, files=files, headers=all_headers)
        if content is not None:
            return self.client.request(
                method, url or self.url(path), content=content, headers=all_headers
            )
        if body is None and method in BODY_METHODS:
            body = self.body(label)
        return self.client.request(method, url or self.url(path), json=body, headers=all_headers)


Provoker = Callable[[Scene, str], Response | None]


# --- Open311 (service/open311): no token, a key in a form, errors in the spec's form ---

OPEN311_POST = "POST /open311/v2/requests.{format}"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _is_open311(label: str) -> bool:
    return label.split(" ", 1)[1].startswith("/open311/")


def _open311_key(scene: Scene) -> str:
    return str(scene.integration()["key"])


def _open311_form(scene: Scene, **changes: Any) -> dict[str, Any]:
    form = {
        "api_key": _open311_key(scene),
        "service_code": "public.lighting",
        "address_id": scene.world.community_a,
        "description": "楼道灯不亮",
        "first_name": "阿依古丽",
        "phone": "13900000001",
    }
    return {k: v for k, v in {**form, **changes}.items() if v is not None}


def _open311_post(scene: Scene, form: dict[str, Any]) -> Response:
    return scene.client.post("/open311/v2/requests.json", data=form)


def open311_undecodable(scene: Scene, label: str) -> Response | None:
    if label != OPEN311_POST:
        return None
    return scene.client.post("/open311/v2/requests.json", content=b"api_key=%ff", headers=FORM)


def open311_no_key(scene: Scene, label: str) -> Response | None:
    return (
        _open311_post(scene, _open311_form(scene, api_key=None)) if label == OPEN311_POST else None
    )


def open311_unknown(scene: Scene, label: str) -> Response | None:
    path = label.split(" ", 1)[1]
    if label == OPEN311_POST:  # a community that does not exist
        return _open311_post(scene, _open311_form(scene, address_id=NOPE))
    if "{service_code}" in path:
        return scene.client.get(scene.url(path, service_code="no.such.service"))
    if "{service_request_id}" in path or "{token}" in path:
        return scene.client.get(scene.url(path, service_request_id=NOPE, token=NOPE))
    if any(p["name"] == "jurisdiction_id" for p in _parameters(label, "query")):
        return scene.client.get(scene.url(path), params={"jurisdiction_id": NOPE})
    return None


def open311_not_form(scene: Scene, label: str) -> Response | None:
    if label != OPEN311_POST:
        return None
    return scene.client.post("/open311/v2/requests.json", json={"api_key": "lk_x"})


def open311_invalid(scene: Scene, label: str) -> Response | None:
    if label == OPEN311_POST:
        return _open311_post(scene, _open311_form(scene, service_code=None))
    return scene.client.get(scene.url(label.split(" ", 1)[1], format="csv"))


def open311_too_many(scene: Scene, label: str) -> Response | None:
    if label != OPEN311_POST:
        return None
    settings = scene.client.app.state.settings
    quota = settings.tickets_per_hour_api_key
    settings.tickets_per_hour_api_key = 1
    try:
        form = _open311_form(scene)
        first = _open311_post(scene, form)
        assert first.status_code == 201, first.text
        response = _open311_post(scene, form)
    finally:
        settings.tickets_per_hour_api_key = quota
    assert int(response.headers["Retry-After"]) >= 1
    return response


def open311_oversized(scene: Scene, label: str) -> Response | None:
    return oversized_body(scene, label) if label == OPEN311_POST else None


def _has_body(label: str) -> bool:
    return "requestBody" in OPERATIONS[label]


def _parameters(label: str, where: str) -> list[dict[str, Any]]:
    return [p for p in OPERATIONS[label].get("parameters", []) if p["in"] == where]


def no_token(scene: Scene, label: str) -> Response | None:
    if label in ("GET /healthz", "GET /readyz"):
        return None
    if label == "GET /metrics":  # open unless LINLI_METRICS_TOKEN is set
        settings = scene.client.app.state.settings
        settings.metrics_token = "scrape-token-0123456789"
        try:
            return scene.send(label, None)
        finally:
            settings.metrics_token = None
    return scene.send(label, None)


def undecodable_body(scene: Scene, label: str) -> Response | None:
    if not _has_body(label):
        return None
    if label in (UPLOAD, IMPORT):  # multipart without the boundary that separates its parts
        return scene.send(
            label,
            scene.world.province_admin,
            content=b"--b\r\n\r\nx",
            headers={"Content-Type": "multipart/form-data"},
        )
    return scene.send(
        label,
        scene.world.province_admin,
        content=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )


def oversized_body(scene: Scene, label: str) -> Response | None:
    if not _has_body(label):
        return None
    if label == UPLOAD:  # a photo over LINLI_ATTACHMENT_MAX_BYTES
        big = b"\xff" * (scene.settings.attachment_max_bytes + 1)
        return scene.client.post(
            "/v1/attachments",
            files={"file": ("big.jpg", big, "image/jpeg")},
            headers=scene.world.province_admin.headers,
        )
    if label == IMPORT:  # a spreadsheet over the imports' limit
        from service.imports.router import MAX_FILE_BYTES

        big = b"a," * (MAX_FILE_BYTES // 2 + 1)
        return scene.client.post(
            IMPORT_URL,
            files={"file": ("big.csv", big, "text/csv")},
            headers=scene.world.province_admin.headers,
        )
    content = json.dumps({"name": "水" * scene.settings.max_body_bytes}).encode()
    return scene.send(
        label,
        scene.world.province_admin,
        content=content,
        headers={"Content-Type": "application/json"},
    )


def not_json(scene: Scene, label: str) -> Response | None:
    if not _has_body(label):
        return None
    return scene.send(
        label,
        scene.world.province_admin,
        content=b"name=probe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def invalid(scene: Scene, label: str) -> Response | None:
    """An unknown body field, an id of 0, a limit of 0, an over-long header."""
    admin = scene.world.province_admin
    path = label.split(" ", 1)[1]
    if label == UPLOAD:  # no `file` part
        return scene.client.post(
            "/v1/attachments", files={"photo": ("x.jpg", b"x", "image/jpeg")}, headers=admin.headers
        )
    if label == IMPORT:  # no `file` part
        return scene.client.post(
            IMPORT_URL, files={"sheet": ("x.csv", b"x", "text/csv")}, headers=admin.headers
        )
    if _has_body(label):
        return scene.send(label, admin, body={"unexpected": True})
    ids = [p["name"] for p in _parameters(label, "path") if p["schema"].get("type") == "integer"]
    if ids:
        return scene.send(label, admin, url=scene.url(path, **{ids[0]: 0}))
    if any(p["name"] == "limit" for p in _parameters(label, "query")):
        return scene.send(label, admin, url=f"{scene.url(path)}?limit=0")
    if _parameters(label, "header"):
        name = _parameters(label, "header")[0]["name"]
        return scene.send(label, admin, headers={name: "x" * 1000})
    return None


# Who may never do what (and with which body, where the body is what is refused).
FORBIDDEN: dict[str, tuple[str, Any]] = {
    **{
        label: ("reporter", None)  # reference data and categories: admins only
        for label in (
            "POST /v1/categories",
            "PATCH /v1/categories/{code}",
            "POST /v1/regions",
            "PATCH /v1/regions/{region_id}",
            "POST /v1/communities",
            "PATCH /v1/communities/{community_id}",
            "PUT /v1/communities/{community_id}/providers/{kind}",
            "POST /v1/organizations",
            "PATCH /v1/organizations/{organization_id}",
        )
    },
    # Imports: admins only.
    IMPORT: ("dispatcher", None),
    # API keys: the organisation's dispatchers and the admins above it.
    "POST /v1/organizations/{organization_id}/api-keys": ("technician", None),
    "GET /v1/organizations/{organization_id}/api-keys": ("technician", None),
    "DELETE /v1/organizations/{organization_id}/api-keys/{key_id}": ("technician", None),
    # Staff and dispatch modes: the same, though technicians read the modes; only
    # technicians go on duty.
    "GET /v1/organizations/{organization_id}/staff": ("technician", None),
    "PATCH /v1/organizations/{organization_id}/staff/{staff_id}": ("technician", None),
    "GET /v1/organizations/{organization_id}/dispatch-modes": ("reporter", None),
    "PUT /v1/organizations/{organization_id}/dispatch-modes": ("technician", None),
    "PUT /v1/me/on-duty": ("dispatcher", None),
    # Internal notes are written by staff and admins.
    "POST /v1/tickets/{ticket_id}/comments": ("reporter", {"body": "内部", "internal": True}),
    # A dispatcher assigns within their own organisation.
    "POST /v1/tickets/{ticket_id}/assign": ("dispatcher", "other_company"),
    # SLA policies and calendars: read by admins and providers, edited by
    # deployment-wide admins.
    **{
        label: ("reporter", None)
        for label in (
            "GET /v1/sla-policies",
            "GET /v1/sla-policies/{policy_id}",
            "POST /v1/sla-policies",
            "PATCH /v1/sla-policies/{policy_id}",
            "GET /v1/calendars",
            "GET /v1/calendars/{calendar_id}",
            "GET /v1/calendars/{calendar_id}/days",
            "POST /v1/calendars",
            "PATCH /v1/calendars/{calendar_id}",
            "PUT /v1/calendars/{calendar_id}/days/{day}",
            "DELETE /v1/calendars/{calendar_id}/days/{day}",
            "GET /v1/sla-escalations",
            "GET /v1/follow-ups/due",
        )
    },
    # Metrics are for admins and providers; the action's targets are the
    # province's; the dashboard is the housing department's.
    **{
        label: ("reporter", None)
        for label in (
            "GET /v1/metrics/summary",
            "GET /v1/metrics/rankings",
            "GET /v1/metrics/trend",
            "GET /v1/metrics/action",
        )
    },
    "PUT /v1/metrics/action": ("admin", None),
    # Integrations (Open311's keys) are registered and revoked by admins.
    **{
        label: ("reporter", None)
        for label in (
            "POST /v1/integrations",
            "GET /v1/integrations",
            "GET /v1/integrations/{integration_id}",
            "DELETE /v1/integrations/{integration_id}",
        )
    },
    "POST /v1/dashboard/links": ("dispatcher", None),
    # Announcements: posted by admins and providers' dispatchers; withdrawn by the
    # company that posted one (its technicians see it, and may not).
    "POST /v1/announcements": ("reporter", None),
    "DELETE /v1/announcements/{announcement_id}": ("technician", None),
    # Elders: registered and edited by admins, grid workers and dispatchers; erased
    # and given proxies by admins and grid workers; their access log is for admins
    # and the family.
    "POST /v1/elders": ("reporter", None),
    "PATCH /v1/elders/{elder_id}": ("reporter", None),
    "DELETE /v1/elders/{elder_id}": ("care_dispatcher", None),
    "GET /v1/elders/{elder_id}/access-log": ("grid_worker", None),
    "GET /v1/elders/{elder_id}/proxies": ("technician", None),
    "POST /v1/elders/{elder_id}/proxies": ("technician", None),
    "DELETE /v1/elders/{elder_id}/proxies/{user_id}": ("technician", None),
    # Care plans: made and changed by those who edit elders.
    "POST /v1/care-plans": ("reporter", None),
    "PATCH /v1/care-plans/{plan_id}": ("technician", None),
    # The feed is provider staff's; webhooks are managed by dispatchers.
    "GET /v1/feed": ("reporter", None),
    **{
        label: ("technician", None)
        for label in (
            "POST /v1/webhooks",
            "GET /v1/webhooks",
            "GET /v1/webhooks/{webhook_id}",
            "DELETE /v1/webhooks/{webhook_id}",
            "GET /v1/webhooks/{webhook_id}/deliveries",
            "GET /v1/webhooks/{webhook_id}/deliveries/{delivery_id}",
            "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        )
    },
}


def forbidden(scene: Scene, label: str) -> Response | None:
    if label not in FORBIDDEN:
        return None
    role, body = FORBIDDEN[label]
    if body == "other_company":
        body = {"organization_id": scene.world.other_company}
    return scene.send(label, scene.world.actors[role], body=body)


def unknown_id(scene: Scene, label: str) -> Response | None:
    admin = scene.world.province_admin
    path = label.split(" ", 1)[1]
    if label == "POST /v1/tickets":  # the community it is filed for
        return scene.send(label, admin, body={**scene.body(label), "community_id": NOPE})
    names = [p["name"] for p in _parameters(label, "path") if p["name"] not in ("kind", "day")]
    if path.startswith("/v1/metrics/") and not names and _parameters(label, "query"):
        return scene.send(label, admin, url=f"{path}?region_id={NOPE}")  # a filter's region
    if not names:
        return None
    missing = {"code": "no_such_category"} if names[-1] == "code" else {names[-1]: NOPE}
    if path.startswith("/v1/webhooks"):  # only dispatchers get as far as a lookup
        return scene.send(label, scene.world.dispatcher, url=scene.url(path, **missing))
    return scene.send(label, admin, url=scene.url(path, **missing))


def _idempotency_key_in_flight(scene: Scene, label: str) -> Response | None:
    """Another request with this key holds its lock (PostgreSQL; on SQLite it would wait)."""
    if BACKEND != "postgres":
        return None
    w = scene.world
    body = {k: v for k, v in scene.body(label).items() if k != "on_behalf_of"}
    lock_id = _lock_id(f"user:{w.reporter.user_id}", "in-flight")
    with scene.engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": lock_id})
        return scene.send(label, w.reporter, body=body, headers={"Idempotency-Key": "in-flight"})


def conflict(scene: Scene, label: str) -> Response | None:
    w = scene.world
    path = label.split(" ", 1)[1]
    if label == "POST /v1/categories":
        return scene.send(label, w.province_admin, body={**scene.body(label), "code": "repair"})
    if label == "POST /v1/organizations":  # company's credit code, again
        return scene.send(label, w.province_admin)
    if label == "PATCH /v1/organizations/{organization_id}":  # another's credit code
        return scene.send(label, w.province_admin, body={"credit_code": "91653101MA78A1B2CN"})
    if label == "PATCH /v1/communities/{community_id}":  # one with tickets keeps its county
        scene.ticket()
        return scene.send(label, w.province_admin, body={"region_id": w.shayibake})
    if label == "POST /v1/tickets":
        return _idempotency_key_in_flight(scene, label)
    action = path.rsplit("/", 1)[-1]
    if label.startswith("POST /v1/tickets/{ticket_id}/") and action in ACTIONS:
        # Nothing can be done to a cancelled ticket, by anyone.
        ticket = scene.ticket(cancelled=True)
        return scene.send(label, w.province_admin, url=scene.url(path, ticket))
    if label == "POST /v1/tickets/{ticket_id}/follow-ups":  # before it is resolved
        return scene.send(label, w.dispatcher)
    if label == "POST /v1/webhooks":  # one more than an organisation may register
        for _ in range(Settings().webhooks_per_organization):
            made = scene.send(label, w.dispatcher)
            if made.status_code != 201:
                return made
        return scene.send(label, w.dispatcher)
    if label.endswith("/redeliver"):  # still queued
        return scene.send(label, w.dispatcher)
    if label == "PATCH /v1/tickets/{ticket_id}":  # a cancelled ticket keeps its class
        ticket = scene.ticket(cancelled=True)
        return scene.send(label, w.province_admin, url=scene.url(path, ticket))
    if label == "POST /v1/sla-policies":  # the seeded emergency-repair policy's tickets
        body = {**scene.body(label), "priority": "emergency"}
        return scene.send(label, w.province_admin, body=body)
    if label == "PATCH /v1/sla-policies/{policy_id}":
        # Switched off, replaced, switched on again: two policies for the same tickets.
        off = scene.send(label, w.province_admin, body={"active": False})
        assert off.status_code == 200, off.text
        same = {"name": "替代", "kind": "property", "priority": "emergency", "respond_minutes": 9}
        replacement = scene.send(
            "POST /v1/sla-policies", w.province_admin, body={**same, "calendar_id": 1}
        )
        assert replacement.status_code == 201, replacement.text
        return scene.send(label, w.province_admin, body={"active": True})
    if label == "POST /v1/calendars":  # the seeded code
        return scene.send(label, w.province_admin, body={**scene.body(label), "code": "workdays"})
    return None


def stale_if_match(scene: Scene, label: str) -> Response | None:
    if not any(p["name"] == "If-Match" for p in _parameters(label, "header")):
        return None
    return scene.send(label, scene.world.province_admin, headers={"If-Match": '"0.0"'})


def not_modified(scene: Scene, label: str) -> Response | None:
    if not any(p["name"] == "If-None-Match" for p in _parameters(label, "header")):
        return None
    if label == "GET /v1/feed":  # nothing after the cursor the ETag names
        dispatcher = scene.world.dispatcher
        first = scene.client.get("/v1/feed", headers=dispatcher.headers)
        cursor = first.json()["next_cursor"]
        return scene.send(
            label,
            dispatcher,
            url=f"/v1/feed?cursor={cursor}",
            headers={"If-None-Match": first.headers["ETag"]},
        )
    ticket = scene.ticket()
    path = label.split(" ", 1)[1]
    reporter = scene.world.reporter
    first = scene.client.get(scene.url(path, ticket), headers=reporter.headers)
    return scene.send(
        label,
        reporter,
        url=scene.url(path, ticket),
        headers={"If-None-Match": first.headers["ETag"]},
    )


def gone(scene: Scene, label: str) -> Response | None:
    """A feed cursor past the window; an erased elder (its access log outlives it)."""
    if label == "GET /v1/feed":
        return cursor_expired(scene)
    path = label.split(" ", 1)[1]
    if "{elder_id}" not in path or path.endswith("/access-log"):
        return None
    url = scene.url(path, elder_id=scene.elder(erased=True))
    return scene.send(label, scene.world.grid_worker, url=url)


def cursor_expired(scene: Scene) -> Response:
    """A feed cursor from 45 days ago, and events after it that have left the window."""
    from service.db import clock_override
    from service.tickets.stream import FeedPosition, encode

    long_ago = utcnow() - dt.timedelta(days=45)
    with clock_override(lambda: long_ago):
        scene.ticket()
    cursor = encode(FeedPosition(0, 0, int(long_ago.timestamp())))
    return scene.send("GET /v1/feed", scene.world.dispatcher, url=f"/v1/feed?cursor={cursor}")


def unavailable(scene: Scene, label: str) -> Response | None:
    """/readyz: a database that is not ready; /healthz: never; the feed: never
    for load (openapi_gaps); every other operation: the instance at its limit of
    requests in flight (service.middleware.Admission), answered before routing."""
    if label == "GET /readyz":
        return database_not_ready(scene)
    if label in ("GET /healthz", "GET /v1/feed"):
        return None
    admission = scene.client.app.middleware_stack
    while not isinstance(admission, Admission):
        admission = admission.app
    method, path = label.split(" ", 1)
    admission.in_flight += admission.limit
    try:  # refused before routing: any ids will do
        response = scene.client.request(
            method, re.sub(r"\{[^}]+\}", "1", path), headers=scene.world.province_admin.headers
        )
    finally:
        admission.in_flight -= admission.limit
    assert response.headers["Retry-After"] == str(scene.settings.retry_after_seconds)
    assert response.headers["content-type"] == PROBLEM
    return response


def too_many(scene: Scene, label: str) -> Response | None:
    """The expensive reads (service.limits): the caller already has as many in
    progress as it may; comments: the author's hourly quota on the ticket;
    tickets and photos: the caller's hourly quota of new ones; urging again too
    soon."""
    if label == "POST /v1/tickets":
        settings = scene.client.app.state.settings
        quota = settings.tickets_per_hour
        settings.tickets_per_hour = 1
        try:
            scene.ticket()  # the reporter's one ticket this hour
            response = scene.send(
                label,
                scene.world.reporter,
                body={k: v for k, v in scene.body(label).items() if k != "on_behalf_of"},
            )
        finally:
            settings.tickets_per_hour = quota
        assert int(response.headers["Retry-After"]) >= 1
        return response
    if label == UPLOAD:  # the caller's hourly quota of photos
        settings = scene.client.app.state.settings
        quota = settings.uploads_per_hour
        settings.uploads_per_hour = 1
        try:
            first = scene.send(label, scene.world.reporter)
            assert first.status_code == 201, first.text
            response = scene.send(label, scene.world.reporter)
        finally:
            settings.uploads_per_hour = quota
        assert int(response.headers["Retry-After"]) >= 1
        return response
    if label == "POST /v1/tickets/{ticket_id}/urge":
        ticket = scene.ticket()
        url = f"/v1/tickets/{ticket['id']}/urge"
        first = scene.send(label, scene.world.reporter, url=url)
        assert first.status_code == 200, first.text
        response = scene.send(label, scene.world.reporter, url=url)
        assert int(response.headers["Retry-After"]) >= 1
        return response
    if label == "POST /v1/tickets/{ticket_id}/comments":
        ticket = scene.ticket()
        settings = scene.client.app.state.settings
        quota = settings.comments_per_hour
        settings.comments_per_hour = 0
        try:
            response = scene.send(
                label,
                scene.world.reporter,
                url=f"/v1/tickets/{ticket['id']}/comments",
                body={"body": "还是漏水"},
            )
        finally:
            settings.comments_per_hour = quota
        assert "Retry-After" in response.headers
        return response
    gate = scene.client.app.state.read_gate
    per_caller = gate.per_caller
    gate.per_caller = 0
    try:
        method, path = label.split(" ", 1)
        if not path.startswith("/v1/metrics/") or method != "GET" or path == "/v1/metrics/action":
            return None
        response = scene.client.request(
            method,
            path,
            params={"from": "2026-01-01", "to": "2026-04-01"},
            headers=scene.world.province_admin.headers,
        )
    finally:
        gate.per_caller = per_caller
    assert response.headers["Retry-After"] == str(scene.settings.retry_after_seconds)
    return response


def database_not_ready(scene: Scene) -> Response:
    with tempfile.TemporaryDirectory(prefix="linli-unready-") as directory:
        if BACKEND == "postgres":  # a database that does not exist
            url = make_url(scene.settings.database_url).set(database="linli_no_such_database")
            broken = url.render_as_string(hide_password=False)
        else:  # a database file nobody migrated
            broken = f"sqlite:///{Path(directory) / 'empty.db'}"
        settings = scene.settings.model_copy(update={"database_url": broken})
        engine = make_engine(settings)
        try:
            with TestClient(create_app(settings, engine)) as unready:
                return unready.get("/readyz")
        finally:
            engine.dispose()


PROVOKERS: dict[int, Provoker] = {
    304: not_modified,
    400: undecodable_body,
    401: no_token,
    403: forbidden,
    404: unknown_id,
    409: conflict,
    412: stale_if_match,
    413: oversized_body,
    410: gone,
    415: not_json,
    422: invalid,
    429: too_many,
    503: unavailable,
}


OPEN311_PROVOKERS: dict[int, Provoker] = {
    400: open311_undecodable,
    403: open311_no_key,
    404: open311_unknown,
    413: open311_oversized,  # the request guard's, before routing: problem+json
    415: open311_not_form,
    422: open311_invalid,
    429: open311_too_many,
    503: lambda scene, label: unavailable(scene, label),  # before routing too
}
# Answered before routing, as every route's: problem+json, not Open311's list.
BEFORE_ROUTING = {413, 503}


@pytest.fixture
def scene(client: TestClient, world: World, engine: Engine, settings: Settings) -> Scene:
    return Scene(client, world, engine, settings)


def test_every_documented_error_status_has_a_provoker() -> None:
    documented = {
        int(status)
        for label, operation in OPERATIONS.items()
        for status in operation["responses"]
        if int(status) >= 300 and not _is_open311(label)
    }
    assert documented <= set(PROVOKERS)
    open311 = {
        int(status)
        for label, operation in OPERATIONS.items()
        for status in operation["responses"]
        if int(status) >= 300 and _is_open311(label)
    }
    assert open311 <= set(OPEN311_PROVOKERS)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_documented_error_statuses_are_exactly_the_reachable_ones(scene: Scene, label: str) -> None:
    reachable: set[int] = set()
    open311 = _is_open311(label)
    for status, provoke in (OPEN311_PROVOKERS if open311 else PROVOKERS).items():
        response = provoke(scene, label)
        if response is None:
            continue
        assert response.status_code == status, (provoke.__name__, response.text)
        if open311 and status not in BEFORE_ROUTING:
            assert response.headers["content-type"] == "application/json", response.headers
            assert response.json()[0]["code"] == status, response.text
        elif status not in (304, 503):
            assert response.headers["content-type"] == PROBLEM, response.headers
        reachable.add(status)
    if BACKEND != "postgres":
        reachable |= {status for (known, status) in POSTGRES_ONLY if known == label}
    documented = {int(s) for s in OPERATIONS[label]["responses"] if int(s) >= 300}
    assert documented - reachable == {
        status for (known, status) in KNOWN_UNREACHABLE if known == label
    }, "documented, but nothing produces it"
    assert reachable - documented == {
        status for (known, status) in KNOWN_UNDOCUMENTED if known == label
    }, "produced, but not documented"
