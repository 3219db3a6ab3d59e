"""Authentication: JWT (HS256, RS256 public key, JWKS), provisioning, API keys, prod guards."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from sqlalchemy import func, select

from service.apikeys.models import ApiKey
from service.config import DEV_JWT_SECRET, Settings
from service.db import utcnow
from service.main import create_app
from service.users.models import User
from tests.conftest import TEST_SECRET

PROBLEM = "application/problem+json"


def _claims(**extra):
    return {
        "sub": "alice",
        "role": "resident",
        "name": "Alice",
        "exp": utcnow() + dt.timedelta(hours=1),
        **extra,
    }


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic abc", "Bearer not.a.jwt", "Bearer lk_unknown"],
)
def test_missing_or_bad_credentials_answer_401(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/v1/tickets", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"


def test_expired_wrongly_signed_and_incomplete_tokens_are_refused(client, world):
    community = world.community_a
    for token in (
        jwt.encode(
            _claims(community_id=community, exp=utcnow() - dt.timedelta(seconds=5)), TEST_SECRET
        ),
        jwt.encode(_claims(community_id=community), "another-secret-another-secret-xx"),
        jwt.encode(_claims(), TEST_SECRET),  # a resident without community_id
        jwt.encode(_claims(community_id=community, role="superuser"), TEST_SECRET),
        jwt.encode(
            {k: v for k, v in _claims(community_id=community).items() if k != "exp"}, TEST_SECRET
        ),
        jwt.encode(_claims(community_id=999999), TEST_SECRET),  # no such community
        jwt.encode(_claims(role="provider_staff", organization_id=world.company), TEST_SECRET),
        jwt.encode(_claims(community_id=community), TEST_SECRET, algorithm="HS512"),
    ):
        response = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_first_token_provisions_and_later_claims_update_the_user(client, world, db):
    token = jwt.encode(_claims(sub="new-person", community_id=world.community_a), TEST_SECRET)
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "resident" and me["community_id"] == world.community_a
    moved = jwt.encode(_claims(sub="new-person", community_id=world.community_k), TEST_SECRET)
    again = client.get("/v1/me", headers={"Authorization": f"Bearer {moved}"}).json()
    assert again["user_id"] == me["user_id"]
    assert again["community_id"] == world.community_k
    assert db.scalar(select(func.count()).select_from(User).where(User.sub == "new-person")) == 1


def _rsa_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, public_pem


def test_rs256_with_a_public_key(settings, engine, connection, world):
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import sessionmaker

    key, public_pem = _rsa_pair()
    rs_settings = Settings(database_url=settings.database_url, jwt_public_key=public_pem)
    app = create_app(rs_settings, engine)
    app.state.sessionmaker = app.state.write_sessionmaker = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    good = jwt.encode(_claims(sub="rs", community_id=world.community_a), key, algorithm="RS256")
    forged = jwt.encode(_claims(sub="rs", community_id=world.community_a), TEST_SECRET)
    with TestClient(app) as rs_client:
        assert (
            rs_client.get("/v1/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
        )
        # An HS256 token signed with some secret must not pass as RS256 (algorithm confusion).
        assert (
            rs_client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )


def test_rs256_with_jwks(settings, engine, connection, world):
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import sessionmaker

    key, _ = _rsa_pair()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "gateway-1", "use": "sig", "alg": "RS256"})
    payload = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        app = create_app(Settings(database_url=settings.database_url, jwt_jwks_url=url), engine)
        app.state.sessionmaker = app.state.write_sessionmaker = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        token = jwt.encode(
            _claims(sub="jwks", community_id=world.community_a),
            key,
            algorithm="RS256",
            headers={"kid": "gateway-1"},
        )
        with TestClient(app) as jwks_client:
            response = jwks_client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
    finally:
        server.shutdown()


def test_api_keys_are_hashed_touched_and_revocable(client, world, db):
    created = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "调度系统"},
        headers=world.dispatcher.headers,
    )
    assert created.status_code == 201
    raw = created.json()["key"]
    assert raw.startswith("lk_")
    stored = db.scalar(select(ApiKey).where(ApiKey.id == created.json()["id"]))
    assert raw not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64

    key_headers = {"Authorization": f"Bearer {raw}"}
    me = client.get("/v1/me", headers=key_headers).json()
    assert me["role"] == "provider_staff" and me["org_role"] == "dispatcher"
    assert me["organization_id"] == world.company
    db.expire_all()
    assert db.get(ApiKey, stored.id).last_used_at is not None

    listed = client.get(
        f"/v1/organizations/{world.company}/api-keys", headers=world.dispatcher.headers
    ).json()
    assert "key" not in listed["items"][0]
    revoked = client.delete(
        f"/v1/organizations/{world.company}/api-keys/{stored.id}", headers=world.dispatcher.headers
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/v1/me", headers=key_headers).status_code == 401


def test_an_api_key_cannot_mint_more_keys(client, world):
    raw = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "k"},
        headers=world.dispatcher.headers,
    ).json()["key"]
    response = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "k2"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 403


STRONG = "Yq3vN8kR2pW7zL5mT9xB4cF6hJ1dG0sA"


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "LINLI_JWT_SECRET"),
        ({"jwt_secret": DEV_JWT_SECRET}, "development secret"),
        ({"jwt_secret": "short"}, "development secret"),
        ({"jwt_secret": STRONG}, "SQLite"),
        # 32 characters and more, but no secret: one letter, spaces, a short cycle,
        # a repeated run of digits.
        ({"jwt_secret": "x" * 40}, "guessable"),
        ({"jwt_secret": " " * 32}, "guessable"),
        ({"jwt_secret": "abcd" * 12}, "guessable"),
        ({"jwt_secret": "1234567890" * 4}, "guessable"),
    ],
)
def test_production_refuses_unsafe_settings(env, message):
    with pytest.raises(ValidationError, match=message):
        Settings(env="prod", database_url="sqlite:///data/x.db", **env)


def test_production_accepts_explicit_sqlite_and_postgres():
    Settings(
        env="prod", jwt_secret=STRONG, database_url="sqlite:///x.db", allow_sqlite_in_prod=True
    )
    Settings(env="prod", jwt_secret=STRONG, database_url="postgresql+psycopg://u@h/db")
    # What the README tells an operator to run, and 32 random hex digits, pass.
    for _ in range(50):
        Settings(env="prod", jwt_secret=secrets.token_urlsafe(48), database_url="postgresql://h/d")
        Settings(env="prod", jwt_secret=secrets.token_hex(16), database_url="postgresql://h/d")
    Settings(
        env="prod",
        jwt_public_key="-----BEGIN PUBLIC KEY-----",
        database_url="postgresql+psycopg://u@h/db",
    )


@pytest.mark.parametrize("value", ["¹", "١", "１", "1.0", " 1", "0x1", True, 1.5, [1]])
def test_ids_in_claims_are_ascii_digits_or_integers(client, world, value):
    """ "¹" answered 500 and "١" (Arabic-Indic one) was read as 1."""
    token = jwt.encode(_claims(sub=f"digits-{value!r}", community_id=value), TEST_SECRET)
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM


def test_a_sub_is_refused_never_normalised(client, world, db):
    """A NUL in `sub` logged in as the user without it (and renamed them); a
    `sub` cut at 200 characters collided with another's."""
    community = world.community_a
    first = jwt.encode(_claims(sub="bob", name="Bob", community_id=community), TEST_SECRET)
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 200
    long_sub = "x" * 200
    second = jwt.encode(_claims(sub=long_sub, community_id=community), TEST_SECRET)
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200

    for sub in ("bob\x00", "\x00bob", "bo\u200bb", "bob\n", long_sub + "y", "", 42):
        token = jwt.encode(_claims(sub=sub, name="Mallory", community_id=community), TEST_SECRET)
        response = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (sub, response.text)
    names = dict(
        db.execute(select(User.sub, User.name).where(User.sub.in_(["bob", long_sub]))).all()
    )
    assert names == {"bob": "Bob", long_sub: "Alice"}
    assert db.scalar(select(func.count()).select_from(User).where(User.name == "Mallory")) == 0
