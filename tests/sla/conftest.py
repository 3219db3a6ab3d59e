from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from service.db import clock_override

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> dt.datetime:
    """Beijing time, as people in Xinjiang's offices read the deadlines."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(dt.UTC)


def iso(text: str) -> str:
    return at(text).isoformat().replace("+00:00", "Z")


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class Clock:
    def __init__(self) -> None:
        self.now = at("2026-03-02T09:00")

    def set(self, text: str) -> None:
        self.now = at(text)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The service's clock, set by the test (utcnow() answers it)."""
    current = Clock()
    with clock_override(lambda: current.now):
        yield current


def _dates(*texts: str) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(text) for text in texts)


# The State Council's notice of 4 November 2025 for 2026, as the clocks see it:
# each holiday period whole, its weekend days included, and the weekend days
# worked instead (调休上班). The same days as chinesecalendar 1.11.0, used before.
HOLIDAYS_2026 = _dates(
    *("2026-01-01", "2026-01-02", "2026-01-03"),  # 元旦
    *(f"2026-02-{day}" for day in range(15, 24)),  # 春节 2/15-2/23
    *("2026-04-04", "2026-04-05", "2026-04-06"),  # 清明节
    *(f"2026-05-0{day}" for day in range(1, 6)),  # 劳动节 5/1-5/5
    *("2026-06-19", "2026-06-20", "2026-06-21"),  # 端午节
    *("2026-09-25", "2026-09-26", "2026-09-27"),  # 中秋节
    *(f"2026-10-0{day}" for day in range(1, 8)),  # 国庆节 10/1-10/7
)
MAKEUP_WORKDAYS_2026 = _dates(
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"
)
