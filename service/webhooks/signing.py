"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret.

Receivers recompute it from the raw body and the `Linli-Timestamp` header,
compare in constant time with the `v1=` value of `Linli-Signature`, and refuse
timestamps more than a few minutes away from their clock (a captured request
cannot be replayed later: the timestamp is signed too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "Linli-Signature"
TIMESTAMP_HEADER = "Linli-Timestamp"
EVENT_ID_HEADER = "Linli-Event-Id"
EVENT_TYPE_HEADER = "Linli-Event-Type"
DELIVERY_ID_HEADER = "Linli-Delivery-Id"
ATTEMPT_HEADER = "Linli-Delivery-Attempt"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does (headers: case-insensitive mapping, e.g. httpx/starlette)."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    offered = [part.strip() for part in headers.get(SIGNATURE_HEADER, "").split(",")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
