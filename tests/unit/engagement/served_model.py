"""A briefly trained, exported engagement model registered as production, for tests that need one served.

Training and exporting take ~10 s, so the files are made once per test process and each test registers a copy
(the tables are emptied after every test).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.models import ModelVersion
from ml import registry


@dataclass(frozen=True)
class Exported:
    folder: Path
    metrics: dict
    params: dict
    data_summary: dict


@functools.cache
def exported_model() -> Exported:
    from ml.engagement.dataset import generated_face_set
    from ml.engagement.export import save_classifier
    from ml.engagement.model import train

    faces = generated_face_set(12, sessions=1, frames_per_class=2, seed=3)
    result = train(faces, epochs=2, seed=0)
    folder = Path(tempfile.mkdtemp(prefix="aula-engagement-model-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    save_classifier(result.model, folder, check_inputs=faces.inputs[:16])
    summary = result.data_summary | {"sources": {"generated faces": len(faces)}}
    return Exported(folder, result.metrics, result.params, summary)


@dataclass(frozen=True)
class _CopyOf:
    """Writes a copy of already exported files (what `EngagementFormat.dump` would write, without re-exporting)."""

    source: Path
    name: str = "keras+onnx"

    def dump(self, model, folder: Path) -> None:
        shutil.copytree(self.source, folder, dirs_exist_ok=True)

    def load(self, folder: Path):
        raise NotImplementedError


def register_production(**metric_overrides) -> ModelVersion:
    """The exported test model as the engagement task's production version."""
    exported = exported_model()
    version = registry.register(
        "engagement",
        None,
        artifact_format=_CopyOf(exported.folder),
        metrics=exported.metrics | metric_overrides,
        params=exported.params,
        data_summary=exported.data_summary,
        created_by="test",
    )
    return registry.promote(version)
