"""Logging set-up for `serve` and `worker`: one line per record, JSON (for a log
shipper: LINLI_LOG_FORMAT=json, the default in prod) or text (a terminal, the
default in dev), each naming the request id of the request or job turn it was
written in.

A formatter of our own rather than python-json-logger: the fields are few and
fixed, `json.dumps` does the escaping, and the access line (the busiest record)
is built without the library's per-record introspection of LogRecord attributes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
from typing import Any, Literal

from service.telemetry.context import request_id

LogFormat = Literal["json", "text"]
NONE = "-"  # the request id of a line written outside any request or job turn

# The fields an access record carries (asgi.py passes them as `extra`).
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "principal")
ACCESS_LOGGER = "linli.access"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the request id in force where it was written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or NONE
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if rid == NONE else rid,
        }
        for field in ACCESS_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's: ours replace uvicorn's access
    log (the request line comes from service.observability.asgi, with the route
    template and the request id)."""
    # Dotted names, not the classes: the dict is also written out as JSON for
    # uvicorn's --log-config (bench/run.py).
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "linli",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"linli": formatter},
        "handlers": {"linli": handler},
        "root": {"handlers": ["linli"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure(log_format: LogFormat, level: str = "INFO") -> None:
    logging.config.dictConfig(config(log_format, level))
