"""The model registry: atomic artifacts with sha256, one production version per task, promote and roll back."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from core import db
from core.models import ModelVersion
from ml import registry


def register(task: str = "demo_task", value: int = 1) -> ModelVersion:
    return registry.register(
        task,
        {"weights": [value] * 10},
        metrics={"roc_auc": 0.5 + value / 100},
        params={"value": value},
        data_summary={"rows": 10},
        created_by="test",
    )


def test_versions_count_up_per_task(app):
    assert [register().version for _ in range(3)] == [1, 2, 3]
    assert register("other_task").version == 1


def test_artifact_is_written_with_its_sha256_and_no_temporary_files(app, data_dir):
    version = register()
    path = data_dir / "models" / version.artifact_path
    assert path.is_file() and len(version.artifact_sha256) == 64
    assert registry.load(version) == {"weights": [1] * 10}
    assert not list(path.parent.glob(".*.tmp"))


def test_tampered_artifact_is_refused(app, data_dir):
    version = register()
    (data_dir / "models" / version.artifact_path).write_bytes(b"not the model")
    with pytest.raises(registry.ArtifactIntegrityError, match="sha256"):
        registry.load(version)


def test_promote_archives_the_previous_production_version(app):
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    registry.promote(second)
    statuses = {v.version: v.status for v in ModelVersion.for_task("demo_task")}
    assert statuses == {1: "archived", 2: "production"}


def test_rollback_restores_the_previous_production_version(app):
    first, second, third = register(value=1), register(value=2), register(value=3)
    registry.promote(first)
    registry.promote(second)
    registry.promote(third)
    assert registry.rollback("demo_task").version == 2
    assert registry.rollback("demo_task").version == 1
    assert ModelVersion.production("demo_task").version == 1


def test_rollback_without_history_says_why(app):
    registry.promote(register())
    with pytest.raises(registry.RegistryError, match="no earlier production version"):
        registry.rollback("demo_task")


def test_database_refuses_two_production_versions(app):
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    second.status = "production"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_serving_notices_a_promotion_without_restart(app):
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    assert registry.load_production("demo_task").model == {"weights": [1] * 10}
    registry.promote(second)
    loaded = registry.load_production("demo_task")
    assert loaded.version.version == 2 and loaded.model == {"weights": [2] * 10}


def test_a_crash_while_writing_leaves_no_registered_file(app, data_dir, monkeypatch):
    def broken_dump(*_args, **_kwargs):
        raise OSError("disk full")

    before = set((data_dir / "models").rglob("*"))
    monkeypatch.setattr(registry.joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        register()
    assert ModelVersion.for_task("demo_task") == []
    assert set((data_dir / "models").rglob("*")) - before <= {data_dir / "models" / "demo_task"}
