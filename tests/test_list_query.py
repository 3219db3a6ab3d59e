"""GET /v1/tickets parses its query string in one validation (service/query.py):
the served route must accept, refuse and convert exactly as FastAPI's handling of
the declared, documented route would, parameter by parameter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.requests import Request

from service.tickets.router import ListQuery, list_tickets, router, serve_list_tickets

QUERIES = [
    "",
    "limit=50",
    "limit=0",
    "limit=201",
    "limit=abc",
    "limit=",
    "status=assigned,accepted&status=resolved",
    "status=assigned,bogus&status=open",
    "status=" + ",".join(["assigned"] * 51),
    "kind=property,garden",
    "category=repair.plumbing,Repair",
    "community_id=1,x&community_id=99999999999999",
    "organization_id=0",
    "assignee_id=7,7,3",
    "priority=low,whenever",
    "created_from=2026-01-01T00:00:00%2B08:00&created_to=2026-02-01T00:00:00Z",
    "created_from=yesterday&created_to=2026-13-01",
    "breached=true",
    "breached=perhaps",
    "number=ll261203-000123,LL261203-000124",
    "number=LL%2F1",
    "q=漏水&q=second",
    "q=",
    "cursor=abc",
    "cursor=" + "c" * 201,
    "unknown=1&limit=3",
]


def _declared_route() -> APIRoute:
    return next(
        r for r in router.routes if isinstance(r, APIRoute) and r.name == list_tickets.__name__
    )


def _fastapi(query: str) -> tuple[dict[str, Any], list[Any]]:
    return request_params_to_args(_declared_route().dependant.query_params, QueryParams(query))


def _parsed(query: str) -> tuple[dict[str, Any], list[Any]]:
    request = Request({"type": "http", "query_string": query.encode(), "headers": []})
    try:
        return dict(asyncio.run(ListQuery.parse(request))), []
    except RequestValidationError as error:
        return {}, list(error.errors())


@pytest.mark.parametrize("query", QUERIES)
def test_the_query_parses_as_fastapi_parses_the_declared_route(query: str) -> None:
    values, errors = _fastapi(query)
    if errors:
        assert _parsed(query) == ({}, errors)
    else:
        assert _parsed(query) == (values, [])


def test_every_declared_parameter_is_parsed() -> None:
    declared = [field.name for field in _declared_route().dependant.query_params]
    assert [name for name, _ in ListQuery.names] == declared
    assert len(declared) == 14


def test_the_served_route_comes_first_and_stays_out_of_the_document() -> None:
    routes = [r for r in router.routes if isinstance(r, APIRoute) and r.path == "/v1/tickets"]
    gets = [r for r in routes if "GET" in r.methods]
    served, declared = gets
    assert served.name == serve_list_tickets.__name__
    assert not served.include_in_schema
    assert declared.include_in_schema
    assert declared.dependant.query_params  # documented as before
