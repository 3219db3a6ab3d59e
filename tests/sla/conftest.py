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
