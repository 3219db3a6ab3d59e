"""Open311 GeoReport v2 at /open311/v2, each resource in `.json` and `.xml`.

GETs are public and carry no personal data (service.open311.public); a POST
files a ticket with an integration's key (service.open311.filing). Errors are
the spec's list of {code, description} in the format asked for, in the
caller's language; the guards before routing (413, 503, a malformed query
string's 422) answer problem+json as everywhere else.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep, pipelined
from service.errors import (
    AppError,
    BadRequest,
    Forbidden,
    NotFound,
    Problem,
    ServiceUnavailable,
    TooManyRequests,
    Unprocessable,
    UnsupportedMediaType,
    request_language,
    validation_problem,
)
from service.i18n import negotiate
from service.open311 import filing, integrations, public, render
from service.ratelimit import hit as rate_limit_hit
from service.replica import ReadSessionDep
from service.tickets import filing as ticket_filing
from service.tickets.filing import Filed

PREFIX = "/open311/v2"
REQUESTS_PATH = f"{PREFIX}/requests.{{format}}"
# The POST's form-encoded bodies, let through the request guard (service.middleware)
# whatever the format: an unknown one is then refused in the spec's form (422).
FORM_PREFIX = f"{PREFIX}/requests."
_HOUR = dt.timedelta(hours=1)


class Open311Route(CommitInRoute):
    """Errors of these routes in the spec's form, in the format the path asks for."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as error:
                return _error_answer(request, error)
            except RequestValidationError as error:
                language = request_language(request)
                problem = validation_problem(error, language)
                described = [f"{e.field}: {e.message}" for e in problem.errors or []]
                return render.errors(_format(request), 422, described, language, {})

        return route


def _format(request: Request) -> str:
    return "xml" if request.path_params.get("format") == "xml" else "json"


def _error_answer(request: Request, error: AppError) -> Response:
    language = request_language(request)
    problem = error.problem(language)
    described = [f"{e.field}: {e.message}" for e in problem.errors or []] or [
        problem.detail or problem.title
    ]
    headers = error.headers() if isinstance(error, ServiceUnavailable) else {}
    return render.errors(_format(request), error.status, described, language, headers)


def query_problem(problem: Problem, language: str, path: str) -> Response:
    """The request guard's problem with a query string (service.middleware), in
    the spec's form and the format the path names."""
    described = [f"{e.field}: {e.message}" for e in problem.errors or []]
    fmt = "xml" if path.endswith(".xml") else "json"
    return render.errors(fmt, problem.status, described or [problem.detail or ""], language, {})


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)

Format = Annotated[
    Literal["json", "xml"], Path(description="`json` or `xml`: the answer's format.")
]
Jurisdiction = Annotated[
    int | None,
    Query(gt=0, lt=2**31, description="A region id: only what is in it and under it."),
]


def _language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


Language = Annotated[str, Depends(_language)]


# --- documentation of the answers ----------------------------------------------------


class Open311Error(BaseModel):
    code: int = Field(description="The HTTP status.")
    description: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] | None = Field(None, description="For `singlevaluelist` only.")


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    service_request_id: int
    status: Literal["open", "closed"]
    status_notes: str = Field(description="Linli's status, in the caller's language.")
    service_name: str
    service_code: str
    agency_responsible: str | None = Field(description="The organisation serving it.")
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime
    expected_datetime: dt.datetime | None = Field(description="The SLA's resolve-by.")
    address: str = Field(description="The community's name (never a building or room).")
    address_id: int = Field(description="The community's id.")
    lat: float | None = Field(description="The community's, not the home's.")
    long: float | None


class RequestFiled(BaseModel):
    service_request_id: int
    service_notice: str = Field(description="The ticket's number (LLyymmdd-nnnnnn).")
    account_id: None


class TokenAnswer(BaseModel):
    service_request_id: int
    token: str


class RequestUpdate(BaseModel):
    update_id: int
    service_request_id: int
    status: Literal["open", "closed"]
    external_status_code: str = Field(description="Linli's status (GET /v1/vocabulary).")
    updated_datetime: dt.datetime
    description: str = Field(description="What happened, in the caller's language.")
    media_url: None


_XML = {"application/xml": {"schema": {"type": "string"}}}


def _ok(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description, "content": _XML}}


def _errors(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    listed: tuple[type[AppError], ...] = (*errors, Unprocessable)
    for error in listed:
        out[error.status] = {
            "model": list[Open311Error],
            "description": f"{error.title()} (the spec's error list)",
            "content": _XML,
        }
    return out


# --- routes ------------------------------------------------------------------------


@router.get(
    "/discovery.{format}",
    responses={**_ok(Discovery, "Where and what this endpoint is"), **_errors()},
)
def open311_discovery(format: Format, request: Request) -> Response:
    base = str(request.base_url).rstrip("/") + PREFIX
    body = {
        "changeset": "2026-12-03T00:00:00+08:00",
        "contact": "https://linli.example/docs/open311",
        "key_service": "POST /v1/integrations (an administrator of the region)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-12-03T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "application/xml"],
            }
        ],
    }
    return render.answer(format, "discovery", None, body)


@router.get(
    "/services.{format}",
    responses={**_ok(list[Service], "The services: the category tree's"), **_errors(NotFound)},
)
def open311_list_services(
    format: Format,
    language: Language,
    session: ReadSessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    public.jurisdiction_path(session, jurisdiction_id)
    body = public.services(session, language)
    return render.answer(format, "services", "service", body, language=language)


@router.get(
    "/services/{service_code}.{format}",
    responses={
        **_ok(ServiceDefinition, "The attributes the service takes"),
        **_errors(NotFound),
    },
)
def open311_get_service_definition(
    service_code: Annotated[str, Path(max_length=64)],
    format: Format,
    language: Language,
    session: ReadSessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    public.jurisdiction_path(session, jurisdiction_id)
    category = public.service_category(session, service_code)
    body = public.service_definition(category, language)
    return render.answer(format, "service_definition", None, body, language=language)


CommaIds = Annotated[
    str | None,
    Query(
        pattern=r"^\d{1,10}(,\d{1,10})*$",
        max_length=1100,
        description="Comma-separated ids; the other filters are then ignored.",
    ),
]
CommaCodes = Annotated[
    str | None,
    Query(pattern=r"^[a-z0-9_.]{1,64}(,[a-z0-9_.]{1,64})*$", max_length=2000),
]
CommaStatuses = Annotated[
    str | None, Query(pattern=r"^(open|closed)(,(open|closed))*$", description="open, closed")
]


@router.get(
    "/requests.{format}",
    responses={
        **_ok(
            list[ServiceRequest],
            "Newest first, at most 1,000, filed in the window (the last 90 days by default)",
        ),
        **_errors(NotFound),
    },
)
def open311_list_requests(
    format: Format,
    language: Language,
    session: ReadSessionDep,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: CommaIds = None,
    service_code: CommaCodes = None,
    start_date: Annotated[AwareDatetime | None, Query()] = None,
    end_date: Annotated[AwareDatetime | None, Query()] = None,
    status: CommaStatuses = None,
) -> Response:
    path = public.jurisdiction_path(session, jurisdiction_id)
    body = public.requests(
        session,
        language,
        path=path,
        ids=[int(i) for i in service_request_id.split(",")] if service_request_id else [],
        codes=service_code.split(",") if service_code else [],
        statuses=status.split(",") if status else [],
        start=start_date,
        end=end_date,
    )
    return render.answer(format, "service_requests", "request", body, language=language)


async def form_fields(request: Request) -> dict[str, str]:
    """The urlencoded form (UTF-8); 415 for anything else, 400 when it cannot
    be decoded. The first value of a repeated name counts."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("open311.not_form")
    try:
        pairs = urllib.parse.parse_qsl(
            (await request.body()).decode("utf-8"), keep_blank_values=True, errors="strict"
        )
    except UnicodeDecodeError as exc:
        raise BadRequest("open311.undecodable") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise Unprocessable.on(name.replace("\x00", ""), "validation.nul")
        fields.setdefault(name, value)
    return fields


_FORM = {
    "api_key": {"type": "string", "description": "The integration's `lk_` key."},
    "jurisdiction_id": {"type": "integer", "description": "A region under the key's."},
    "service_code": {"type": "string", "description": "A category code (services)."},
    "description": {"type": "string", "maxLength": 2000},
    "address_id": {"type": "integer", "description": "A community id."},
    "lat": {"type": "number", "description": "Without address_id: the nearest community."},
    "long": {"type": "number"},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "phone": {"type": "string", "description": "Required: the filer, as `on_behalf_of`."},
    "email": {"type": "string", "description": "Accepted and not kept."},
    "address_string": {"type": "string", "description": "Accepted and not kept."},
    "device_id": {"type": "string", "description": "Accepted and not kept."},
    "account_id": {"type": "string", "description": "Accepted and not kept."},
    "media_url": {"type": "string", "description": "Accepted and not kept."},
    **{
        f"attribute[{code}]": {"type": "string", "description": f"See services/{{code}}: {code}"}
        for code in public.ATTRIBUTES
    },
}
FORM_EXAMPLE = {
    "api_key": "lk_...",
    "jurisdiction_id": 6,
    "service_code": "public.lighting",
    "lat": 43.8256,
    "long": 87.6168,
    "first_name": "阿依古丽",
    "last_name": "买买提",
    "phone": "13900000001",
    "description": "3号楼楼道灯不亮",
    "attribute[area]": "public",
}


@router.post(
    "/requests.{format}",
    status_code=201,
    responses={
        201: {"model": list[RequestFiled], "description": "Filed as a ticket", "content": _XML},
        **_errors(BadRequest, Forbidden, NotFound, UnsupportedMediaType, TooManyRequests),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": _FORM,
                        "required": ["api_key", "service_code", "description", "phone"],
                    },
                    "examples": {
                        "nearest": {
                            "summary": "A street office's app files by position",
                            "value": FORM_EXAMPLE,
                        }
                    },
                }
            },
        }
    },
)
def open311_create_request(
    format: Format,
    form: Annotated[dict[str, str], Depends(form_fields)],
    language: Language,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> Response:
    integration = filing.integration_for(session, form)
    path = filing.jurisdiction_of(session, integration, form)
    filing.check_service(session, form)
    community_id = filing.community_of(session, path, form, settings.open311_max_distance_metres)
    data = filing.ticket_data(form, community_id)
    principal = integrations.principal_of(integration)
    with pipelined(session):
        filed = ticket_filing.create_ticket(
            session, principal, data, timezone=settings.timezone, language=language
        )
        assert isinstance(filed, Filed)  # no Idempotency-Key, no duplicate window
        ticket = filed.ticket
        over_limit = rate_limit_hit(
            session,
            f"tickets:integration:{integration.id}",
            settings.tickets_per_hour_api_key,
            _HOUR,
            code="ratelimit.tickets",
        )
    over_limit()  # 429: raised before the commit, so nothing stays
    body = [filing.filed(ticket)]
    return render.answer(
        format,
        "service_requests",
        "request",
        body,
        status=201,
        language=language,
        headers={"Location": f"{PREFIX}/requests/{ticket.id}.{format}"},
    )


@router.get(
    "/requests/{service_request_id}.{format}",
    responses={**_ok(list[ServiceRequest], "The one request"), **_errors(NotFound)},
)
def open311_get_request(
    service_request_id: Annotated[int, Path(gt=0, lt=2**31)],
    format: Format,
    language: Language,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    path = public.jurisdiction_path(session, jurisdiction_id)
    body = [public.one_request(session, language, service_request_id, path)]
    return render.answer(format, "service_requests", "request", body, language=language)


@router.get(
    "/tokens/{token}.{format}",
    responses={**_ok(list[TokenAnswer], "The request the token became"), **_errors(NotFound)},
)
def open311_get_token(
    token: Annotated[str, Path(max_length=20)],
    format: Format,
    language: Language,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Linli files synchronously: a POST answers its `service_request_id` at once
    and never a token. For clients that ask anyway, a token is a request's id,
    and maps to itself once the request is public."""
    path = public.jurisdiction_path(session, jurisdiction_id)
    if not (token.isascii() and token.isdigit() and 0 < int(token) < 2**31):
        raise NotFound("open311.token_not_found", token=token)
    try:
        public.one_request(session, language, int(token), path)
    except NotFound as exc:
        raise NotFound("open311.token_not_found", token=token) from exc
    body = [{"service_request_id": int(token), "token": token}]
    return render.answer(format, "service_requests", "request", body, language=language)


@router.get(
    "/servicerequestupdates.{format}",
    responses={
        **_ok(list[RequestUpdate], "Oldest first, at most 1,000, in the window"),
        **_errors(NotFound),
    },
)
def open311_list_request_updates(
    format: Format,
    language: Language,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
    start_date: Annotated[AwareDatetime | None, Query()] = None,
    end_date: Annotated[AwareDatetime | None, Query()] = None,
) -> Response:
    """mySociety's extension: what happened to public requests (status push-back)."""
    path = public.jurisdiction_path(session, jurisdiction_id)
    body = public.updates(session, language, path=path, start=start_date, end=end_date)
    return render.answer(
        format, "service_request_updates", "request_update", body, language=language
    )
