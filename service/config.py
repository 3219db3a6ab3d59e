"""Settings, read once from `LINLI_*` environment variables."""

from __future__ import annotations

import ipaddress
import math
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.cors import parse_origins

DEV_JWT_SECRET = "linli-development-secret-change-me-0123456789"
DEFAULT_DATABASE_URL = f"sqlite:///{Path('data') / 'linli.db'}"


# A secret's estimated strength: its length times the Shannon entropy of its own
# characters. 32 random hex digits score 92-125 bits, 32 of one letter 0, "abcd"
# repeated 64; a random token_urlsafe(48) ~330. And it must not compress.
MIN_SECRET_BITS = 80
MIN_SECRET_DISTINCT = 8


def guessable(secret: str) -> bool:
    """True for a secret too regular to be random: few distinct characters,
    little entropy in how often each occurs, or a repeated pattern (whitespace
    counts for nothing)."""
    text = "".join(secret.split())
    if len(set(text)) < MIN_SECRET_DISTINCT:
        return True
    counts = Counter(text)
    per_char = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    if per_char * len(text) < MIN_SECRET_BITS:
        return True
    # A repeated pattern ("1234567890" four times) compresses; random text does
    # not (zlib adds ~8 bytes of its own).
    return (len(zlib.compress(text.encode(), 9)) - 8) < 0.7 * len(text.encode())


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address to bind) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    database_url: str = DEFAULT_DATABASE_URL
    # Production must say so explicitly: SQLite holds one writer and one machine.
    allow_sqlite_in_prod: bool = False
    # Connections per process for the worker threads; unset: 12 + 0 on PostgreSQL,
    # 2 + 0 on SQLite (db.py).
    db_pool_size: int | None = None
    db_max_overflow: int | None = None
    # PostgreSQL: connections per process for filing tickets on the event loop
    # (db.py on_loop); unset: 8; 0 files them in the worker threads.
    db_loop_pool_size: Annotated[int, Field(ge=0)] | None = None
    # How long a request waits for a pooled connection before it is answered 503.
    db_pool_timeout_seconds: float = 2.0
    # Behind a PgBouncer in transaction mode (service/db.py): LINLI_DATABASE_URL
    # names the pooler; this names PostgreSQL itself, for what needs a session of
    # its own (the feed's LISTEN). Without a database name, LINLI_DATABASE_URL's.
    # Unset: LINLI_DATABASE_URL.
    database_direct_url: str | None = None
    # psycopg prepares a statement run five times on a connection, by name, on
    # the server: a PgBouncer in transaction mode (before 1.21, or without
    # max_prepared_statements) hands the next transaction another server
    # connection, where that name is missing or taken. False: never prepare.
    db_prepared_statements: bool = True
    # A streaming standby (PostgreSQL only; refused with SQLite) for the reads that
    # may be a moment old: metrics, the dashboard's reads, exports, Open311's
    # reads (service/replica.py). Reads go to the primary while its replay lag is
    # over read_max_lag_seconds or it does not answer. Unset: all on the primary.
    read_database_url: str | None = None
    read_max_lag_seconds: Annotated[float, Field(ge=0)] = 5.0
    # Load shedding (service/middleware.py): requests being worked on at once per
    # process; beyond it, 503 with Retry-After at once. Waiting long-polls do not
    # count. 0 turns the limit off.
    max_requests_in_flight: int = 48
    retry_after_seconds: int = 1
    # Expensive reads (metrics summaries, rankings, trends and their exports):
    # at once per caller (beyond: 429) and per process (beyond: 503), so that a
    # few of them cannot take the threads every other request needs; and the
    # most groups one summary may answer (beyond: 422, narrow it down).
    expensive_reads_per_caller: int = 1
    expensive_reads_in_flight: int = 4
    metrics_max_rows: int = 10_000
    # Comments one author may add to one ticket in an hour (each is a feed event).
    comments_per_hour: int = 30
    # Tickets one person may file in an hour, and one API key (an integration
    # filing for many); beyond: 429. 0: no limit (service/ratelimit).
    tickets_per_hour: Annotated[int, Field(ge=0)] = 30
    tickets_per_hour_api_key: Annotated[int, Field(ge=0)] = 600
    # An Open311 POST without address_id files into the jurisdiction's community
    # nearest its lat/long, if one is at most this far; else 422.
    open311_max_distance_metres: Annotated[int, Field(ge=1)] = 2000
    # A reporter may urge (催单) a ticket once in this many minutes.
    urge_interval_minutes: Annotated[int, Field(ge=1)] = 60
    # The same report filed again by the same person within this many minutes
    # answers the first ticket (200, duplicate_of) instead of a second. 0: off.
    duplicate_window_minutes: Annotated[int, Field(ge=0)] = 10
    # SIGTERM/SIGINT: long-polls answer at once, other requests get this long to
    # finish before they are cancelled and the process exits.
    shutdown_timeout_seconds: int = 10

    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    # /docs, /redoc and /openapi.json: served when true; unset, served except
    # with LINLI_ENV=prod (publishing the API's description is a choice there).
    public_docs: bool | None = None

    timezone: str = "Asia/Shanghai"
    # The language of what the command line reports (an import's row errors);
    # the API answers in the caller's Accept-Language instead.
    language: Literal["zh-Hans", "ug", "en"] = "zh-Hans"
    # /readyz and the start-up log warn this many days before a year begins whose
    # official holiday schedule (State Council notice) the holidays package lacks.
    calendar_warn_days: Annotated[int, Field(ge=0)] = 60
    max_body_bytes: int = 64 * 1024
    idempotency_ttl_hours: int = 24
    auto_close_days: int = 7
    reopen_window_days: int = 7
    # Periodic jobs (breaches, auto-close, expiry) run inside each `serve` process;
    # leases in the database make each turn run once however many there are.
    jobs_in_serve: bool = True
    # A resolved ticket's follow-up visit (回访) is due this many days later.
    follow_up_days: int = 3
    # Care plans' visits are made this many hours ahead (job care.horizon).
    care_horizon_hours: Annotated[int, Field(ge=1, le=24 * 31)] = 48
    # A visit not checked in this many minutes after it was due is missed (job
    # care.missed_visits); checked in by then, it was on time (the indicators).
    visit_grace_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 30

    # The provider feed and webhooks (service/feed, service/webhooks).
    feed_retention_days: int = 30
    feed_poll_interval_seconds: int = 5
    webhook_max_attempts: int = 8
    # The whole of one attempt: lookup, connect, send, answer.
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    webhook_backoff_base_seconds: float = 10.0
    webhook_backoff_max_seconds: float = 3600.0
    # Attempts in flight at once, and for one organisation: one tenant's slow
    # receivers hold at most their share, never the others' deliveries.
    webhook_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    webhook_concurrency_per_organization: Annotated[int, Field(ge=1, le=64)] = 2
    # Webhooks one organisation may register.
    webhooks_per_organization: Annotated[int, Field(ge=1, le=1000)] = 10
    # Comma-separated hosts or CIDRs that webhooks may target although they are
    # private or loopback (e.g. "127.0.0.0/8,hooks.internal"). Empty: public only.
    webhook_allow_targets: str = ""
    # Retention by whole months (service/partitions): delivered and dead outbox
    # rows (webhooks, notification messages) and their attempt logs older than
    # this many months go; the timeline (the ticket's history, which the
    # department audits) is kept for good unless set (0: keep everything).
    outbox_retention_months: Annotated[int, Field(ge=1, le=1200)] = 6
    timeline_retention_months: Annotated[int, Field(ge=0, le=1200)] = 0
    # Operations (service/observability): GET /metrics needs `Authorization: Bearer
    # <metrics_token>` when set (open without); log lines as JSON (prod's default)
    # or text (dev's).
    metrics_token: Annotated[str, Field(min_length=16)] | None = None
    log_format: Literal["json", "text"] | None = None

    # Comma-separated origins of the residents' front ends (WeChat/H5) that may
    # call the API from a browser (service.cors). Empty: no CORS at all.
    cors_origins: str = ""

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_origins(value)  # a bad origin stops the start, saying which
        return value

    # Photos (service/attachments): the largest upload, the most pixels a decoded
    # image may have (decompression bombs), and how long an upload that no ticket,
    # comment or resolution took stays before the expiry job deletes it.
    attachment_max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    attachment_max_pixels: Annotated[int, Field(ge=1)] = 50_000_000
    # Photos one caller may upload in an hour (shared by every instance); 0: no limit.
    uploads_per_hour: Annotated[int, Field(ge=0)] = 60
    attachment_unlinked_ttl_hours: Annotated[int, Field(ge=1)] = 24
    # Where the photos are kept: "local" (a directory) or "s3" (an S3-compatible
    # object store, path-style requests signed with SigV4).
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: str = str(Path("data") / "attachments")
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    # Notifications (service/notifications): the inbox always; WeChat subscribe
    # messages when the mini program's app id and secret are set, SMS when a
    # gateway URL is. A channel left unset is skipped, never an error.
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    # Subscribe-message template ids by notification type (an event type); "*"
    # for every type not named. A type with no template is not sent by WeChat.
    wechat_templates: dict[str, str] = Field(default_factory=dict)
    # The mini program page a message opens ("{ticket_id}" is filled in); empty: none.
    wechat_page: str = ""
    # The page an announcement's message opens ("{announcement_id}" filled in); empty: none.
    wechat_announcement_page: str = ""
    wechat_state: Literal["formal", "trial", "developer"] = "formal"
    sms_url: str = ""
    sms_key: str = ""
    notification_max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    notification_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    notification_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    notification_backoff_base_seconds: float = 30.0
    notification_backoff_max_seconds: float = 3600.0

    @model_validator(mode="after")
    def _refuse_replica_on_sqlite(self) -> Settings:
        if self.read_database_url and (
            self.is_sqlite or self.read_database_url.startswith("sqlite")
        ):
            raise ValueError(
                "LINLI_READ_DATABASE_URL names a PostgreSQL standby of LINLI_DATABASE_URL: "
                "SQLite has no replicas (unset it)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.storage_backend == "s3" and not (
            self.s3_endpoint_url
            and self.s3_bucket
            and self.s3_access_key_id
            and self.s3_secret_access_key
        ):
            raise ValueError(
                "LINLI_STORAGE_BACKEND=s3 needs LINLI_S3_ENDPOINT_URL, _BUCKET, "
                "_ACCESS_KEY_ID and _SECRET_ACCESS_KEY"
            )
        if self.env != "prod":
            if not (self.jwt_secret or self.jwt_public_key or self.jwt_jwks_url):
                self.jwt_secret = DEV_JWT_SECRET
            return self
        if not (self.jwt_secret or self.jwt_public_key or self.jwt_jwks_url):
            raise ValueError("LINLI_ENV=prod needs LINLI_JWT_SECRET, _PUBLIC_KEY or _JWKS_URL")
        if self.jwt_secret is not None and (
            self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32
        ):
            raise ValueError("LINLI_JWT_SECRET is the development secret or shorter than 32 chars")
        if self.jwt_secret is not None and guessable(self.jwt_secret):
            raise ValueError(
                "LINLI_JWT_SECRET looks guessable (too few different characters, or too "
                "repetitive); make one with: python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'"
            )
        if self.is_sqlite and not self.allow_sqlite_in_prod:
            raise ValueError(
                "LINLI_ENV=prod on SQLite: set LINLI_ALLOW_SQLITE_IN_PROD=true if you mean it"
            )
        return self

    @property
    def docs_public(self) -> bool:
        return self.public_docs if self.public_docs is not None else self.env != "prod"

    @property
    def logs_as(self) -> Literal["json", "text"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.env == "prod" else "text"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()


async def app_settings(request: Request) -> Settings:
    """The settings the running app was built with (tests build apps with their own)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
