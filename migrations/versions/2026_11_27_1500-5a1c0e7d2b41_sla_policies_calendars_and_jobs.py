"""sla policies calendars and jobs

SLA policies, business calendars with per-date overrides, escalations, the
clock columns on tickets, and the job runner's lease rows (issue 4). Seeds
the two calendars and the policies of common practice in Chinese property
services; admins edit them through the API.

Revision ID: 5a1c0e7d2b41
Revises: 8df98672767e
Create Date: 2026-11-27 15:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "5a1c0e7d2b41"
down_revision: str | None = "8df98672767e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
KIND = sa.Enum(
    "property", "elderly_care", "complaint", name="ticketkind", native_enum=False, length=16
)
PRIORITY = sa.Enum(
    "emergency", "urgent", "normal", "low", name="priority", native_enum=False, length=16
)

WORKDAY = [["09:00", "18:00"]]
ALL_DAY = [["00:00", "24:00"]]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def upgrade() -> None:
    calendar = op.create_table(
        "calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("official_holidays", sa.Boolean(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar")),
        sa.UniqueConstraint("code", name=op.f("uq_calendar_code")),
    )
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("leased_until", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=200), nullable=True),
        sa.Column("last_started_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_lease")),
    )
    config_version = op.create_table(
        "sla_config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_config_version")),
    )
    op.create_table(
        "calendar_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendar.id"],
            name=op.f("fk_calendar_day_calendar_id_calendar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_day")),
        sa.UniqueConstraint(
            "calendar_id", "observed_on", name=op.f("uq_calendar_day_calendar_id_observed_on")
        ),
    )
    policy = op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", KIND, nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("priority", PRIORITY, nullable=True),
        sa.Column("respond_minutes", sa.Integer(), nullable=True),
        sa.Column("resolve_minutes", sa.Integer(), nullable=True),
        sa.Column("use_preferred_window", sa.Boolean(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("pause_on", sa.JSON(), nullable=False),
        sa.Column("escalate_after_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"], ["calendar.id"], name=op.f("fk_sla_policy_calendar_id_calendar")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policy")),
    )
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "sla_escalation",
        sa.Column("id", big_id, nullable=False),
        sa.Column("ticket_id", big_id, nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("due_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_sla_escalation_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_sla_escalation_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_escalation")),
        sa.UniqueConstraint(
            "ticket_id",
            "clock",
            "cycle",
            "level",
            name=op.f("uq_sla_escalation_ticket_id_clock_cycle_level"),
        ),
    )
    with op.batch_alter_table("sla_escalation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sla_escalation_organization_id"), ["organization_id"], unique=False
        )

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_policy_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("sla_clock_started_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_paused_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        for column in (
            "paused_business_seconds",
            "response_escalation_level",
            "resolution_escalation_level",
        ):
            # A server default, so that bulk loaders (COPY) need not know the column.
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("sla_next_check_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_sla_next_check_at"), ["sla_next_check_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_sla_policy_id_sla_policy"),
            "sla_policy",
            ["sla_policy_id"],
            ["id"],
        )
    # Tickets filed before there were clocks: their resolution clock started at creation.
    op.execute("UPDATE ticket SET sla_clock_started_at = created_at")

    op.bulk_insert(config_version, [{"id": 1, "stamp": "initial"}])

    stamp = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    op.bulk_insert(
        calendar,
        [
            {
                "id": 1,
                "code": "always",
                "name": "Around the clock (全天候)",
                "timezone": None,
                "hours": {day: ALL_DAY for day in DAYS},
                "official_holidays": False,
                "created_at": stamp,
                "updated_at": stamp,
            },
            {
                "id": 2,
                "code": "workdays",
                "name": "Working days 09:00-18:00 with public holidays and 调休",
                "timezone": None,
                "hours": {day: (WORKDAY if day not in ("sat", "sun") else []) for day in DAYS},
                "official_holidays": True,
                "created_at": stamp,
                "updated_at": stamp,
            },
        ],
    )
    hour, day = 60, 24 * 60
    working_day = 9 * hour  # one 09:00-18:00 working day, in working minutes
    defaults = [
        # name kind category priority respond resolve calendar pause_on level-2-delay window
        (
            "Emergency repair (紧急维修)",
            "property",
            None,
            "emergency",
            15,
            4 * hour,
            1,
            ["awaiting_resident"],
            30,
            False,
        ),
        (
            "Urgent repair (急修)",
            "property",
            None,
            "urgent",
            30,
            day,
            1,
            ["awaiting_resident"],
            2 * hour,
            False,
        ),
        (
            "Ordinary repair (一般维修)",
            "property",
            None,
            None,
            2 * hour,
            3 * working_day,
            2,
            ["awaiting_resident", "awaiting_parts"],
            working_day,
            False,
        ),
        (
            "Complaint (投诉)",
            "complaint",
            None,
            None,
            day,
            7 * day,
            1,
            ["awaiting_resident"],
            day,
            False,
        ),
        (
            "Elderly-care emergency help (助急)",
            "elderly_care",
            "elderly.emergency",
            None,
            5,
            None,
            1,
            [],
            10,
            False,
        ),
        (
            "Elderly-care services, as scheduled (养老服务)",
            "elderly_care",
            None,
            None,
            2 * hour,
            3 * working_day,
            2,
            ["awaiting_resident"],
            working_day,
            True,
        ),
    ]
    op.bulk_insert(
        policy,
        [
            {
                "id": index,
                "name": name,
                "kind": kind,
                "category": category,
                "priority": priority,
                "respond_minutes": respond,
                "resolve_minutes": resolve,
                "calendar_id": calendar_id,
                "pause_on": pause_on,
                "escalate_after_minutes": after,
                "use_preferred_window": window,
                "active": True,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for index, (
                name,
                kind,
                category,
                priority,
                respond,
                resolve,
                calendar_id,
                pause_on,
                after,
                window,
            ) in enumerate(defaults, start=1)
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids above: move the sequences past them.
        op.execute("SELECT setval(pg_get_serial_sequence('calendar', 'id'), 2)")
        op.execute(f"SELECT setval(pg_get_serial_sequence('sla_policy', 'id'), {len(defaults)})")


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ticket_sla_policy_id_sla_policy"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_ticket_sla_next_check_at"))
        batch_op.drop_column("sla_next_check_at")
        batch_op.drop_column("resolution_escalation_level")
        batch_op.drop_column("response_escalation_level")
        batch_op.drop_column("paused_business_seconds")
        batch_op.drop_column("sla_paused_at")
        batch_op.drop_column("sla_clock_started_at")
        batch_op.drop_column("sla_policy_id")

    with op.batch_alter_table("sla_escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_escalation_organization_id"))

    op.drop_table("sla_escalation")
    op.drop_table("sla_policy")
    op.drop_table("calendar_day")
    op.drop_table("sla_config_version")
    op.drop_table("job_lease")
    op.drop_table("calendar")
