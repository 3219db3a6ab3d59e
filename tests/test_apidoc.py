"""The API description a front end generates its client from: /docs served from
this server, stable operationIds, the bearer scheme, response headers, request
examples, and required lists that every generator reads the same way.
(tests/typescript and `make typescript` generate the TypeScript client itself.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import TypeAdapter
from sqlalchemy import create_engine

from service.__main__ import main
from service.config import Settings
from service.main import create_app
from service.middleware import Admission
from tests.conftest import TEST_SECRET, World

APP = create_app(
    Settings(database_url="sqlite://", jwt_secret=TEST_SECRET), create_engine("sqlite://")
)
DOCUMENT = APP.openapi()
OPERATIONS: dict[str, dict[str, Any]] = {
    f"{method.upper()} {path}": operation
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
}
SCHEMAS: dict[str, dict[str, Any]] = DOCUMENT["components"]["schemas"]
# Open311 (service/open311) takes no token: its GETs are public, its POST sends
# an integration's key in the form, as the GeoReport spec has it.
OPEN311 = {label for label in OPERATIONS if label.split(" ", 1)[1].startswith("/open311/")}
PUBLIC = {"GET /healthz", "GET /readyz"} | OPEN311
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- /docs and /redoc ---------------------------------------------------------------

ASSET_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
    ".json": {"application/json"},
}


@pytest.fixture(scope="module")
def docs() -> Iterator[TestClient]:
    """The app without a database: the pages and the document need none."""
    with TestClient(APP, raise_server_exceptions=False) as client:
        yield client


def _page_urls(html: str) -> list[str]:
    """Every URL a page loads: src/href attributes, Swagger UI's `url` and ReDoc's spec-url."""
    return re.findall(r'(?:src|href|spec-url)="([^"]+)"', html) + re.findall(
        r"""\burl['"]?\s*:\s*['"]([^'"]+)['"]""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_pages_load_everything_from_this_server(docs: TestClient, page: str) -> None:
    html = docs.get(page)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html.text), html.text
    urls = _page_urls(html.text)
    assert {".js", ".json"} <= {Path(urlparse(url).path).suffix for url in urls}, urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        answer = docs.get(url)
        assert answer.status_code == 200, url
        want = ASSET_TYPES[Path(urlparse(url).path).suffix]
        assert answer.headers["content-type"].split(";")[0] in want, (url, answer.headers)
        if url.endswith(".css"):  # what the style sheet loads in turn: inline only
            assert all(
                ref.strip("'\" ").startswith("data:")
                for ref in re.findall(r"url\(([^)]*)\)", answer.text)
            )


def test_swagger_ui_keeps_the_token_and_asks_no_validator(docs: TestClient) -> None:
    html = docs.get("/docs").text
    assert '"validatorUrl": null' in html and '"persistAuthorization": true' in html


def test_api_pages_behind_a_path_prefix_point_under_it() -> None:
    prefixed = TestClient(APP, root_path="/linli")
    for page in ("/docs", "/redoc"):
        urls = _page_urls(prefixed.get(page).text)
        assert urls and all(url.startswith("/linli/") for url in urls), urls


# --- operationIds --------------------------------------------------------------------

CAMEL_CASE = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)*$")


def test_operation_ids_are_camel_case_and_unique() -> None:
    ids = [operation["operationId"] for operation in OPERATIONS.values()]
    assert [i for i in ids if not CAMEL_CASE.match(i)] == []
    assert sorted(i for i in ids if ids.count(i) > 1) == []
    # Nor do FastAPI's path-and-method ids leak into schema names (Body_..., Response_...).
    assert [name for name in SCHEMAS if "_v1_" in name or name.endswith(("_get", "_post"))] == []


@pytest.mark.parametrize(
    ("label", "operation_id"),
    [
        ("POST /v1/tickets", "createTicket"),
        ("GET /v1/tickets", "listTickets"),
        ("GET /v1/tickets/{ticket_id}", "getTicket"),
        ("PATCH /v1/tickets/{ticket_id}", "reclassifyTicket"),
        ("POST /v1/tickets/{ticket_id}/assign", "assignTicket"),
        ("POST /v1/tickets/{ticket_id}/return", "returnTicket"),
        ("POST /v1/tickets/{ticket_id}/comments", "addTicketComment"),
        ("GET /v1/feed", "getFeed"),
        ("GET /v1/metrics/summary", "getMetricsSummary"),
        ("PUT /v1/communities/{community_id}/providers/{kind}", "assignCommunityProvider"),
        ("GET /v1/me", "getMe"),
        ("GET /healthz", "getHealth"),
        ("GET /readyz", "getReadiness"),
        ("GET /metrics", "getPrometheusMetrics"),
    ],
)
def test_operation_ids_are_the_stable_names(label: str, operation_id: str) -> None:
    assert OPERATIONS[label]["operationId"] == operation_id


# --- authentication ------------------------------------------------------------------


def test_the_bearer_scheme_is_declared() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "lk_" in scheme["bearerFormat"]


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_that_takes_a_token_says_so(label: str) -> None:
    operation = OPERATIONS[label]
    if label in PUBLIC:
        assert "security" not in operation
    elif label == "GET /metrics":  # LINLI_METRICS_TOKEN when it is set, no user's token
        assert operation["security"] == [{"metricsToken": []}, {}]
    else:
        assert operation.get("security") == [{"bearer": []}]
    # Each operation that says it needs a token lists 401, which
    # tests/reliability/test_documented_statuses.py gets from it without one.
    assert ("security" in operation) == ("401" in operation["responses"])


def test_public_operations_answer_without_a_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


# --- request bodies --------------------------------------------------------------------

BODIES = sorted(label for label, operation in OPERATIONS.items() if "requestBody" in operation)
# Fields a person writes: an example of them is in Chinese, as residents and staff write.
FREE_TEXT = {"description", "title", "body", "reason", "note", "comment", "name"}


def _body_type(label: str) -> Any:
    method, path = label.split(" ", 1)
    for route in iter_route_contexts(APP.routes):
        if route.path_format == path and method in (route.methods or ()):
            assert route.body_field is not None
            return route.body_field.field_info.annotation
    raise AssertionError(label)


def _free_text(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _free_text(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _free_text(item, key)
    elif isinstance(value, str) and key in FREE_TEXT and not re.fullmatch(r"[a-z_.]+", value):
        yield value  # prose, not a code such as hold's reason `awaiting_parts`


def test_there_are_request_bodies() -> None:
    assert len(BODIES) > 30


# Uploads are multipart/form-data: a file, not a JSON example (test below).
UPLOADS = sorted(
    label
    for label in BODIES
    if "multipart/form-data" in OPERATIONS[label]["requestBody"]["content"]
)
# Open311's POST is form-encoded, as the spec's clients send it (test below).
FORMS = sorted(
    label
    for label in BODIES
    if "application/x-www-form-urlencoded" in OPERATIONS[label]["requestBody"]["content"]
)
JSON_BODIES = sorted(set(BODIES) - set(UPLOADS) - set(FORMS))


def test_forms_have_examples_of_their_own_fields() -> None:
    assert FORMS == ["POST /open311/v2/requests.{format}"]
    content = OPERATIONS[FORMS[0]]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    fields = content["schema"]["properties"]
    for name, example in content["examples"].items():
        assert example["summary"], name
        assert set(content["schema"]["required"]) <= set(example["value"]) <= set(fields)
        assert CJK.search(example["value"]["description"])


@pytest.mark.parametrize("label", ["POST /v1/attachments", "POST /v1/imports/{kind}"])
def test_uploads_name_their_file_part(label: str) -> None:
    assert UPLOADS == ["POST /v1/attachments", "POST /v1/imports/{kind}"]
    content = OPERATIONS[label]["requestBody"]["content"]
    ref = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = DOCUMENT["components"]["schemas"][ref]
    assert schema["required"] == ["file"]
    assert schema["properties"]["file"].get("format") == "binary" or schema["properties"][
        "file"
    ].get("contentMediaType")


@pytest.mark.parametrize("label", JSON_BODIES)
def test_every_request_body_has_examples_that_the_api_accepts(label: str) -> None:
    examples = OPERATIONS[label]["requestBody"]["content"]["application/json"].get("examples")
    assert examples, f"{label}: no example (service/apidoc/examples.py)"
    body = TypeAdapter(_body_type(label))
    for name, example in examples.items():
        assert example["summary"], name
        body.validate_json(json.dumps(example["value"]))  # raises when the body refuses it
        for text in _free_text(example["value"]):
            assert CJK.search(text), f"{label} {name}: {text!r} is not in Chinese"


# --- required lists --------------------------------------------------------------------

# Response models that leave fields out, and why. Every other response schema
# lists each of its fields as required (service.validation.ReadModel).
PARTIAL = {
    "Attribute": "values is sent for singlevaluelist attributes only, as GeoReport v2 has it",
    "Problem": "detail and errors are left out when empty",
    "Readiness": "revision, current, head and detail depend on the state",
    "TicketPage": "feed_cursor is sent to provider staff only",
}


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"].rsplit("/", 1)[-1]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _reached(start: Any) -> set[str]:
    seen: set[str] = set()
    todo = list(_refs(start))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(SCHEMAS[name]))
    return seen


RESPONSE_SCHEMAS = _reached([operation["responses"] for operation in OPERATIONS.values()])
REQUEST_SCHEMAS = _reached([operation.get("requestBody") for operation in OPERATIONS.values()])


def test_a_ticket_needs_only_what_the_contract_requires() -> None:
    ticket = SCHEMAS["TicketCreate"]
    assert set(ticket["required"]) == {"category", "community_id", "description"}
    assert "default" not in ticket["properties"]["channel"]
    assert "`app`" in ticket["properties"]["channel"]["description"]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_field_that_may_be_left_out_has_no_default(name: str) -> None:
    """openapi-typescript types a field with a `default` as always present; only
    the required list may say that."""
    schema = SCHEMAS[name]
    required = set(schema.get("required", ()))
    defaulted = {k for k, v in schema.get("properties", {}).items() if "default" in v}
    assert defaulted <= required


@pytest.mark.parametrize("name", sorted(RESPONSE_SCHEMAS))
def test_a_response_schema_requires_what_is_always_sent(name: str) -> None:
    schema = SCHEMAS[name]
    optional = set(schema.get("properties", {})) - set(schema.get("required", ()))
    if name in PARTIAL:
        assert optional, f"{name} is complete now: drop it from PARTIAL"
    else:
        assert optional == set(), f"{name}: make it a ReadModel, or say why in PARTIAL"


def test_a_model_in_both_directions_is_split_where_they_differ() -> None:
    # The ranking weights: optional when sent (the rest keep their defaults), always
    # there when read.
    assert "RankingWeights-Input" in REQUEST_SCHEMAS
    assert "RankingWeights-Output" in RESPONSE_SCHEMAS
    assert not SCHEMAS["RankingWeights-Input"].get("required")
    output = SCHEMAS["RankingWeights-Output"]
    assert set(output["required"]) == set(output["properties"])


def test_fields_a_front_end_must_understand_are_described() -> None:
    status = SCHEMAS["Status"]["description"]
    assert all(f"`{value}`" in status for value in SCHEMAS["Status"]["enum"])
    sla = SCHEMAS["SlaRead"]
    assert sla.get("description")
    assert [k for k, v in sla["properties"].items() if not v.get("description")] == []
    for schema, field in (
        ("TicketRead", "number"),
        ("TicketRead", "version"),
        ("TicketPage", "next_cursor"),
        ("TicketPage", "feed_cursor"),
        ("FeedPage", "next_cursor"),
        ("FeedPage", "has_more"),
    ):
        assert SCHEMAS[schema]["properties"][field].get("description"), (schema, field)
    for operation in OPERATIONS.values():
        for parameter in operation.get("parameters", ()):
            if parameter["name"] in ("cursor", "If-Match", "If-None-Match"):
                assert parameter.get("description"), (operation["operationId"], parameter)


def test_the_cli_prints_the_served_document(tmp_path: Path, client: TestClient) -> None:
    target = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == client.get("/openapi.json").json()


# --- response headers ------------------------------------------------------------------

# Headers a client reads (not the framework's content-type, date, length ...).
WATCHED = {
    "etag",
    "cache-control",
    "location",
    "idempotent-replayed",
    "x-poll-interval",
    "retry-after",
    "content-language",
    "vary",
    "content-disposition",
    "www-authenticate",
}


def _label(operation_id: str) -> str:
    return next(k for k, v in OPERATIONS.items() if v["operationId"] == operation_id)


def assert_headers_documented(operation_id: str, response: Response) -> None:
    """The watched headers the response carries are the documented ones: none sent
    undocumented, none documented as always sent missing."""
    label = _label(operation_id)
    answers = OPERATIONS[label]["responses"]
    assert str(response.status_code) in answers, (label, response.status_code, response.text)
    answer = answers[str(response.status_code)]
    documented = {k.lower(): v for k, v in answer.get("headers", {}).items()}
    sent = {k.lower() for k in response.headers} & WATCHED
    where = f"{label} {response.status_code}"
    assert sent - documented.keys() == set(), f"{where}: sent, not documented"
    always = {k for k, v in documented.items() if v.get("required")}
    assert always - sent == set(), f"{where}: documented as always sent, missing"


def test_documented_headers_are_the_ones_sent(client: TestClient, world: World) -> None:
    reporter, dispatcher, admin = world.reporter, world.dispatcher, world.province_admin
    body = {"category": "repair.plumbing", "community_id": world.community_a, "description": "漏水"}
    key = {"Idempotency-Key": "headers-1"}

    created = client.post("/v1/tickets", json=body, headers=reporter.headers | key)
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers
    assert created.headers["Location"] == f"/v1/tickets/{created.json()['id']}"
    assert_headers_documented("createTicket", created)
    replayed = client.post("/v1/tickets", json=body, headers=reporter.headers | key)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert_headers_documented("createTicket", replayed)

    url = created.headers["Location"]
    read = client.get(url, headers=reporter.headers)
    assert_headers_documented("getTicket", read)
    same = client.get(url, headers=reporter.headers | {"If-None-Match": read.headers["ETag"]})
    assert same.status_code == 304
    assert_headers_documented("getTicket", same)
    accepted = client.post(f"{url}/accept", headers=dispatcher.headers)
    assert accepted.status_code == 200, accepted.text
    assert_headers_documented("acceptTicket", accepted)
    urgent = client.patch(url, json={"priority": "low"}, headers=admin.headers)
    assert urgent.status_code == 200, urgent.text
    assert_headers_documented("reclassifyTicket", urgent)

    feed = client.get("/v1/feed", headers=dispatcher.headers)
    assert_headers_documented("getFeed", feed)
    caught_up = client.get(
        f"/v1/feed?cursor={feed.json()['next_cursor']}",
        headers=dispatcher.headers | {"If-None-Match": feed.headers["ETag"]},
    )
    assert caught_up.status_code == 304
    assert_headers_documented("getFeed", caught_up)

    assert_headers_documented("listCategories", client.get("/v1/categories", headers=admin.headers))
    for query in ("", "?format=csv", "?format=xlsx"):
        summary = client.get(f"/v1/metrics/summary{query}", headers=admin.headers)
        assert summary.status_code == 200, summary.text
        assert_headers_documented("getMetricsSummary", summary)
    assert_headers_documented("listTickets", client.get("/v1/tickets"))  # 401
    # Every list a province admin reads: nothing sent beyond what is documented.
    for label, operation in OPERATIONS.items():
        if label.startswith("GET /v1/") and "{" not in label:
            answer = client.get(label.split(" ", 1)[1], headers=admin.headers)
            assert_headers_documented(operation["operationId"], answer)


def test_retry_after_is_documented_where_load_is_shed(client: TestClient, world: World) -> None:
    admission = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(admission, Admission):
        admission = admission.app
    admission.in_flight += admission.limit
    try:
        shed = client.get("/v1/tickets", headers=world.reporter.headers)
    finally:
        admission.in_flight -= admission.limit
    assert shed.status_code == 503
    assert_headers_documented("listTickets", shed)


@pytest.mark.parametrize(
    "env, public, served",
    [("dev", None, True), ("prod", None, False), ("prod", True, True), ("dev", False, False)],
)
def test_the_api_description_is_public_in_production_only_by_choice(
    settings, engine, env, public, served
) -> None:
    chosen = settings.model_copy(update={"env": env, "public_docs": public})
    with TestClient(create_app(chosen, engine)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (client.get(path).status_code == 200) is served, path
