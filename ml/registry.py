"""The model registry: artifact folders plus `model_versions` rows, one production version per task.

A version's artifact is a folder of files of any shape (a joblib pickle, LightGBM/XGBoost native files, a
`.keras` file plus its `.onnx` export...) written by the task's `ArtifactFormat`, and a `manifest.json` listing
each file with its size and sha256. The folder is written under a temporary name, fsynced and renamed, so a
crash never leaves a half-written version under a registered name; the row records the manifest's sha256, and
loading checks the manifest and every file it lists before anything is deserialised.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.db import session, utcnow
from core.models import ModelVersion
from core.settings import Settings

MANIFEST = "manifest.json"
REGISTER_ATTEMPTS = 20  # concurrent registrations of one task retry with the next version number


class RegistryError(Exception):
    """A registry operation that cannot be done as asked (the message says why)."""


class ArtifactIntegrityError(RegistryError):
    """The artifact on disk is missing, incomplete or not the files that were registered."""


class ArtifactFormat(Protocol):
    """How a task writes its model into a folder and reads it back."""

    name: str

    def dump(self, model: Any, folder: Path) -> None: ...

    def load(self, folder: Path) -> Any: ...


@dataclass(frozen=True)
class JoblibFormat:
    """The whole model as one compressed joblib pickle (scikit-learn pipelines and friends)."""

    filename: str = "model.joblib"
    name: str = "joblib"

    def dump(self, model: Any, folder: Path) -> None:
        import joblib

        joblib.dump(model, folder / self.filename, compress=3)

    def load(self, folder: Path) -> Any:
        import joblib

        return joblib.load(folder / self.filename)


def register(
    task: str,
    model: Any,
    *,
    artifact_format: ArtifactFormat,
    metrics: dict,
    params: dict,
    data_summary: dict,
    created_by: str,
    models_dir: Path | None = None,
) -> ModelVersion:
    """Save `model` as a folder of files and record it as the task's next candidate version."""
    models_dir = models_dir or Settings.from_env().models_dir
    relative, manifest_sha = _write_folder(model, artifact_format, models_dir, task)
    try:
        return _insert_version(
            task,
            status="candidate",
            metrics=metrics,
            params=params,
            data_summary=data_summary,
            artifact_path=str(relative),
            artifact_sha256=manifest_sha,
            created_by=created_by,
        )
    except BaseException:
        shutil.rmtree(models_dir / relative, ignore_errors=True)
        raise


def record_failure(task: str, reason: str, *, created_by: str, params: dict | None = None) -> ModelVersion:
    """Record a training attempt that failed (status `failed`, the reason in `note`, no artifact)."""
    return _insert_version(
        task,
        status="failed",
        metrics={},
        params=params or {},
        data_summary={},
        artifact_path="",
        artifact_sha256="",
        created_by=created_by,
        note=reason[:4000],
    )


def promote(version: ModelVersion, *, note: str = "", rollback: bool = False) -> ModelVersion:
    """Make `version` the task's production version; the previous one is archived."""
    if version.status == "failed":
        raise RegistryError(f"{version.task} v{version.version} failed and cannot be promoted")
    if version.status == "production":
        return version
    verify(version)
    current = ModelVersion.production(version.task)
    if current is not None:
        current.status = "archived"
        session.flush()  # the one-production index must see the old row leave first
        if not rollback:
            version.previous_id = current.id
    version.status = "production"
    version.promoted_at = utcnow()
    if note:
        version.note = note
    session.commit()
    return version


def rollback_target(task: str) -> ModelVersion:
    """The version that was in production before the current one (RegistryError when there is none)."""
    current = ModelVersion.production(task)
    previous = session.get(ModelVersion, current.previous_id) if current and current.previous_id else None
    if previous is None:
        raise RegistryError(f"{task} has no earlier production version to roll back to")
    return previous


def load(version: ModelVersion, artifact_format: ArtifactFormat, models_dir: Path | None = None) -> Any:
    """Load a version's model after checking its manifest and every file in it."""
    return artifact_format.load(verify(version, models_dir))


def verify(version: ModelVersion, models_dir: Path | None = None) -> Path:
    """The version's artifact folder, once its manifest and every listed file match what was registered."""
    label = f"{version.task} v{version.version}"
    if not version.artifact_path:
        raise ArtifactIntegrityError(f"{label} has no artifact (status {version.status})")
    folder = (models_dir or Settings.from_env().models_dir) / version.artifact_path
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactIntegrityError(f"{label}: {manifest_path} is missing")
    manifest_bytes = manifest_path.read_bytes()
    if hashlib.sha256(manifest_bytes).hexdigest() != version.artifact_sha256:
        raise ArtifactIntegrityError(f"{label}: {manifest_path} does not match the registered sha256")
    for name, entry in json.loads(manifest_bytes)["files"].items():
        path = folder / name
        if not path.is_file():
            raise ArtifactIntegrityError(f"{label}: artifact file {name} is missing")
        if path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
            raise ArtifactIntegrityError(f"{label}: artifact file {name} does not match its sha256 (corrupted?)")
    return folder


@dataclass(frozen=True)
class Loaded:
    version: ModelVersion
    model: Any


_cache: dict[str, tuple[int, str, Any]] = {}
_cache_lock = threading.Lock()


def load_production(task: str) -> Loaded | None:
    """The task's production model, cached per process and reloaded when another version is promoted."""
    from ml.task import task_spec

    version = ModelVersion.production(task)
    if version is None:
        return None
    with _cache_lock:
        cached = _cache.get(task)
        if cached is None or cached[:2] != (version.id, version.artifact_sha256):
            _cache[task] = (version.id, version.artifact_sha256, load(version, task_spec(task).artifact_format))
        return Loaded(version, _cache[task][2])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _insert_version(task: str, **columns) -> ModelVersion:
    """Insert the task's next version; a concurrent registration that took the number makes us take the next."""
    for _ in range(REGISTER_ATTEMPTS):
        number = (session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.task == task)) or 0) + 1
        row = ModelVersion(task=task, version=number, **columns)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        return row
    raise RegistryError(f"could not allocate a version number for {task} after {REGISTER_ATTEMPTS} attempts")


def _write_folder(model: Any, artifact_format: ArtifactFormat, models_dir: Path, task: str) -> tuple[Path, str]:
    """Dump into a temporary folder, write its manifest, fsync everything, then rename it into place."""
    parent = models_dir / task
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        artifact_format.dump(model, tmp)
        files = {}
        for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
            _fsync(path)
            files[path.relative_to(tmp).as_posix()] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
        if not files:
            raise RegistryError(f"the {artifact_format.name} format wrote no files for {task}")
        manifest = json.dumps({"format": artifact_format.name, "files": files}, indent=2, sort_keys=True).encode()
        (tmp / MANIFEST).write_bytes(manifest)
        _fsync(tmp / MANIFEST)
        manifest_sha = hashlib.sha256(manifest).hexdigest()
        relative = Path(task) / f"{utcnow():%Y%m%dT%H%M%S}-{manifest_sha[:12]}-{uuid.uuid4().hex[:6]}"
        os.replace(tmp, models_dir / relative)
        _fsync(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return relative, manifest_sha


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
