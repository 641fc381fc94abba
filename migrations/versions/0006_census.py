"""census: schools, census years, census refreshes, enrollment aggregates

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STAGE_TOTALS = ("schools", "enrollment", "teachers", "classes")


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("co_entidade", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uf", sa.String(length=2), nullable=False),
        sa.Column("co_uf", sa.SmallInteger(), nullable=False),
        sa.Column("co_municipio", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.String(length=120), nullable=False),
        sa.Column("dependency", sa.SmallInteger(), nullable=False),
        sa.Column("location", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("first_year", sa.SmallInteger(), nullable=False),
        sa.Column("last_year", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("co_entidade", name=op.f("pk_schools")),
    )
    op.create_index("ix_schools_co_uf_co_municipio", "schools", ["co_uf", "co_municipio"])
    op.create_table(
        "census_years",
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("load_id", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("active_schools", sa.Integer(), nullable=False),
        sa.Column("csv_md5", sa.String(length=32), nullable=True),
        sa.Column("md5_check", sa.String(length=10), nullable=False),
        sa.Column("renamed_columns", sa.JSON(), nullable=False),
        sa.Column("missing_columns", sa.JSON(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_census_years")),
    )
    op.create_table(
        "census_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refresh_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("csv_md5", sa.String(length=32), nullable=True),
        sa.Column("md5_check", sa.String(length=10), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("download_s", sa.Float(), nullable=True),
        sa.Column("load_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["job_runs.id"], name=op.f("fk_census_refreshes_run_id_job_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_census_refreshes")),
    )
    op.create_index(op.f("ix_census_refreshes_refresh_id"), "census_refreshes", ["refresh_id"])
    op.create_index(op.f("ix_census_refreshes_year"), "census_refreshes", ["year"])
    op.create_table(
        "census_uf_enrollment",
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("co_uf", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("dependency", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("location", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("uf", sa.String(length=2), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in STAGE_TOTALS),
        sa.PrimaryKeyConstraint(
            "year", "co_uf", "dependency", "location", "stage", name=op.f("pk_census_uf_enrollment")
        ),
    )
    op.create_table(
        "census_municipality_enrollment",
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("co_municipio", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("co_uf", sa.SmallInteger(), nullable=False),
        sa.Column("municipality", sa.String(length=120), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in STAGE_TOTALS),
        sa.PrimaryKeyConstraint("year", "co_municipio", "stage", name=op.f("pk_census_municipality_enrollment")),
    )
    op.create_index("ix_census_municipality_enrollment_co_uf_year", "census_municipality_enrollment", ["co_uf", "year"])


def downgrade() -> None:
    op.drop_index("ix_census_municipality_enrollment_co_uf_year", table_name="census_municipality_enrollment")
    op.drop_table("census_municipality_enrollment")
    op.drop_table("census_uf_enrollment")
    op.drop_index(op.f("ix_census_refreshes_year"), table_name="census_refreshes")
    op.drop_index(op.f("ix_census_refreshes_refresh_id"), table_name="census_refreshes")
    op.drop_table("census_refreshes")
    op.drop_table("census_years")
    op.drop_index("ix_schools_co_uf_co_municipio", table_name="schools")
    op.drop_table("schools")
