"""The container's start on an empty database: the Dockerfile's environment and
command (`python -m service serve --migrate`, LINLI_ENV=prod), as a process.

Before, the schema arrived but not the category tree, so nobody could file a
ticket; a second start must not undo what an administrator changed since."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from service.auth import mint_token
from service.categories.tree import CATEGORY_TREE
from service.config import Settings
from tests import conftest
from tests.conftest import TEST_SECRET, empty_database
from tests.reliability.servers import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def empty() -> Iterator[conftest.TestDatabase]:
    db = empty_database("linli_image")
    yield db
    if db.cleanup:
        db.cleanup()
    else:
        shutil.rmtree(Path(str(make_url(db.url).database)).parent, ignore_errors=True)


def _image(db: conftest.TestDatabase) -> ServerProcess:
    # The Dockerfile's ENV (LINLI_ENV=prod, SQLite allowed) and CMD.
    return ServerProcess(
        db.url, "image", args=["--migrate"], env="prod", allow_sqlite_in_prod="true"
    )


def _categories(http: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    response = http.get("/v1/categories", headers=headers)
    assert response.status_code == 200, response.text
    return {c["code"]: c for c in response.json()["items"]}


def test_the_image_starts_with_the_category_tree_and_keeps_an_admins_edits(
    empty: conftest.TestDatabase,
) -> None:
    settings = Settings(database_url=empty.url, jwt_secret=TEST_SECRET)
    token = mint_token(settings, sub="province-admin", role="admin", name="自治区住建厅")
    admin = {"Authorization": f"Bearer {token}"}
    server = _image(empty)
    try:
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert set(_categories(http, admin)) == {code for code, *_ in CATEGORY_TREE}
            edits = {
                "repair.heating": {
                    "names": {"en": "Winter heating"},
                    "default_priority": "emergency",
                },
                "neighbour.noise": {"active": False},
            }
            for code, body in edits.items():
                response = http.patch(f"/v1/categories/{code}", json=body, headers=admin)
                assert response.status_code == 200, response.text
            # The tree is what filing needs: a ticket can be filed on this deployment.
            community = _community(http, admin)
            filed = http.post(
                "/v1/tickets",
                json={
                    "category": "repair.heating",
                    "community_id": community,
                    "description": "暖气不热",
                    "channel": "phone",
                    "on_behalf_of": {"name": "买买提", "phone": "13999110000"},
                },
                headers=admin,
            )
            assert filed.status_code == 201, filed.text
            assert filed.json()["priority"] == "emergency"  # the admin's default
        server.stop()

        server.start()  # a restart, or the next release's image
        with httpx.Client(base_url=server.url, timeout=30) as http:
            after = _categories(http, admin)
    finally:
        server.close()
    assert set(after) == {code for code, *_ in CATEGORY_TREE}
    assert after["repair.heating"]["names"]["en"] == "Winter heating"
    assert after["repair.heating"]["default_priority"] == "emergency"
    assert after["neighbour.noise"]["active"] is False


def _community(http: httpx.Client, admin: dict[str, str]) -> int:
    parent = None
    for name, level in (("新疆维吾尔自治区", "province"), ("乌鲁木齐市", "prefecture")):
        body = {"name": name, "level": level, **({"parent_id": parent} if parent else {})}
        parent = http.post("/v1/regions", json=body, headers=admin).json()["id"]
    county = http.post(
        "/v1/regions",
        json={"name": "天山区", "level": "county", "parent_id": parent},
        headers=admin,
    ).json()["id"]
    created = http.post(
        "/v1/communities", json={"name": "幸福路小区", "region_id": county}, headers=admin
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])
