"""Bounds on expensive reads: a metrics summary over a province can take seconds
of a worker thread and of the database. Measured from outside: four of them in
parallel by one technician slowed everyone's ticket list from 0.11 to 6.7 s.
So each caller has at most LINLI_EXPENSIVE_READS_PER_CALLER of them in progress
(the next answers 429 with Retry-After) and a process at most
LINLI_EXPENSIVE_READS_IN_FLIGHT (503), counted on the event loop before the
request takes a thread or a connection."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from service.auth import CurrentPrincipal
from service.errors import ServiceUnavailable, TooManyRequests


class ReadGate:
    def __init__(self, per_caller: int, in_flight: int) -> None:
        self.per_caller = per_caller
        self.in_flight = in_flight
        self.callers: collections.Counter[str] = collections.Counter()

    def enter(self, caller: str, retry_after: int) -> None:
        if self.callers[caller] >= self.per_caller:
            raise TooManyRequests(
                "overload.reads_per_caller", retry_after=retry_after, limit=self.per_caller
            )
        if self.callers.total() >= self.in_flight:
            raise ServiceUnavailable("overload.reads_in_flight", retry_after=retry_after)
        self.callers[caller] += 1

    def leave(self, caller: str) -> None:
        self.callers[caller] -= 1
        if self.callers[caller] <= 0:
            del self.callers[caller]


async def expensive_read(request: Request, principal: CurrentPrincipal) -> AsyncIterator[None]:
    """A dependency: the request counts against the gate until its endpoint returns."""
    gate: ReadGate = request.app.state.read_gate
    gate.enter(principal.owner_key, request.app.state.settings.retry_after_seconds)
    try:
        yield
    finally:
        gate.leave(principal.owner_key)


ExpensiveRead = Annotated[None, Depends(expensive_read)]
