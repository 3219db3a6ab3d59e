"""Rows written in bulk (executemany), which need their ids before they are written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
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


def first_free_id(connection: Session | Connection, table: str) -> int:
    """The id after the largest in `table`: where a generator that has the
    database to itself starts numbering its rows."""
    return (connection.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0) + 1


def catch_up_sequence(connection: Session | Connection, table: str) -> None:
    """After rows were written with ids of their own: PostgreSQL's sequence
    goes on after the largest (SQLite needs nothing)."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "postgresql":
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
        )
