"""Rows written in bulk (executemany), which need their ids before they are written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session


def new_ids(session: Session, table: Any, count: int) -> list[int]:
    """`count` fresh ids of `table`, in increasing order: from the sequence on
    PostgreSQL, after the largest on SQLite (one writer at a time)."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        query = text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id'))"
            " FROM generate_series(1, :n)"
        )
        return sorted(session.scalars(query, {"n": count}))
    first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))

