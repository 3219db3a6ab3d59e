"""The API description a front-end developer generates a client from.

`install(app)` completes the document FastAPI builds: the bearer scheme on every
operation that takes a token, the response headers, an example of every request
body, and required lists that say the same to every generator. The app hands
FastAPI `operation_id` for the operationIds and SWAGGER_UI for /docs.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from service.apidoc.examples import media_examples
from service.apidoc.headers import document_headers
from service.apidoc.operation_ids import operation_id
from service.auth import get_principal

__all__ = ["SWAGGER_UI", "install", "operation_id"]

SWAGGER_UI = {
    # No badge that sends the document to the online validator.
    "validatorUrl": None,
    # The token pasted into "Authorize" survives a reload of the page.
    "persistAuthorization": True,
    # The names generated clients give the calls.
    "displayOperationId": True,
}

BEARER = "bearer"
METRICS_TOKEN = "metricsToken"
SECURITY_SCHEMES = {
    METRICS_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "GET /metrics only, and only when LINLI_METRICS_TOKEN is set: that token.",
    },
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT or lk_ API key",
        "description": "A JWT of the deployment's identity gateway (claims `sub`, `role`, "
        "`name` and the role's scope: `community_id`, `organization_id` + `org_role`, or "
        "`region_id`), or an organisation's API key (`lk_...`), which acts as a dispatcher "
        "of that organisation. Development tokens: `python -m service token --role ...`.",
    },
}
# The schema every ticket representation has; its answers carry the ticket's ETag.
TICKET_SCHEMA = "TicketRead"
NEXT_CURSOR = (
    "Send it back as `cursor` for the next page; null on the last page. Opaque: "
    "neither parse nor build one."
)
# What the parameters shared by many operations mean, where a route says nothing.
PARAMETERS: dict[tuple[str, str], str] = {
    ("query", "cursor"): "`next_cursor` of the previous page; leave it out for the first page.",
    ("query", "limit"): "At most this many items in the page.",
    ("header", "If-Match"): "The `ETag` of the ticket as you last read it: if the ticket "
    "changed since, nothing is done and the answer is 412.",
    ("header", "If-None-Match"): "The `ETag` you hold: 304 without a body while it is current.",
    ("header", "Accept-Language"): "`zh-Hans` (the default), `ug` or `en`.",
}


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        _declare_bearer(app, document)
        document_headers(document, TICKET_SCHEMA)
        _add_examples(document)
        _describe_parameters(document)
        _no_default_outside_required(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _takes_a_token(dependant: Dependant) -> bool:
    return any(d.call is get_principal or _takes_a_token(d) for d in dependant.dependencies)


def _declare_bearer(app: FastAPI, document: dict[str, Any]) -> None:
    """Mark each operation that resolves the caller (service.auth.get_principal,
    directly or through a role dependency) with the bearer scheme: Swagger UI's
    Authorize button then sends the token, and clients know which calls need one.
    Done here rather than with a fastapi.security dependency in get_principal,
    which would cost every request one more dependency to resolve."""
    paths = document.get("paths", {})
    # The routes of included routers as FastAPI's own document generator sees them.
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if not (getattr(route, "include_in_schema", False) and isinstance(dependant, Dependant)):
            continue
        if not _takes_a_token(dependant):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["security"] = [{BEARER: []}]
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES


def _add_examples(document: dict[str, Any]) -> None:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            content = operation.get("requestBody", {}).get("content", {})
            examples = media_examples(operation.get("operationId", ""))
            if "application/json" in content and examples:
                content["application/json"]["examples"] = examples


def _describe_parameters(document: dict[str, Any]) -> None:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", ()):
                description = PARAMETERS.get((parameter["in"], parameter["name"]))
                if description is not None:
                    parameter.setdefault("description", description)
    # Every page's cursor means the same; a model may say more (TicketPage, FeedPage).
    for schema in document.get("components", {}).get("schemas", {}).values():
        cursor = schema.get("properties", {}).get("next_cursor")
        if cursor is not None:
            cursor.setdefault("description", NEXT_CURSOR)


def _no_default_outside_required(document: dict[str, Any]) -> None:
    """A property that may be left out has no `default` in the document; a default
    other than null is said in its description instead.

    openapi-typescript (7.x, `defaultNonNullable` on by default) types a property
    with a `default` as always present unless it sits inline in a request body;
    request models are components, so every optional field of a request body came
    out required (`channel`, and every `x: ... = None`). Response models list
    every field they always send as required (service.validation.ReadModel), so
    the required lists alone say what a client may leave out or must expect,
    whatever the generator's options.
    """
    for schema in document.get("components", {}).get("schemas", {}).values():
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            if name in required or "default" not in prop:
                continue
            default = prop.pop("default")
            if default is None or default == []:
                continue  # left out means none
            shown = default if isinstance(default, str) else json.dumps(default)
            note = f"Default: `{shown}`."
            prop["description"] = f"{prop['description']} {note}" if "description" in prop else note
