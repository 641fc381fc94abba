"""campus: buildings, venues, class sessions, attendance observations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("code", name=op.f("uq_buildings_code")),
    )
    op.create_table(
        "venues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("venue_type", sa.String(length=20), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("safe_capacity", sa.Integer(), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_venues_capacity_positive")),
        sa.CheckConstraint(
            "safe_capacity > 0 AND safe_capacity <= capacity", name=op.f("ck_venues_safe_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_venues_building_id_buildings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_venues_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
        sa.UniqueConstraint("code", name=op.f("uq_venues_code")),
    )
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venues_building_id"), ["building_id"], unique=False)

    op.create_table(
        "class_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("section_code", sa.String(length=60), nullable=False),
        sa.Column("course_code", sa.String(length=40), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("needs_type", sa.String(length=20), nullable=False),
        sa.Column("needs_accessible", sa.Boolean(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("registered >= 0", name=op.f("ck_class_sessions_registered_range")),
        sa.CheckConstraint("slot >= 0", name=op.f("ck_class_sessions_slot_range")),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name=op.f("ck_class_sessions_weekday_range")),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_class_sessions_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["term_id"], ["terms.id"], name=op.f("fk_class_sessions_term_id_terms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_class_sessions_venue_id_venues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_sessions")),
        sa.UniqueConstraint("term_id", "section_code", "weekday", "slot", name="uq_class_sessions_section_time"),
        # No double booking, even from two transactions at once: the database refuses the second.
        sa.UniqueConstraint("term_id", "venue_id", "weekday", "slot", name="uq_class_sessions_venue_time"),
    )
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_class_sessions_course_code"), ["course_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_class_sessions_venue_id"), ["venue_id"], unique=False)

    op.create_table(
        "attendance_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=True),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("head_count", sa.Integer(), nullable=True),
        sa.Column("count_method", sa.String(length=20), nullable=True),
        sa.Column("survey_pct", sa.Integer(), nullable=True),
        sa.Column("wifi_avg", sa.Float(), nullable=True),
        sa.Column("wifi_max", sa.Integer(), nullable=True),
        sa.Column("co2_ppm", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("head_count >= 0", name=op.f("ck_attendance_observations_head_count_range")),
        sa.CheckConstraint("survey_pct IN (0, 25, 50, 75, 100)", name=op.f("ck_attendance_observations_survey_bin")),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_attendance_observations_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_attendance_observations_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_attendance_observations_venue_id_venues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_observations")),
        sa.UniqueConstraint("session_id", "week", name=op.f("uq_attendance_observations_session_id")),
    )
    with op.batch_alter_table("attendance_observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_observations_venue_id"), ["venue_id"], unique=False)

    op.create_table(
        "occupancy_predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("overcrowding_probability", sa.Float(), nullable=True),
        sa.Column("overcrowding_version_id", sa.Integer(), nullable=True),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_occupancy_predictions_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["overcrowding_version_id"],
            ["model_versions.id"],
            name=op.f("fk_occupancy_predictions_overcrowding_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_occupancy_predictions_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occupancy_predictions")),
        sa.UniqueConstraint(
            "model_version_id", "session_id", "week", name=op.f("uq_occupancy_predictions_model_version_id")
        ),
    )
    with op.batch_alter_table("occupancy_predictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_occupancy_predictions_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_occupancy_predictions_version_week", ["model_version_id", "week"], unique=False)


def downgrade() -> None:
    op.drop_table("occupancy_predictions")
    op.drop_table("attendance_observations")
    op.drop_table("class_sessions")
    op.drop_table("venues")
    op.drop_table("buildings")
