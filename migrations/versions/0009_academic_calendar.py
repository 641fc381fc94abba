"""academic: calendar, known weeks of fields, withdrawals, prior failures, institution settings, publications

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terms") as batch:
        batch.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("weeks", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("checkpoint_weeks", sa.JSON(), nullable=True))
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("prior_failures", sa.Float(), nullable=True))
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("withdrawal_week", sa.Float(), nullable=True))
    op.create_table(
        "record_fields",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("known_at_week", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("declared_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_record_fields")),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=40), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_publications_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    with op.batch_alter_table("publications") as batch:
        batch.create_index(batch.f("ix_publications_task"), ["task"], unique=False)
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )


def downgrade() -> None:
    op.drop_table("settings")
    with op.batch_alter_table("publications") as batch:
        batch.drop_index(batch.f("ix_publications_task"))
    op.drop_table("publications")
    op.drop_table("record_fields")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("withdrawal_week")
        batch.drop_column("withdrawn")
    with op.batch_alter_table("students") as batch:
        batch.drop_column("prior_failures")
    with op.batch_alter_table("terms") as batch:
        batch.drop_column("checkpoint_weeks")
        batch.drop_column("weeks")
        batch.drop_column("end_date")
