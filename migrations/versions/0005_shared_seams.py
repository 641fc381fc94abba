"""shared seams: job locks, import kinds, mappings v2, artifact folders with manifests

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:30:00

- job_runs.lock_key (+ a partial unique index: one open run per lock) and job_runs.follow_up;
- import_batches.kind and mapping_presets.kind (existing rows are academic); preset names unique per kind;
- saved mappings rewritten in the import engine's format (version 2: per-field scales, values, options);
- model artifacts registered as single joblib files become folders with a manifest (the registry's format).
"""

import hashlib
import json
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "status IN ('queued', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("lock_key", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("follow_up", sa.String(length=40), nullable=True))
        batch.create_index(
            "uq_job_runs_one_open_per_lock",
            ["lock_key"],
            unique=True,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=40), nullable=False, server_default="academic"))
        batch.create_index(batch.f("ix_import_batches_kind"), ["kind"], unique=False)
    with op.batch_alter_table("mapping_presets") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=40), nullable=False, server_default="academic"))
        batch.drop_constraint("uq_mapping_presets_name", type_="unique")
        batch.create_unique_constraint(batch.f("uq_mapping_presets_kind"), ["kind", "name"])
    _rewrite_saved_mappings()
    _artifacts_into_folders()


def downgrade() -> None:
    with op.batch_alter_table("mapping_presets") as batch:
        batch.drop_constraint("uq_mapping_presets_kind", type_="unique")
        batch.create_unique_constraint("uq_mapping_presets_name", ["name"])
        batch.drop_column("kind")
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_index(batch.f("ix_import_batches_kind"))
        batch.drop_column("kind")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_index("uq_job_runs_one_open_per_lock", sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch.drop_column("follow_up")
        batch.drop_column("lock_key")


def _rewrite_saved_mappings() -> None:
    """Version 1 (academic only: one score_max per field, pass/fail values, default term, pass mark) -> 2."""
    presets = sa.table("mapping_presets", sa.column("id", sa.Integer), sa.column("mapping", sa.JSON))
    conn = op.get_bind()
    for preset_id, mapping in conn.execute(sa.select(presets.c.id, presets.c.mapping)).all():
        old = json.loads(mapping) if isinstance(mapping, str) else dict(mapping or {})
        if old.get("version", 1) != 1:
            continue
        values = {"passed": {"true": old.get("pass_values", []), "false": old.get("fail_values", [])}}
        options = {"pass_mark": old.get("pass_mark", 50.0)}
        if old.get("default_term"):
            options["default_term"] = old["default_term"]
        new = {
            "version": 2,
            "kind": "academic",
            "fields": old.get("fields", {}),
            "extra": old.get("extra", []),
            "scales": old.get("score_max", {}),
            "values": values if values["passed"]["true"] or values["passed"]["false"] else {},
            "options": options,
        }
        conn.execute(presets.update().where(presets.c.id == preset_id).values(mapping=new))


def _artifacts_into_folders() -> None:
    """A legacy artifact `<task>/<name>.joblib` becomes `<task>/<name>/model.joblib` + `manifest.json`."""
    from core.settings import Settings

    models_dir = Settings.from_env().models_dir
    versions = sa.table(
        "model_versions",
        sa.column("id", sa.Integer),
        sa.column("artifact_path", sa.String),
        sa.column("artifact_sha256", sa.String),
    )
    conn = op.get_bind()
    for version_id, relative, sha in conn.execute(
        sa.select(versions.c.id, versions.c.artifact_path, versions.c.artifact_sha256)
    ):
        legacy = models_dir / relative if relative else None
        if legacy is None or not legacy.is_file() or legacy.suffix != ".joblib":
            continue
        folder = legacy.with_suffix("")
        folder.mkdir(exist_ok=True)
        target = folder / "model.joblib"
        os.replace(legacy, target)
        manifest = json.dumps(
            {"format": "joblib", "files": {"model.joblib": {"bytes": target.stat().st_size, "sha256": sha}}},
            indent=2,
            sort_keys=True,
        ).encode()
        (folder / "manifest.json").write_bytes(manifest)
        conn.execute(
            versions.update()
            .where(versions.c.id == version_id)
            .values(
                artifact_path=str(Path(relative).with_suffix("")), artifact_sha256=hashlib.sha256(manifest).hexdigest()
            )
        )
