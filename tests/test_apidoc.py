"""The API pages: /docs and /redoc served from this server, nothing from a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from service.config import Settings
from service.main import create_app
from tests.conftest import TEST_SECRET

APP = create_app(
    Settings(database_url="sqlite://", jwt_secret=TEST_SECRET), create_engine("sqlite://")
)


# --- /docs and /redoc ---------------------------------------------------------------

ASSET_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
    ".json": {"application/json"},
}


@pytest.fixture(scope="module")
def docs() -> Iterator[TestClient]:
    """The app without a database: the pages and the document need none."""
    with TestClient(APP, raise_server_exceptions=False) as client:
        yield client


def _page_urls(html: str) -> list[str]:
    """Every URL a page loads: src/href attributes, Swagger UI's `url` and ReDoc's spec-url."""
    return re.findall(r'(?:src|href|spec-url)="([^"]+)"', html) + re.findall(
        r"""\burl['"]?\s*:\s*['"]([^'"]+)['"]""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_pages_load_everything_from_this_server(docs: TestClient, page: str) -> None:
    html = docs.get(page)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html.text), html.text
    urls = _page_urls(html.text)
    assert {".js", ".json"} <= {Path(urlparse(url).path).suffix for url in urls}, urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        answer = docs.get(url)
        assert answer.status_code == 200, url
        want = ASSET_TYPES[Path(urlparse(url).path).suffix]
        assert answer.headers["content-type"].split(";")[0] in want, (url, answer.headers)
        if url.endswith(".css"):  # what the style sheet loads in turn: inline only
            assert all(
                ref.strip("'\" ").startswith("data:")
                for ref in re.findall(r"url\(([^)]*)\)", answer.text)
            )


def test_api_pages_behind_a_path_prefix_point_under_it() -> None:
    prefixed = TestClient(APP, root_path="/linli")
    for page in ("/docs", "/redoc"):
        urls = _page_urls(prefixed.get(page).text)
        assert urls and all(url.startswith("/linli/") for url in urls), urls
