"""Helpers of service/db.py that the hot paths lean on."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.db import binary_results


def test_binary_results_only_inside(db: Session) -> None:
    """Inside, PostgreSQL answers in binary, with the same Python values; after,
    in text again. SQLite: nothing changes."""
    query = text("SELECT 41 + 1 AS n, CAST('2026-11-27' AS DATE) AS d, 'x' AS s")
    outside = db.execute(query).one()
    driver = db.connection().connection.driver_connection
    with binary_results(db):
        inside = db.execute(query).one()
        if db.get_bind().dialect.name == "postgresql":
            import psycopg

            assert driver.cursor().format == psycopg.pq.Format.BINARY
    assert tuple(inside) == tuple(outside)
    if db.get_bind().dialect.name == "postgresql":
        import psycopg

        assert driver.cursor().format == psycopg.pq.Format.TEXT
