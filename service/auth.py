"""Who is calling: JWT bearer tokens, organisation API keys, and the roles."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# Up a floor (a room-level cycle kept on purpose): auth checks API keys beside tokens.
from service.apikeys.models import ApiKey
from service.config import Settings, SettingsDep
from service.db import SessionDep, begin_write, in_thread, request_session, utcnow
from service.directory.models import Community, Organization, Region
from service.enums import OrgRole, Role
from service.errors import AppError, Forbidden, Unauthorized
from service.telemetry.context import PRINCIPAL_KIND
from service.users.models import User

API_KEY_PREFIX = "lk_"
# last_used_at is a hint, not an audit trail: write it at most once a minute.
API_KEY_TOUCH_INTERVAL = dt.timedelta(minutes=1)
# Provider staff's last_seen_at (the staff list's "last active") likewise, at most
# every five minutes, and only when their token is looked up (not on cached requests).
LAST_SEEN_INTERVAL = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role
    name: str = ""
    community_id: int | None = None
    organization_id: int | None = None
    org_role: OrgRole | None = None
    region_id: int | None = None
    # "/1/7/" for an admin of region 7 under 1; None for a province-wide admin.
    region_path: str | None = None
    api_key_id: int | None = None

    @property
    def is_dispatcher(self) -> bool:
        return self.role == Role.provider_staff and self.org_role == OrgRole.dispatcher

    @property
    def owner_key(self) -> str:
        return f"user:{self.user_id}"


def hash_api_key(raw: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash cannot be brute-forced.
    return hashlib.sha256(raw.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


def decode_jwt(token: str, settings: Settings) -> dict[str, Any]:
    options = {"require": ["sub", "role", "exp"]}
    common: dict[str, Any] = {"options": options}
    if settings.jwt_audience:
        common["audience"] = settings.jwt_audience
    else:
        options["verify_aud"] = False  # type: ignore[assignment]
    if settings.jwt_issuer:
        common["issuer"] = settings.jwt_issuer
    try:
        if settings.jwt_jwks_url:
            key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
            return jwt.decode(token, key, algorithms=["RS256"], **common)
        if settings.jwt_public_key:
            return jwt.decode(token, settings.jwt_public_key, algorithms=["RS256"], **common)
        return jwt.decode(token, settings.jwt_secret or "", algorithms=["HS256"], **common)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("auth.token_expired") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized("auth.token_invalid") from exc


def _int_claim(claims: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise Unauthorized("auth.claim_missing", claim=name)
        return None
    # An id is an integer or a string of digits: not 1.5, not true.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Unauthorized("auth.claim_not_id", claim=name)
    # ASCII digits only: str.isdigit() also takes "¹" (int() then fails) and
    # "١" (Arabic-Indic one, which int() reads as 1).
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise Unauthorized("auth.claim_not_id", claim=name)
    number = int(value)
    if not 0 < number < 2**31:
        raise Unauthorized("auth.claim_not_id", claim=name)
    return number


def _text_claim(claims: dict[str, Any], name: str, limit: int) -> str:
    # NUL cannot be stored in PostgreSQL text; nobody's name contains one.
    return str(claims.get(name) or "").replace("\x00", "")[:limit]


SUB_LIMIT = 200  # user_account.sub


def _sub_claim(claims: dict[str, Any]) -> str:
    """The token's `sub`, exactly as the gateway wrote it, or 401: a `sub` is an
    identity, so it is refused, never normalised — cutting a NUL out or the tail
    off would log its bearer in as someone else."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("auth.sub_empty")
    if len(sub) > SUB_LIMIT:
        raise Unauthorized("auth.sub_too_long", limit=SUB_LIMIT)
    if not sub.isprintable():
        raise Unauthorized("auth.sub_unprintable")
    return sub


def _scope_from_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The user fields a token asserts, checked for shape but not against the database."""
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise Unauthorized("auth.role_unknown") from exc
    scope: dict[str, Any] = {
        "role": role,
        "name": _text_claim(claims, "name", 100),
        "phone": _text_claim(claims, "phone", 20) or None,
        "wechat_openid": _text_claim(claims, "wechat_openid", 64) or None,
        "community_id": None,
        "organization_id": None,
        "org_role": None,
        "region_id": None,
    }
    if role in (Role.resident, Role.grid_worker):
        scope["community_id"] = _int_claim(claims, "community_id", required=True)
    elif role == Role.provider_staff:
        scope["organization_id"] = _int_claim(claims, "organization_id", required=True)
        try:
            scope["org_role"] = OrgRole(str(claims.get("org_role")))
        except ValueError as exc:
            raise Unauthorized("auth.org_role_missing") from exc
    else:
        scope["region_id"] = _int_claim(claims, "region_id", required=False)
    return scope


def _check_scope_exists(session: Session, scope: dict[str, Any]) -> None:
    for field, model in (
        ("community_id", Community),
        ("organization_id", Organization),
        ("region_id", Region),
    ):
        if scope[field] is not None and session.get(model, scope[field]) is None:
            raise Unauthorized("auth.scope_unknown", claim=field)


def _claims_match(user: User, scope: dict[str, Any]) -> bool:
    return all(getattr(user, field) == value for field, value in scope.items())


def _provision(session: Session, sub: str, scope: dict[str, Any]) -> User:
    """Create or update the user of this `sub` from the token's claims."""
    user = session.scalar(select(User).where(User.sub == sub))
    if user is not None and _claims_match(user, scope):
        return user
    _check_scope_exists(session, scope)
    if user is None:
        user = User(sub=sub, last_seen_at=utcnow(), **scope)
        session.add(user)
    else:
        if not user.active:
            raise Forbidden("auth.deactivated")
        for field, value in scope.items():
            setattr(user, field, value)
        user.updated_at = user.last_seen_at = utcnow()
    session.flush()
    return user


def _principal_for(session: Session, user: User, api_key_id: int | None = None) -> Principal:
    region_path = None
    if user.role == Role.admin and user.region_id is not None:
        region_path = session.scalar(select(Region.path).where(Region.id == user.region_id))
    return Principal(
        user_id=user.id,
        role=user.role,
        name=user.name,
        community_id=user.community_id,
        organization_id=user.organization_id,
        org_role=user.org_role,
        region_id=user.region_id,
        region_path=region_path,
        api_key_id=api_key_id,
    )


def authenticate(session: Session, token: str, settings: Settings) -> Principal:
    """Resolve a bearer token in the request's session. The rare writes
    (provisioning a user, touching an API key) commit at once in a write
    transaction of their own, before the request's work begins."""
    if token.startswith(API_KEY_PREFIX):
        api_key = session.scalar(
            select(ApiKey).where(
                ApiKey.key_hash == hash_api_key(token), ApiKey.revoked_at.is_(None)
            )
        )
        if api_key is None:
            raise Unauthorized("auth.api_key_unknown")
        key_id, user_id, last_used = api_key.id, api_key.user_id, api_key.last_used_at
        now = utcnow()
        if last_used is None or now - last_used > API_KEY_TOUCH_INTERVAL:
            begin_write(session)
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            session.commit()
        user = session.get(User, user_id)
        assert user is not None
        return _principal_for(session, user, key_id)

    claims = decode_jwt(token, settings)
    sub = _sub_claim(claims)
    scope = _scope_from_claims(claims)
    user = session.scalar(select(User).where(User.sub == sub))
    if user is not None and not user.active:
        raise Forbidden("auth.deactivated")
    if user is not None and _claims_match(user, scope):
        principal = _principal_for(session, user)
        _touch(session, user)
        return principal
    for _attempt in range(3):
        try:
            begin_write(session)
            principal = _principal_for(session, _provision(session, sub, scope))
            session.commit()
            return principal
        except IntegrityError:
            session.rollback()  # the first requests of a new `sub` raced; the other one won
    raise Unauthorized("auth.provision_failed")


def _touch(session: Session, user: User) -> None:
    """Note that `user` was seen, if not noted lately: a write of its own, committed
    at once like an API key's, at most once per LAST_SEEN_INTERVAL. Provider
    staff only, whom the staff list shows: a resident's lookup is mostly the
    first request of a filing, which must not pay a commit for it."""
    if user.role != Role.provider_staff:
        return
    now = utcnow()
    if user.last_seen_at is not None and now - user.last_seen_at < LAST_SEEN_INTERVAL:
        return
    user_id = user.id
    begin_write(session)
    session.execute(update(User).where(User.id == user_id).values(last_seen_at=now))
    session.commit()


class PrincipalCache:
    """Principals of recently seen JWTs, per process, fresh for `ttl` seconds.

    A JWT's claims cannot change, and the user they resolve to changes only when
    a token with other claims arrives (which is another cache key), so a cached
    principal is what the database would answer; the cache only saves the lookup
    on every request. The same bytes carry the same signature, so what a cached
    token still needs checking is its expiry (`exp`, kept with the entry):
    verifying the signature again cost ~8% of a request's CPU. API keys are
    never cached: revocation must bite at once.

    Deactivating a person (service/dispatch) forgets their entries in the
    deactivating process at once (`forget_user`); other processes refuse them
    when their entry goes stale, within `ttl`: the lookup answers 403, and a
    refused lookup drops the entry so that nobody goes on with it.

    Single flight: when an entry goes stale, the first request looks the token
    up again and the others go on with the stale principal meanwhile; requests
    with a token not seen yet wait for the one lookup in progress. Three hundred
    pollers sharing a token whose entry expired at once once sent three hundred
    identical lookups to a pool of twenty connections.
    """

    def __init__(self, ttl: float = 60.0, size: int = 50_000) -> None:
        self.ttl, self.size = ttl, size
        # token -> (fresh until (monotonic), exp (epoch), principal)
        self._entries: dict[str, tuple[float, float, Principal]] = {}
        self._lookups: dict[str, asyncio.Future[Principal]] = {}

    def get(self, token: str) -> Principal | None:
        """The fresh principal, None when not cached or stale; raises 401 once
        the token expired."""
        principal, fresh = self.lookup(token)
        return principal if fresh else None

    def lookup(self, token: str) -> tuple[Principal | None, bool]:
        """(principal or None, whether it is fresh); raises 401 once the token expired."""
        entry = self._entries.get(token)
        if entry is None:
            return None, False
        if entry[1] <= time.time():
            raise Unauthorized("auth.token_expired")
        return entry[2], entry[0] >= time.monotonic()

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()  # simpler than LRU, and rare: 50k live tokens a minute
        # Verified just now by authenticate(); only the expiry is read here.
        claims = jwt.decode(token, options={"verify_signature": False})
        self._entries[token] = (time.monotonic() + self.ttl, float(claims["exp"]), principal)

    def forget_user(self, user_id: int) -> None:
        """Drop every entry of `user_id` (deactivated): their next request looks up."""
        for token in [t for t, e in self._entries.items() if e[2].user_id == user_id]:
            self._entries.pop(token, None)

    async def resolve(self, token: str, look_up: Callable[[], Awaitable[Principal]]) -> Principal:
        """The principal of `token`, looking it up (`look_up`) once at a time."""
        while True:
            principal, fresh = self.lookup(token)
            if fresh:
                assert principal is not None
                return principal
            running = self._lookups.get(token)
            if running is None:
                return await self._look_up(token, look_up)
            if principal is not None:
                return principal  # stale, while the one refresh runs
            try:
                return await asyncio.shield(running)
            except AppError:
                raise  # the token's own answer (401): the same for everyone
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            except Exception:  # the leader's own trouble (its client left, its pool wait)
                pass
            # The leader failed for a reason of its own: look again, maybe as leader.

    async def _look_up(self, token: str, look_up: Callable[[], Awaitable[Principal]]) -> Principal:
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._lookups[token] = future
        try:
            principal = await look_up()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            if isinstance(exc, AppError):
                self._entries.pop(token, None)  # refused now (deactivated): not even stale
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting for it
            raise
        else:
            self.put(token, principal)
            future.set_result(principal)
            return principal
        finally:
            del self._lookups[token]


async def get_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """async so that a cached principal costs no trip to the thread pool. The
    database is touched (in the pool) when the token is new, and the session's
    connection goes back to the pool before the request goes on (service.db)."""

    async def look_up(token: str) -> Principal:
        principal: Principal = await in_thread(session, authenticate, session, token, settings)
        return principal

    return await _principal(request, look_up)


async def principal_without_session(request: Request, settings: Settings) -> Principal:
    """`get_principal` for a request that has no session of the worker threads (a
    creation filed on the event loop, service.db.on_loop): one is made only to
    look up a token new to the principal cache."""

    async def look_up(token: str) -> Principal:
        async with request_session(request) as session:
            principal: Principal = await in_thread(session, authenticate, session, token, settings)
        return principal

    return await _principal(request, look_up)


async def _principal(request: Request, look_up: Callable[[str], Awaitable[Principal]]) -> Principal:
    """The caller, from the principal cache, or `look_up(token)` when it is new there."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("auth.missing")
    cache: PrincipalCache | None = getattr(request.app.state, "principals", None)
    if cache is None or token.startswith(API_KEY_PREFIX):
        principal = await look_up(token)
    else:
        principal = await cache.resolve(token, functools.partial(look_up, token))
    # The request's log line names the role (service.observability.asgi), no more.
    request.scope[PRINCIPAL_KIND] = "api_key" if principal.api_key_id else principal.role.value
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role != Role.admin:
        raise Forbidden("auth.admin_only")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]


def mint_token(
    settings: Settings,
    *,
    sub: str,
    role: Role | str,
    name: str = "",
    ttl: dt.timedelta = dt.timedelta(days=30),
    **scope: Any,
) -> str:
    """A development/test token signed with the HS256 secret."""
    if not settings.jwt_secret:
        raise RuntimeError("minting tokens needs LINLI_JWT_SECRET")
    claims: dict[str, Any] = {
        "sub": sub,
        "role": str(role),
        "name": name,
        "iat": utcnow(),
        "exp": utcnow() + ttl,
    }
    claims.update(
        {k: (str(v) if isinstance(v, OrgRole) else v) for k, v in scope.items() if v is not None}
    )
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def principal_for_user(session: Session, user: User) -> Principal:
    """The principal of a stored user (a dashboard browser session names one)."""
    return _principal_for(session, user)
