"""view cache

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:10:42.313140
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "view_cache",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_view_cache")),
    )


def downgrade() -> None:
    op.drop_table("view_cache")
