"""media: image uploads and their scores, labelled face sets for the engagement model

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_image_uploads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_uploads")),
        sa.UniqueConstraint("user_id", "sha256", name=op.f("uq_image_uploads_user_id")),
    )
    with op.batch_alter_table("image_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_uploads_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_image_uploads_sha256"), ["sha256"], unique=False)

    op.create_table(
        "image_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("faces", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_image_scores_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["image_uploads.id"],
            name=op.f("fk_image_scores_upload_id_image_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_scores")),
        sa.UniqueConstraint("upload_id", "model_version_id", name=op.f("uq_image_scores_upload_id")),
    )
    with op.batch_alter_table("image_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_scores_model_version_id"), ["model_version_id"], unique=False)

    op.create_table(
        "labelled_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("layout", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=254), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_run_id"],
            ["job_runs.id"],
            name=op.f("fk_labelled_datasets_job_run_id_job_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelled_datasets")),
    )


def downgrade() -> None:
    op.drop_table("labelled_datasets")
    with op.batch_alter_table("image_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_scores_model_version_id"))
    op.drop_table("image_scores")
    with op.batch_alter_table("image_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_uploads_sha256"))
        batch_op.drop_index(batch_op.f("ix_image_uploads_expires_at"))
    op.drop_table("image_uploads")
