"""index risk predictions by version, checkpoint and probability

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:54:36.750508
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_predictions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_predictions_version_checkpoint_probability",
            ["model_version_id", "checkpoint", "probability"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_predictions_version_checkpoint_probability")
