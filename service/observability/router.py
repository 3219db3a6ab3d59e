"""GET /metrics: the Prometheus text format.

Open unless LINLI_METRICS_TOKEN is set, then only with `Authorization: Bearer
<that token>` (401 otherwise). Open is for a scraper on a private network: what
it shows (request rates by route, ticket counts by status, outbox backlogs) names
no person, but tells an outsider how busy the service is. Anything reachable
from outside should set the token (docs/operations.md)."""

from __future__ import annotations

import hmac
import os
import threading

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from service.apidoc import METRICS_TOKEN
from service.config import SettingsDep
from service.errors import Unauthorized, responses
from service.observability.scrape import DatabaseGauges
from service.replica import ReplicaGauges

router = APIRouter(tags=["health"])

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_CREATE = threading.Lock()


def _process_registry() -> CollectorRegistry:
    """This process's counters, or under `serve --workers N` every worker's (summed
    from their files by prometheus_client)."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def _registries(request: Request) -> tuple[CollectorRegistry, CollectorRegistry]:
    state = request.app.state
    with _CREATE:
        if not hasattr(state, "metrics_registries"):
            database = CollectorRegistry(auto_describe=False)
            state.metrics_gauges = DatabaseGauges(state.sessionmaker)
            database.register(state.metrics_gauges)
            replica = getattr(state, "read_replica", None)
            if replica is not None:
                database.register(ReplicaGauges(replica))
            state.metrics_registries = (_process_registry(), database)
    registries: tuple[CollectorRegistry, CollectorRegistry] = state.metrics_registries
    return registries


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **responses(validation=False),
    },
    # The deployment's scrape token when it has one; none otherwise.
    openapi_extra={"security": [{METRICS_TOKEN: []}, {}]},
)
def prometheus_metrics(request: Request, settings: SettingsDep) -> Response:
    """Request latencies by route template and status, tickets created and
    resolved, open tickets by status, SLA breaches, the feed's lag, the outboxes'
    backlog, job turns. Needs `Authorization: Bearer <LINLI_METRICS_TOKEN>` when
    that is set."""
    if settings.metrics_token and not _authorized(request, settings.metrics_token):
        raise Unauthorized("metrics.token")
    process, database = _registries(request)
    body = generate_latest(process) + generate_latest(database)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
