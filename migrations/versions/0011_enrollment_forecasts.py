"""ministry: enrollment forecasts and what the ministry view reads

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

FORECAST_INDEXES = {
    "ix_enrollment_forecasts_version_stage_change": ["model_version_id", "stage", "change"],
    "ix_enrollment_forecasts_version_uf_stage_change": ["model_version_id", "co_uf", "stage", "change"],
    "ix_enrollment_forecasts_version_municipality": ["model_version_id", "co_municipio", "stage"],
    "ix_enrollment_forecasts_version_school": ["model_version_id", "co_entidade"],
    "ix_enrollment_forecasts_version_stage_per_class": ["model_version_id", "stage", "per_class_next"],
}


def upgrade() -> None:
    op.create_table(
        "enrollment_forecasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("co_entidade", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("co_uf", sa.SmallInteger(), nullable=False),
        sa.Column("co_municipio", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("forecast", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=False),
        sa.Column("upper", sa.Float(), nullable=False),
        sa.Column("change", sa.Float(), nullable=False),
        sa.Column("cohort", sa.Float(), nullable=False),
        sa.Column("teachers", sa.Integer(), nullable=True),
        sa.Column("classes", sa.Integer(), nullable=True),
        sa.Column("per_teacher_next", sa.Float(), nullable=True),
        sa.Column("per_class_next", sa.Float(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_enrollment_forecasts_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_forecasts")),
    )
    for name, columns in FORECAST_INDEXES.items():
        op.create_index(name, "enrollment_forecasts", columns)
    op.create_table(
        "enrollment_area_forecasts",
        sa.Column("model_version_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("code", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("co_uf", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("enrollment", sa.Integer(), nullable=True),
        sa.Column("teachers", sa.Integer(), nullable=True),
        sa.Column("classes", sa.Integer(), nullable=True),
        sa.Column("schools", sa.Integer(), nullable=True),
        sa.Column("forecast", sa.Float(), nullable=True),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("cohort", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_enrollment_area_forecasts_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_version_id", "level", "code", "stage", "year", name=op.f("pk_enrollment_area_forecasts")
        ),
    )
    op.create_index(
        "ix_enrollment_area_forecasts_version_level_uf",
        "enrollment_area_forecasts",
        ["model_version_id", "level", "co_uf"],
    )


def downgrade() -> None:
    op.drop_table("enrollment_area_forecasts")
    op.drop_table("enrollment_forecasts")
