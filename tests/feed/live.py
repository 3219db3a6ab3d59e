"""A live Linli in a thread of this process: uvicorn with the lifespan on (so the
feed's LISTEN connection runs), on a database of its own that commits for real.

The feed only serves what has committed (on PostgreSQL: below the oldest running
transaction), so feed tests cannot run inside the usual rolled-back transaction.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from service.categories.service import load_reference_tree
from service.config import Settings
from service.db import make_engine
from service.main import create_app
from tests.conftest import TEST_SECRET, World, build_world, new_database


@dataclass
class Live:
    http: httpx.Client
    world: World
    engine: Engine
    settings: Settings
    url: str
    app: Any = None  # the served app (its state: the feed's hub)


@contextmanager
def live_database(prefix: str = "linli_feed") -> Iterator[tuple[str, Engine]]:
    db = new_database(prefix)
    engine = make_engine(Settings(database_url=db.url, jwt_secret=TEST_SECRET, env="dev"))
    try:
        with sessionmaker(engine).begin() as session:
            load_reference_tree(session)
        yield db.url, engine
    finally:
        engine.dispose()
        if db.cleanup:
            db.cleanup()
        elif db.backend == "sqlite":
            shutil.rmtree(Path(str(make_url(db.url).database)).parent, ignore_errors=True)


@contextmanager
def serve(
    settings: Settings, engine: Engine, *, run_jobs: bool = False, app: Any = None
) -> Iterator[str]:
    """The app (by default a new one) on uvicorn in a daemon thread; its base URL."""
    if app is None:
        app = create_app(settings, engine, run_jobs=run_jobs)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def live_linli(prefix: str = "linli_feed", **overrides: Any) -> Iterator[Live]:
    with live_database(prefix) as (url, engine):
        # Feed tests file dozens of tickets as one reporter, beyond a person's
        # hourly quota of new ones (issue 17; tests/test_ratelimit.py tests it).
        overrides = {"tickets_per_hour": 0, **overrides}
        settings = Settings(database_url=url, jwt_secret=TEST_SECRET, env="dev", **overrides)
        app = create_app(settings, engine)
        with (
            serve(settings, engine, app=app) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as http,
        ):
            yield Live(http, build_world(http, settings), engine, settings, base_url, app)
