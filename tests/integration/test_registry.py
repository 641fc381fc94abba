"""The model registry: artifact folders with a verified manifest, one production version per task, promote and
roll back, version numbers that never collide, failed trainings recorded."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from core import db
from core.models import ModelVersion
from ml import registry

JOBLIB = registry.JoblibFormat()


@dataclass(frozen=True)
class TwoFileFormat:
    """A model as two files, as LightGBM text + metadata or a .keras file + its .onnx export would be."""

    name: str = "two_files"

    def dump(self, model: dict, folder: Path) -> None:
        (folder / "weights.bin").write_bytes(bytes(model["weights"]))
        (folder / "export").mkdir()
        (folder / "export" / "meta.json").write_text(json.dumps({"label": model["label"]}))

    def load(self, folder: Path) -> dict:
        meta = json.loads((folder / "export" / "meta.json").read_text())
        return {"weights": list((folder / "weights.bin").read_bytes()), "label": meta["label"]}


def register(task: str = "demo_task", value: int = 1, artifact_format=JOBLIB) -> ModelVersion:
    return registry.register(
        task,
        {"weights": [value] * 10, "label": f"v{value}"},
        artifact_format=artifact_format,
        metrics={"roc_auc": 0.5 + value / 100},
        params={"value": value},
        data_summary={"rows": 10},
        created_by="test",
    )


def test_versions_count_up_per_task(app):
    assert [register().version for _ in range(3)] == [1, 2, 3]
    assert register("other_task").version == 1


def test_a_version_is_a_folder_with_a_manifest_and_no_temporary_files(app, data_dir):
    version = register()
    folder = data_dir / "models" / version.artifact_path
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "joblib" and set(manifest["files"]) == {"model.joblib"}
    assert len(version.artifact_sha256) == 64
    assert registry.load(version, JOBLIB) == {"weights": [1] * 10, "label": "v1"}
    assert not list(folder.parent.glob(".tmp-*"))


def test_a_multi_file_artifact_loads_with_its_own_format(app):
    version = register(value=7, artifact_format=TwoFileFormat())
    assert registry.load(version, TwoFileFormat()) == {"weights": [7] * 10, "label": "v7"}


def test_one_corrupted_file_of_a_multi_file_artifact_refuses_to_load(app, data_dir):
    version = register(value=7, artifact_format=TwoFileFormat())
    meta = data_dir / "models" / version.artifact_path / "export" / "meta.json"
    meta.write_text(json.dumps({"label": "tampered"}))
    with pytest.raises(registry.ArtifactIntegrityError, match=r"export/meta\.json does not match its sha256"):
        registry.load(version, TwoFileFormat())


def test_a_missing_file_or_an_edited_manifest_refuses_to_load(app, data_dir):
    version = register(value=3, artifact_format=TwoFileFormat())
    folder = data_dir / "models" / version.artifact_path
    (folder / "weights.bin").unlink()
    with pytest.raises(registry.ArtifactIntegrityError, match=r"weights\.bin is missing"):
        registry.load(version, TwoFileFormat())
    other = register(value=4)
    manifest = data_dir / "models" / other.artifact_path / "manifest.json"
    manifest.write_text(manifest.read_text().replace("joblib", "JOBLIB"))
    with pytest.raises(registry.ArtifactIntegrityError, match=r"manifest\.json does not match"):
        registry.load(other, JOBLIB)


def test_promote_archives_the_previous_production_version(app):
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    registry.promote(second)
    statuses = {v.version: v.status for v in ModelVersion.for_task("demo_task")}
    assert statuses == {1: "archived", 2: "production"}


def test_rollback_target_is_the_version_production_replaced(app):
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    registry.promote(second)
    assert registry.rollback_target("demo_task").version == 1


def test_rollback_without_history_says_why(app):
    registry.promote(register())
    with pytest.raises(registry.RegistryError, match="no earlier production version"):
        registry.rollback_target("demo_task")


def test_database_refuses_two_production_versions(app):
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    second.status = "production"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_concurrent_registrations_get_distinct_version_numbers(app):
    errors: list[BaseException] = []

    def register_in_thread(value: int) -> None:
        try:
            register(value=value)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            db.session.remove()

    threads = [threading.Thread(target=register_in_thread, args=(v,)) for v in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = ModelVersion.for_task("demo_task")
    assert sorted(v.version for v in versions) == [1, 2, 3, 4, 5, 6]
    assert len({v.artifact_path for v in versions}) == 6


def test_serving_notices_a_promotion_without_restart(app, monkeypatch):
    from ml import task

    monkeypatch.setitem(task.TASK_MODULES, "demo_task", "tests.integration.test_registry")
    first, second = register(value=1), register(value=2)
    registry.promote(first)
    assert registry.load_production("demo_task").model["label"] == "v1"
    registry.promote(second)
    loaded = registry.load_production("demo_task")
    assert loaded.version.version == 2 and loaded.model["label"] == "v2"


def test_a_crash_while_writing_leaves_no_registered_version_and_no_files(app, data_dir):
    @dataclass(frozen=True)
    class DiskFull:
        name: str = "disk_full"

        def dump(self, model, folder: Path) -> None:
            (folder / "half.bin").write_bytes(b"half")
            raise OSError("disk full")

    before = set((data_dir / "models").rglob("*"))
    with pytest.raises(OSError, match="disk full"):
        register(artifact_format=DiskFull())
    assert ModelVersion.for_task("demo_task") == []
    assert set((data_dir / "models").rglob("*")) - before <= {data_dir / "models" / "demo_task"}


def test_a_failed_training_is_recorded_with_its_reason_and_cannot_be_promoted(app):
    failed = registry.record_failure("demo_task", "InsufficientDataError: only one term", created_by="test")
    assert (failed.status, failed.version, failed.note) == ("failed", 1, "InsufficientDataError: only one term")
    assert register().version == 2
    with pytest.raises(registry.RegistryError, match="failed and cannot be promoted"):
        registry.promote(failed)


class _DemoTask:
    """Lets `load_production` find the artifact format of the test task."""

    artifact_format = JOBLIB


TASK = _DemoTask()
