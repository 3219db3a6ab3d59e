"""One load phase's figures, whichever generator drove it (wrk, or the fixed-rate
generator of bench/rate.py), and wrk's latencies read as milliseconds."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    peak_rss_mb: float | None = None
    # The server process's user + system CPU per request answered, in ms.
    cpu_ms: float | None = None


def ms(value: str) -> float:
    """A latency as wrk prints it ("812.00us", "3.21ms", "1.02s") in milliseconds."""
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
