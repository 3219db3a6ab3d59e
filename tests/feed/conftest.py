from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.feed.live import Live, live_linli


@pytest.fixture(scope="module")
def live_feed() -> Iterator[Live]:
    with live_linli("linli_feed") as live:
        yield live
