"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.i18n import Rejected, negotiate, text

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("linli")


class FieldError(BaseModel):
    field: str
    code: str
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    code: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class Invalid:
    """One field's error as a raise site names it: the field, a catalogue code and
    its parameters. Rendered in the caller's language with the problem."""

    def __init__(self, field: str, code: str, /, **params: Any) -> None:
        self.field, self.code, self.params = field, code, params

    def render(self, language: str) -> FieldError:
        return FieldError(
            field=self.field, code=self.code, message=text(self.code, language, **self.params)
        )


class AppError(Exception):
    """A problem by catalogue code (service.i18n): `detail` is the code's message
    with `params`; `title` is the class's, both in the caller's language."""

    status = 500
    slug = "internal"

    def __init__(self, code: str, /, *, errors: list[Invalid] | None = None, **params: Any):
        super().__init__(text(code, "en", **params))
        self.code = code
        self.params = params
        self.errors = errors

    @classmethod
    def title(cls, language: str = "en") -> str:
        return text("title." + cls.slug.replace("-", "_"), language)

    def problem(self, language: str) -> Problem:
        return Problem(
            type=f"https://linli.example/problems/{self.slug}",
            code=self.code,
            title=self.title(language),
            status=self.status,
            detail=text(self.code, language, **self.params),
            errors=[e.render(language) for e in self.errors] if self.errors else None,
        )


class BadRequest(AppError):
    status, slug = 400, "bad-request"


class Unauthorized(AppError):
    status, slug = 401, "unauthorized"


class Forbidden(AppError):
    status, slug = 403, "forbidden"


class NotFound(AppError):
    status, slug = 404, "not-found"


class Conflict(AppError):
    status, slug = 409, "conflict"


class InvalidTransition(Conflict):
    slug = "invalid-transition"


class StaleWrite(Conflict):
    slug = "concurrent-update"


class IdempotencyInProgress(Conflict):
    slug = "idempotency-in-progress"


class PreconditionFailed(AppError):
    status, slug = 412, "precondition-failed"


class PayloadTooLarge(AppError):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(AppError):
    status, slug = 415, "unsupported-media-type"


class Unprocessable(AppError):
    status, slug = 422, "unprocessable"

    @classmethod
    def on(cls, field: str, code: str, /, **params: Any) -> Unprocessable:
        """422 for one field, whose message is also the detail."""
        return cls(code, errors=[Invalid(field, code, **params)], **params)


class IdempotencyKeyReused(Unprocessable):
    slug = "idempotency-key-reused"


class ServiceUnavailable(AppError):
    """Overloaded for a moment: retry after `retry_after` seconds. Nothing was done."""

    status, slug = 503, "overloaded"

    def __init__(self, code: str, /, *, retry_after: int = 1, **params: Any) -> None:
        super().__init__(code, **params)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyRequests(ServiceUnavailable):
    """This caller already has as many of these requests in progress as it may:
    retry after `retry_after` seconds. Nothing was done."""

    status, slug = 429, "too-many-requests"


# What a request answers when it could not get a database connection in time
# (sqlalchemy.exc.TimeoutError from the pool): nothing was done, retry shortly.
POOL_EXHAUSTED = "overload.pool_exhausted"
# What a request answers when the database failed under it: a connection that
# broke or could not be made (a primary killed, a failover in progress: no server
# takes writes for a moment), a server shutting down or out of resources, a
# transaction cancelled by the server, a write that reached a read-only server.
# Its transaction did not commit (or, its answer lost with the connection, may
# have: a creation retried with its Idempotency-Key replays it). Retry shortly.
DATABASE_UNAVAILABLE = "overload.database_unavailable"


def database_unavailable(exc: Exception) -> bool:
    """Whether a database error is the database being away, not a bug: SQLAlchemy's,
    or psycopg's own from the hot paths that run statements on the driver
    (service/db.py driver_execute)."""
    import psycopg
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError):
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            return True  # SQLSTATE classes 08, 40, 53, 57, 58 (and SQLite's busy/locked)
        exc = exc.orig  # type: ignore[assignment]
    # InterfaceError: a statement on a connection that broke under an earlier one.
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    # read_only_sql_transaction: a connection to a server that is a standby now.
    return getattr(exc, "sqlstate", None) == "25006"


class ClientGone(Exception):
    """The client disconnected before the request's transaction began."""


# nginx's "client closed request": nobody reads it, but the access log shows why.
CLIENT_CLOSED_REQUEST = 499


def problem_response(
    problem: Problem, language: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The problem as sent: in `language`, which Content-Language names; the
    answer varies with Accept-Language, and caches are told so."""
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers={**(headers or {}), "Content-Language": language, "Vary": "Accept-Language"},
    )


def error_response(error: AppError, language: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    if isinstance(error, ServiceUnavailable):
        headers = error.headers()
    return problem_response(error.problem(language), language, headers)


def request_language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


# Pydantic's error types -> catalogue codes (service/i18n/validation.py), with the
# names of the ctx values their messages take. Anything else is
# validation.invalid, with pydantic's English message as its parameter.
PYDANTIC_CODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "missing": ("validation.missing", ()),
    "extra_forbidden": ("validation.unknown_field", ()),
    "string_too_long": ("validation.too_long", ("max_length",)),
    "string_too_short": ("validation.too_short", ("min_length",)),
    "too_long": ("validation.too_many", ("max_length",)),
    "too_short": ("validation.too_few", ("min_length",)),
    "string_pattern_mismatch": ("validation.pattern", ()),
    "string_type": ("validation.not_text", ()),
    "int_type": ("validation.not_integer", ()),
    "int_parsing": ("validation.not_integer", ()),
    "int_from_float": ("validation.not_integer", ()),
    "float_type": ("validation.not_number", ()),
    "float_parsing": ("validation.not_number", ()),
    "bool_type": ("validation.not_boolean", ()),
    "bool_parsing": ("validation.not_boolean", ()),
    "greater_than": ("validation.greater_than", ("gt",)),
    "greater_than_equal": ("validation.at_least", ("ge",)),
    "less_than": ("validation.less_than", ("lt",)),
    "less_than_equal": ("validation.at_most", ("le",)),
    "enum": ("validation.not_allowed", ("expected",)),
    "literal_error": ("validation.not_allowed", ("expected",)),
    "date_type": ("validation.date", ()),
    "date_parsing": ("validation.date", ()),
    "date_from_datetime_parsing": ("validation.date", ()),
    "date_from_datetime_inexact": ("validation.date", ()),
    "datetime_type": ("validation.datetime", ()),
    "datetime_parsing": ("validation.datetime", ()),
    "datetime_from_date_parsing": ("validation.datetime", ()),
    "timezone_aware": ("validation.give_offset", ()),
    "list_type": ("validation.not_list", ()),
    "dict_type": ("validation.not_object", ()),
    "model_type": ("validation.not_object", ()),
    "model_attributes_type": ("validation.not_object", ()),
    "json_invalid": ("validation.json", ()),
    "url_parsing": ("validation.url", ()),
    "url_scheme": ("validation.url", ()),
    "url_type": ("validation.url", ()),
    "uuid_parsing": ("validation.uuid", ()),
    "decimal_parsing": ("validation.not_number", ()),
    "finite_number": ("validation.not_number", ()),
}


def invalid_from(error: dict[str, Any]) -> Invalid:
    """A field error for one of pydantic's, by code."""
    loc = tuple(error.get("loc", ()))
    if loc[:1] == ("query",):
        # A query parameter's name, not the position of a value in its list.
        field = _field_path(tuple(part for part in loc if not isinstance(part, int)))
    else:
        field = _field_path(loc)
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, Rejected):
        code, params = cause.code, dict(cause.params)
    elif kind in PYDANTIC_CODES:
        code, names = PYDANTIC_CODES[kind]
        params = {name: ctx.get(name, "") for name in names}
    else:
        code, params = "validation.invalid", {"reason": str(error.get("msg", ""))}
    if kind != "missing" and "input" in error:
        value = error["input"]
        if value is None and kind not in ("missing", "extra_forbidden"):
            # A field that may be left out but not emptied (service.validation.omittable).
            code, params = "validation.not_null", {}
        elif loc[:1] == ("query",) and isinstance(value, str):
            # One value of a list filter (status=assigned,bogus): say which.
            params = {"value": repr(value), "reason_code": code, **params}
            code = "validation.list_value"
    return Invalid(field, code, **params)


def validation_problem(exc: RequestValidationError, language: str) -> Problem:
    errors = [_render(invalid_from(e), language) for e in exc.errors()]
    return Problem(
        type="https://linli.example/problems/validation",
        code="validation.failed",
        title=text("title.validation", language),
        status=422,
        detail=text("validation.failed", language),
        errors=errors,
    )


def _render(invalid: Invalid, language: str) -> FieldError:
    if invalid.code == "validation.list_value":
        # "'bogus': not one of ..." in the caller's language; the code is the reason's.
        params = dict(invalid.params)
        reason = params.pop("reason_code")
        value = params.pop("value")
        return FieldError(
            field=invalid.field,
            code=reason,
            message=f"{value}: {text(reason, language, **params)}",
        )
    return invalid.render(language)


def install_error_handlers(app: FastAPI) -> None:
    import psycopg
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc, request_language(request))

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, _exc: PoolTimeout) -> JSONResponse:
        settings = request.app.state.settings
        error = ServiceUnavailable(POOL_EXHAUSTED, retry_after=settings.retry_after_seconds)
        return error_response(error, request_language(request))

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        cause = getattr(exc, "orig", None) or exc
        log.warning("database unavailable: %s", (str(cause).strip().splitlines() or [""])[0])
        settings = request.app.state.settings
        error = ServiceUnavailable(DATABASE_UNAVAILABLE, retry_after=settings.retry_after_seconds)
        return error_response(error, request_language(request))

    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(psycopg.Error, _database)

    @app.exception_handler(ClientGone)
    async def _client_gone(_request: Request, _exc: ClientGone) -> JSONResponse:
        return JSONResponse(None, status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = request_language(request)
        return problem_response(validation_problem(exc, language), language)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        language = request_language(request)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        return problem_response(http_problem(exc.status_code, language), language, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        language = request_language(request)
        return problem_response(http_problem(500, language), language)

    _document_problems(app)


# What Starlette and FastAPI answer themselves (no route, no such method, a body
# that cannot be read), by status: the code, and a catalogue title.
HTTP_CODES: dict[int, str] = {
    400: "http.bad_request",
    404: "http.not_found",
    405: "http.method_not_allowed",
    500: "internal",
}


def http_problem(status: int, language: str) -> Problem:
    from http import HTTPStatus

    code = HTTP_CODES.get(status)
    if code is None:
        return Problem(code="http.error", title=HTTPStatus(status).phrase, status=status)
    return Problem(
        code=code,
        title=text(f"title.{code.rpartition('.')[2]}", language),
        status=status,
        detail=text(code, language),
    )


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
        out[error.status] = _documented(error.title())
    if validation:
        out[422] = _documented(text("title.validation", "en"))
    return out


# The request guard (service.middleware) and body parsing answer these to any
# POST, PUT or PATCH before a route runs; they are documented on every such operation.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
BODY_ERRORS: dict[int, str] = {
    BadRequest.status: f"{BadRequest.title()}: the body cannot be decoded",
    PayloadTooLarge.status: f"{PayloadTooLarge.title()}: over LINLI_MAX_BODY_BYTES",
    UnsupportedMediaType.status: f"{UnsupportedMediaType.title()}: the body is not JSON",
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
