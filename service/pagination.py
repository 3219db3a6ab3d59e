"""Opaque keyset cursors: a kind letter and the last id seen, base64url-encoded.

The kind keeps a cursor of one list from being replayed against another."""

from __future__ import annotations

import base64

from service.errors import Invalid, Unprocessable


def encode_cursor(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """The id in a cursor we issued for `kind`; 422 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != kind or not value.isdigit() or int(value) >= 2**63:
            raise ValueError(cursor)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable("cursor.bad", errors=[Invalid("cursor", "cursor.not_ours")]) from exc
