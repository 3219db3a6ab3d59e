"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("linli")


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    status = 500
    title = "Internal Server Error"
    slug = "internal"

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors

    def problem(self) -> Problem:
        return Problem(
            type=f"https://linli.example/problems/{self.slug}",
            title=self.title,
            status=self.status,
            detail=self.detail,
            errors=self.errors,
        )


class BadRequest(AppError):
    status, title, slug = 400, "Bad Request", "bad-request"


class Unauthorized(AppError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(AppError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(AppError):
    status, title, slug = 404, "Not Found", "not-found"


class Conflict(AppError):
    status, title, slug = 409, "Conflict", "conflict"


class InvalidTransition(Conflict):
    title, slug = "Action not allowed", "invalid-transition"


class StaleWrite(Conflict):
    title, slug = "Concurrent update", "concurrent-update"


class IdempotencyInProgress(Conflict):
    title, slug = "Request with this Idempotency-Key is in progress", "idempotency-in-progress"


class PreconditionFailed(AppError):
    status, title, slug = 412, "Precondition Failed", "precondition-failed"


class PayloadTooLarge(AppError):
    status, title, slug = 413, "Payload Too Large", "payload-too-large"


class UnsupportedMediaType(AppError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-media-type"


class Unprocessable(AppError):
    status, title, slug = 422, "Unprocessable Content", "unprocessable"


class IdempotencyKeyReused(Unprocessable):
    title, slug = "Idempotency-Key reused with another request", "idempotency-key-reused"


class ServiceUnavailable(AppError):
    """Overloaded for a moment: retry after `retry_after` seconds. Nothing was done."""

    status, title, slug = 503, "Service Unavailable", "overloaded"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyRequests(ServiceUnavailable):
    """This caller already has as many of these requests in progress as it may:
    retry after `retry_after` seconds. Nothing was done."""

    status, title, slug = 429, "Too Many Requests", "too-many-requests"


# What a request answers when it could not get a database connection in time
# (sqlalchemy.exc.TimeoutError from the pool): nothing was done, retry shortly.
POOL_EXHAUSTED = "The service is busy; nothing was done. Retry after the Retry-After seconds."


class ClientGone(Exception):
    """The client disconnected before the request's transaction began."""


# nginx's "client closed request": nobody reads it, but the access log shows why.
CLIENT_CLOSED_REQUEST = 499


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", ""))
    if error.get("type") == "missing" or "input" not in error:
        return message
    value = error["input"]
    if value is None:
        # A field that may be left out but not emptied (service.validation.omittable).
        return "cannot be null"
    if error.get("loc", ("",))[0] == "query" and isinstance(value, str):
        # One value of a list filter (status=assigned,bogus): say which.
        return f"{value!r}: {message}"
    return message


def _error_field(loc: tuple[Any, ...]) -> str:
    if loc[:1] == ("query",):
        # A query parameter's name, not the position of a value in its list.
        loc = tuple(part for part in loc if not isinstance(part, int))
    return _field_path(loc)


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        FieldError(field=_error_field(tuple(e.get("loc", ()))), message=_message(e))
        for e in exc.errors()
    ]
    return Problem(
        type="https://linli.example/problems/validation",
        title="Validation failed",
        status=422,
        detail="The request did not pass validation; see errors.",
        errors=errors,
    )


def install_error_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, ServiceUnavailable):
            headers = exc.headers()
        return problem_response(exc.problem(), headers)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, _exc: PoolTimeout) -> JSONResponse:
        settings = request.app.state.settings
        error = ServiceUnavailable(POOL_EXHAUSTED, retry_after=settings.retry_after_seconds)
        return problem_response(error.problem(), error.headers())

    @app.exception_handler(ClientGone)
    async def _client_gone(_request: Request, _exc: ClientGone) -> JSONResponse:
        return JSONResponse(None, status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        from http import HTTPStatus

        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        return problem_response(
            Problem(title=title, status=exc.status_code, detail=detail), headers or None
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(Problem(title="Internal Server Error", status=500))

    _document_problems(app)


def allowed_methods(app: FastAPI, scope: Any) -> list[str]:
    """Every method some route answers on the request's path.

    Starlette's 405 names only the methods of the first route whose path
    matched; a path served by several routes (GET and POST /v1/tickets are two)
    would send a client an Allow header that hides the others (RFC 9110 15.5.6
    asks for all of them)."""
    from fastapi.routing import iter_route_contexts  # through included routers
    from starlette.routing import Match

    methods: set[str] = set()
    for route in iter_route_contexts(app.router.routes):
        if route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= set(route.methods)
    return sorted(methods)


def _documented(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


def responses(*errors: type[AppError], validation: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the errors a route can answer.

    Every route takes a token (401). 422 is listed unless `validation=False`: a
    route without parameters or body cannot fail validation."""
    out: dict[int | str, dict[str, Any]] = {}
    listed: tuple[type[AppError], ...] = (Unauthorized, *errors)
    for error in listed:
        out[error.status] = _documented(error.title)
    if validation:
        out[422] = _documented("Validation failed")
    return out


# The request guard (service.middleware) and body parsing answer these to any
# POST, PUT or PATCH before a route runs; they are documented on every such operation.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
BODY_ERRORS: dict[int, str] = {
    BadRequest.status: f"{BadRequest.title}: the body cannot be decoded",
    PayloadTooLarge.status: f"{PayloadTooLarge.title}: over LINLI_MAX_BODY_BYTES",
    UnsupportedMediaType.status: f"{UnsupportedMediaType.title}: the body is not JSON",
}
_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
# Answered whatever the load (service.middleware.Admission): a load balancer
# that saw 503 from liveness would take the instance out and pile its load onto
# the others.
ALWAYS_ANSWERED = frozenset({"/healthz"})
# Any operation, when the instance sheds load (service.middleware.Admission) or
# runs out of database connections.
_OVERLOADED = {
    "description": "Service Unavailable: overloaded; nothing was done, retry after Retry-After",
    "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
}


def _document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers send.

    FastAPI files a `responses=` model under the route's own media type
    (application/json); errors are sent as application/problem+json, so the
    Problem schema moves there. Operations that take a body also list BODY_ERRORS.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        for path, path_item in document.get("paths", {}).items():
            for method, operation in path_item.items():
                answers = operation.setdefault("responses", {})
                for answer in answers.values():
                    content = answer.get("content", {})
                    if PROBLEM_JSON in content:
                        content.pop("application/json", None)
                        content[PROBLEM_JSON] = {"schema": _PROBLEM_SCHEMA}
                if path not in ALWAYS_ANSWERED:
                    answers.setdefault(str(ServiceUnavailable.status), _OVERLOADED)
                if method.upper() in BODY_METHODS:
                    for status, description in BODY_ERRORS.items():
                        answers.setdefault(
                            str(status),
                            {
                                "description": description,
                                "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
                            },
                        )
        return document

    app.openapi = openapi  # type: ignore[method-assign]
