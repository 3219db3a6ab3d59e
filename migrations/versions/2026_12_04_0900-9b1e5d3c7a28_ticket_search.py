"""ticket search

Text search over tickets (issue 19, service/tickets/search.py): the column
`ticket.search_terms` holds the words of the title, description, building and
unit as search.ticket_terms makes them (CJK bigrams, lowercased words), filled
here for the tickets filed before, in batches. On PostgreSQL it is a tsvector
with a GIN index (built after the fill: one bulk build, not a million
insertions); SQLite in an FTS5 table over the column (external content, so the
terms are not stored twice) kept by triggers in the writing transaction.

Neither index is in the models (one is an expression index of PostgreSQL only,
the other a virtual table): service/tables.py `made_by_migrations` keeps
autogenerate and the drift test from proposing to drop them. A later batch
migration that recreates `ticket` on SQLite drops its triggers with it: that
migration must make them again (tests/tickets/test_search.py would fail).

Revision ID: 9b1e5d3c7a28
Revises: 8d4f0a2c6e15
Create Date: 2026-12-04 09:00:00
"""

import logging
import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The one function that makes the terms: the app's queries must find what this
# wrote. A later change to it comes with a migration that fills them again.
from service.tickets.search import ticket_terms

revision: str = "9b1e5d3c7a28"
down_revision: str | None = "8d4f0a2c6e15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000

PG_INDEX = "CREATE INDEX ix_ticket_search_terms ON ticket USING gin (search_terms)"
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE ticket_search USING fts5(search_terms, content='ticket', "
    "content_rowid='id', detail='none', tokenize='unicode61 remove_diacritics 0')"
)
# External content: FTS5 reads the column back from `ticket`, and a change must
# delete exactly the old terms before adding the new.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket "
    "WHEN new.search_terms IS NOT NULL BEGIN "
    "INSERT INTO ticket_search (rowid, search_terms) VALUES (new.id, new.search_terms); END",
    "CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket "
    "WHEN old.search_terms IS NOT NULL BEGIN "
    "INSERT INTO ticket_search (ticket_search, rowid, search_terms) "
    "VALUES ('delete', old.id, old.search_terms); END",
    "CREATE TRIGGER ticket_search_update AFTER UPDATE OF search_terms ON ticket BEGIN "
    "INSERT INTO ticket_search (ticket_search, rowid, search_terms) "
    "SELECT 'delete', old.id, old.search_terms WHERE old.search_terms IS NOT NULL; "
    "INSERT INTO ticket_search (rowid, search_terms) "
    "SELECT new.id, new.search_terms WHERE new.search_terms IS NOT NULL; END",
)
TRIGGER_NAMES = ("ticket_search_insert", "ticket_search_delete", "ticket_search_update")


def _fill(bind: sa.Connection) -> int:
    """Every ticket's terms, BATCH tickets a statement, walking the primary key."""
    postgres = bind.dialect.name == "postgresql"
    read = sa.text(
        "SELECT id, title, description, building, unit FROM ticket "
        "WHERE id > :after ORDER BY id LIMIT :batch"
    )
    if postgres:
        write = sa.text(
            "UPDATE ticket SET search_terms = CAST(v.terms AS tsvector) FROM "
            "(SELECT unnest(CAST(:ids AS bigint[])) AS id, "
            "unnest(CAST(:terms AS text[])) AS terms) AS v WHERE ticket.id = v.id"
        )
    else:
        write = sa.text("UPDATE ticket SET search_terms = :terms WHERE id = :id")
    after, done = 0, 0
    while True:
        rows = bind.execute(read, {"after": after, "batch": BATCH}).all()
        if not rows:
            return done
        terms = [ticket_terms(r.title, r.description, r.building, r.unit) for r in rows]
        if postgres:
            bind.execute(write, {"ids": [r.id for r in rows], "terms": terms})
        else:
            pairs = zip(rows, terms, strict=True)
            bind.execute(write, [{"id": r.id, "terms": t} for r, t in pairs])
        after, done = rows[-1].id, done + len(rows)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # PostgreSQL: a tsvector, which a search tests without parsing (the terms
    # are written as their text, which is valid tsvector input as it is).
    kind = postgresql.TSVECTOR() if postgres else sa.Text()
    op.add_column("ticket", sa.Column("search_terms", kind, nullable=True))
    started = time.perf_counter()
    filled = _fill(bind)
    logging.getLogger("alembic.runtime.migration").info(
        "ticket search: terms of %d tickets in %.1fs", filled, time.perf_counter() - started
    )
    if postgres:
        # Room for the GIN build in memory (this transaction only).
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")
        op.execute(PG_INDEX)
        # The planner's statistics of the index's expression (how common each
        # term is): without them it guesses, and walks the list for a rare word.
        op.execute("ANALYZE ticket")
    else:
        op.execute(SQLITE_FTS)
        op.execute("INSERT INTO ticket_search (ticket_search) VALUES ('rebuild')")
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_ticket_search_terms")
        op.drop_column("ticket", "search_terms")
        return
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE ticket_search")
    # SQLite 3.35+ drops a column in place: no batch copy of the whole table.
    op.execute("ALTER TABLE ticket DROP COLUMN search_terms")
