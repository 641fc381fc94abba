"""The model registry: artifact files plus `model_versions` rows, one production version per task.

Artifacts are written to a temporary name, fsynced and renamed, so a crash never leaves a half-written
file under a registered name; the sha256 recorded at registration is checked on every load.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
from sqlalchemy import func, select

from core.db import session, utcnow
from core.models import ModelVersion
from core.settings import Settings


class RegistryError(Exception):
    """A registry operation that cannot be done as asked (the message says why)."""


class ArtifactIntegrityError(RegistryError):
    """The artifact on disk is missing or is not the file that was registered."""


def register(
    task: str,
    artifact: Any,
    *,
    metrics: dict,
    params: dict,
    data_summary: dict,
    created_by: str,
    models_dir: Path | None = None,
) -> ModelVersion:
    """Save `artifact` and record it as the task's next candidate version."""
    models_dir = models_dir or Settings.from_env().models_dir
    version = (session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.task == task)) or 0) + 1
    relative, sha256 = _write_atomically(artifact, models_dir, Path(task) / f"{task}-v{version}")
    row = ModelVersion(
        task=task,
        version=version,
        status="candidate",
        metrics=metrics,
        params=params,
        data_summary=data_summary,
        artifact_path=str(relative),
        artifact_sha256=sha256,
        created_by=created_by,
    )
    session.add(row)
    session.commit()
    return row


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


def rollback(task: str) -> ModelVersion:
    """Put back the version that was in production before the current one."""
    current = ModelVersion.production(task)
    previous = session.get(ModelVersion, current.previous_id) if current and current.previous_id else None
    if previous is None:
        raise RegistryError(f"{task} has no earlier production version to roll back to")
    return promote(previous, note=f"rolled back from v{current.version}", rollback=True)


def load(version: ModelVersion, models_dir: Path | None = None) -> Any:
    """Load a version's artifact after checking its sha256."""
    path = verify(version, models_dir)
    return joblib.load(path)


def verify(version: ModelVersion, models_dir: Path | None = None) -> Path:
    path = (models_dir or Settings.from_env().models_dir) / version.artifact_path
    if not path.is_file():
        raise ArtifactIntegrityError(f"{version.task} v{version.version}: artifact {path} is missing")
    if _sha256(path) != version.artifact_sha256:
        raise ArtifactIntegrityError(f"{version.task} v{version.version}: artifact {path} does not match its sha256")
    return path


@dataclass(frozen=True)
class Loaded:
    version: ModelVersion
    model: Any


_cache: dict[str, tuple[int, str, Any]] = {}
_cache_lock = threading.Lock()


def load_production(task: str) -> Loaded | None:
    """The task's production model, cached per process and reloaded when another version is promoted."""
    version = ModelVersion.production(task)
    if version is None:
        return None
    with _cache_lock:
        cached = _cache.get(task)
        if cached is None or cached[:2] != (version.id, version.artifact_sha256):
            _cache[task] = (version.id, version.artifact_sha256, load(version))
        return Loaded(version, _cache[task][2])


def _write_atomically(artifact: Any, models_dir: Path, stem: Path) -> tuple[Path, str]:
    """Write to a temporary file, then rename to `<stem>-<sha256 prefix>.joblib` (unique per content)."""
    folder = models_dir / stem.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{stem.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            joblib.dump(artifact, handle, compress=3)
            handle.flush()
            os.fsync(handle.fileno())
        digest = _sha256(Path(tmp_name))
        relative = stem.parent / f"{stem.name}-{digest[:12]}.joblib"
        os.replace(tmp_name, models_dir / relative)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return relative, digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
