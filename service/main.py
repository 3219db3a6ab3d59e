"""The application factory: routers, error handlers, database wiring."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine

from service import apidoc
from service.announcements.router import router as announcements_router
from service.apikeys.router import router as api_keys_router
from service.attachments import jobs as attachments_jobs
from service.attachments.router import UPLOAD_PATH
from service.attachments.router import router as attachments_router
from service.attachments.storage import storage_for
from service.auth import PrincipalCache
from service.care import horizon as care_horizon
from service.care import visits as care_visits
from service.care.plans_router import router as care_plans_router
from service.care.router import router as care_router
from service.categories.router import router as categories_router
from service.config import Settings, get_settings
from service.cors import Cors, parse_origins
from service.dashboard.router import FORM_PATHS as DASHBOARD_FORMS
from service.dashboard.router import api as dashboard_api
from service.dashboard.router import pages as dashboard_pages
from service.db import (
    LoopSessions,
    direct_url,
    loop_engine,
    make_engine,
    make_sessionmaker,
    pool_shape,
)
from service.directory.router import router as directory_router
from service.dispatch.router import router as dispatch_router
from service.errors import install_error_handlers
from service.feed.notify import FeedHub, PgListener, install_commit_hook
from service.feed.router import Answers as FeedAnswers
from service.feed.router import router as feed_router
from service.feed.window import FeedWindows
from service.followups import jobs as followups_jobs
from service.followups.router import router as followups_router
from service.health import router as health_router
from service.idempotency import jobs as idempotency_jobs
from service.imports.router import UPLOAD_PATHS as IMPORT_PATHS
from service.imports.router import router as imports_router
from service.jobs.runner import JOBS_POOL, run_forever
from service.jobs.wake import Wakeup
from service.limits import ReadGate
from service.me import router as me_router
from service.metrics import rollup as metrics_rollup
from service.metrics.router import router as metrics_router
from service.middleware import Admission, QueryGuard, RequestGuard, SecurityHeaders
from service.notifications import alerts as _notification_alerts  # noqa: F401 - listens to events
from service.notifications import (  # noqa: F401 - listens to announcements
    announced as _notification_announced,
)
from service.notifications import channels as notification_channels
from service.notifications import compose as _notification_compose  # noqa: F401 - listens to events
from service.notifications.router import router as notifications_router
from service.observability import events as _observed_events  # noqa: F401 - listens to events
from service.observability.asgi import RequestObservation
from service.observability.router import router as observability_router
from service.open311.integrations_router import router as integrations_router
from service.open311.router import FORM_PREFIX as OPEN311_FORMS
from service.open311.router import PREFIX as OPEN311_PREFIX
from service.open311.router import query_problem as open311_query_problem
from service.open311.router import router as open311_router
from service.partitions import jobs as partitions_jobs
from service.ratelimit import jobs as ratelimit_jobs
from service.replica import install_read_replica
from service.sla import jobs as sla_jobs
from service.sla.official import coverage_now, log_coverage
from service.sla.router import router as sla_router
from service.telemetry import instruments
from service.tickets import jobs as tickets_jobs
from service.tickets.router import hot_route as tickets_hot_route
from service.tickets.router import router as tickets_router
from service.vocabulary import router as vocabulary_router
from service.webhooks import delivery as webhook_delivery
from service.webhooks.router import router as webhooks_router

# Every feature's periodic jobs: each module registers its own (service.jobs.job)
# when imported; the runner (service.jobs.runner) knows none of them by name.
FEATURE_JOBS = (
    attachments_jobs,
    care_horizon,
    care_visits,
    followups_jobs,
    idempotency_jobs,
    metrics_rollup,
    notification_channels,
    partitions_jobs,
    ratelimit_jobs,
    sla_jobs,
    tickets_jobs,
    webhook_delivery,
)

# The collector's threshold of new objects for a young collection (Python: 700).
GC_YOUNG_THRESHOLD = 10_000

DESCRIPTION = """
Linli (邻里) — property-services and elderly-care tickets for renovated
residential communities.

- **Authentication**: `Authorization: Bearer <JWT or lk_ API key>` on every call but
  `/healthz` and `/readyz` (the *Authorize* button here). Anything outside the
  caller's scope answers 404.
- **Errors** are `application/problem+json` (RFC 9457): `type`, a stable `code`,
  `title`, `status`, `detail`, and `errors` [{`field`, `code`, `message`}] when
  validation failed. Texts follow `Accept-Language` (`zh-Hans` default, `ug`, `en`).
- **Writes to a ticket**: each ticket answer carries an `ETag`; send it back as
  `If-Match` and a write over a change you have not seen answers 412. Send
  `Idempotency-Key` when filing a ticket, and a retry files it once.
- **Lists** are keyset pages: pass `next_cursor` back as `cursor` until it is null.
- **Overload**: 503 with `Retry-After` (seconds); nothing was done, retry then.
"""


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, *, run_jobs: bool = False
) -> FastAPI:
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or make_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Loads the official holidays, and says loudly which years lack them.
        log_coverage(settings)
        # The feed's long-polls wake in-process on commit, and on PostgreSQL also
        # from other instances through one LISTEN connection per process.
        loop = asyncio.get_running_loop()
        # As many worker threads as pooled connections: a thread then never waits
        # for a connection (requests queue for a thread instead, on the event
        # loop, in order), and fewer threads contend for the GIL with the loop.
        # 32 page requests on SQLite's two connections with AnyIO's 40 threads
        # starved some threads of a connection for over 2 s (the pool's timeout).
        # The requests' own threads (service.db.run_in_request_thread) take their
        # number from this limiter when the first request needs one.
        anyio.to_thread.current_default_thread_limiter().total_tokens = sum(pool_shape(settings))
        feed_hub.bind(loop)
        # PostgreSQL: tickets are filed on the event loop (service.db.on_loop), on
        # the app's engine's database: not while its sessions are bound elsewhere
        # (service.db.loop_sessions: a test's transaction).
        filing_engine = loop_engine(settings, engine.url)
        if filing_engine is not None:
            _app.state.loop_sessions = LoopSessions(own_sessions, filing_engine)
        _close_on_signal(loop, feed_hub)
        listener = (
            None if settings.is_sqlite else PgListener(direct_url(settings, engine.url), feed_hub)
        )
        if listener is not None:
            listener.start()
        stop_jobs = asyncio.Event()
        jobs_engine = jobs = None
        if run_jobs:
            # A pool of their own: requests that take every connection of theirs
            # cannot stop the SLA sweep or leave a delivered webhook unrecorded.
            jobs_engine = make_engine(settings, pool=JOBS_POOL) if owns_engine else engine
            # Idle, the runner sleeps until a turn is due; the feed's wake-ups (this
            # process's commits of events, every instance's NOTIFY) start webhook
            # deliveries at once.
            wakeup = Wakeup()
            feed_hub.on_notify(wakeup.wake)
            jobs = asyncio.create_task(run_forever(jobs_engine, settings, stop_jobs, wakeup))
        # Everything built so far (modules, the app, the mappers) lives as long as
        # the process: out of the collector's sight, a full collection scans only
        # what requests made. Measured: a summary of 4,784 groups spent 80 ms in
        # collections of start-up objects.
        gc.freeze()
        # And a young collection every 10,000 allocations rather than 700: objects
        # of requests in flight lived past many collections and into the older
        # generations, whose collections then scanned them again. Measured over
        # 6 s of creations (gc.callbacks): 0.27 s in collections (924 young, 83
        # middle, 7 full) at 700, 0.066 s at 10,000 (a young one takes ~4 ms).
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        yield
        feed_hub.close()
        if jobs is not None:
            stop_jobs.set()
            # A turn in progress finishes in its thread; the process need not wait
            # for it past the timeout (its lease lapses and another instance goes on).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(jobs), settings.shutdown_timeout_seconds)
        if listener is not None:
            await listener.stop()
        if filing_engine is not None:
            _app.state.loop_sessions = None
            await filing_engine.dispose()
        if read_replica is not None:
            read_replica.dispose()
        if owns_engine:
            engine.dispose()
            if jobs_engine is not None:
                jobs_engine.dispose()

    common: dict[str, Any] = {
        "title": "Linli",
        "version": "1.0.0",
        "description": DESCRIPTION,
        "lifespan": lifespan,
        "generate_unique_id_function": apidoc.operation_id,
    }
    if settings.docs_public:
        # FastAPI's /docs and /redoc load their scripts from a CDN: blank offline,
        # slow or blocked in mainland China. fastapi-offline serves the same pages
        # with the scripts from this server (/docs/static).
        app = FastAPIOffline(
            **common, swagger_ui_parameters=apidoc.SWAGGER_UI, static_url="/docs/static"
        )
    else:
        # In production the API's description is published only by choice.
        app = FastAPI(**common, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = own_sessions = make_sessionmaker(engine)
    read_replica = install_read_replica(app, settings, engine)
    app.state.principals = PrincipalCache()
    app.state.storage = storage_for(settings)
    app.state.read_gate = ReadGate(
        settings.expensive_reads_per_caller, settings.expensive_reads_in_flight
    )
    app.state.feed_hub = feed_hub = FeedHub()
    app.state.feed_windows = FeedWindows()
    app.state.feed_answers = FeedAnswers()
    app.state.readiness_checks = {"calendar": lambda: coverage_now(settings).detail()}
    install_commit_hook()
    instruments.install()
    if settings.is_sqlite:
        app.state.sqlite_write_lock = asyncio.Lock()
    install_error_handlers(app)
    apidoc.install(app)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        form_paths=DASHBOARD_FORMS,
        form_prefixes=(OPEN311_FORMS,),
        # A photo and its multipart framing; a spreadsheet to import.
        upload_paths={UPLOAD_PATH: settings.attachment_max_bytes + 64 * 1024, **IMPORT_PATHS},
        not_multipart=dict.fromkeys(IMPORT_PATHS, "import.not_multipart"),
    )
    app.add_middleware(QueryGuard, renderers={OPEN311_PREFIX + "/": open311_query_problem})
    app.add_middleware(SecurityHeaders)
    # A request shed is answered before anything reads its body.
    app.add_middleware(
        Admission,
        limit=settings.max_requests_in_flight,
        retry_after=settings.retry_after_seconds,
    )
    if settings.cors_origins:
        # Outermost: browsers' preflights are answered before admission and the guards.
        app.add_middleware(Cors, origins=parse_origins(settings.cors_origins))
    # Outermost: every answer is timed, logged and carries X-Request-ID, a preflight
    # or a 503 of load shedding too.
    app.add_middleware(RequestObservation)
    # Routing tries each route in turn: the tickets first, as they take most of the
    # traffic (no path of one router overlaps another's).
    for router in (
        tickets_router,
        attachments_router,
        health_router,
        observability_router,
        me_router,
        notifications_router,
        announcements_router,
        categories_router,
        directory_router,
        care_router,
        care_plans_router,
        api_keys_router,
        imports_router,
        integrations_router,
        open311_router,
        dispatch_router,
        sla_router,
        followups_router,
        feed_router,
        webhooks_router,
        metrics_router,
        vocabulary_router,
        dashboard_api,
        dashboard_pages,
    ):
        app.include_router(router)
    # Ahead of them all: filing a ticket and the page of tickets, served without
    # FastAPI's per-request dependency solving (service/hotroute.py).
    app.router.routes.insert(0, tickets_hot_route)
    return app


def _close_on_signal(loop: asyncio.AbstractEventLoop, hub: FeedHub) -> None:
    """On SIGTERM/SIGINT, answer the waiting long-polls at once, then let the
    server's own handler (uvicorn's) stop it: it waits for requests in progress,
    and a long-poll would otherwise hold the stop up for its whole wait."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (a TestClient runs elsewhere)
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(hub.close)
            previous(signum, frame)

        signal.signal(sig, handler)


def create_served_app() -> FastAPI:
    """What `serve` runs in each worker: the API, and the periodic jobs unless
    LINLI_JOBS_IN_SERVE=false (then run `python -m service worker` beside it)."""
    settings = get_settings()
    return create_app(settings, run_jobs=settings.jobs_in_serve)
