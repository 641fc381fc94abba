"""The engagement task as the lifecycle sees it: generated and imported labelled faces, a Keras CNN trained in the
worker and exported to ONNX, scored in the web process with ONNX Runtime (TensorFlow never loads there).

Publishing has nothing to write: the web scores each upload when it arrives, with the production model the
registry serves (reloaded after a promotion), and keeps each score with the version that made it, so a user's
history says which model read each image. `publish` returns 0 and `prune` deletes nothing: older versions' scores
are that history, deleted with their uploads when the retention period ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.models import ModelVersion
from ml.engagement.evaluate import GATE_MARGIN, GATE_METRIC
from ml.task import Progress, TrainResult

if TYPE_CHECKING:  # the data module loads OpenCV: imported where training data is loaded
    from ml.engagement.datasets import TrainingData


@dataclass(frozen=True)
class EngagementFormat:
    """`engagement.keras` (what was trained), `engagement.onnx` (what is served, checked against Keras when
    written) and `engagement.json` (classes, engaged mapping, input shape); loading gives an `EngagementScorer`,
    which needs only ONNX Runtime."""

    name: str = "keras+onnx"

    def dump(self, model: Any, folder: Path) -> None:
        from ml.engagement.export import save_classifier

        save_classifier(model, folder)

    def load(self, folder: Path) -> Any:
        from ml.engagement.serve import EngagementScorer

        return EngagementScorer.from_directory(folder)


class EngagementTask:
    name = "engagement"
    primary_metric = GATE_METRIC  # macro F1 over the classes the model predicts
    higher_is_better = True
    gate_margin = GATE_MARGIN
    artifact_format = EngagementFormat()
    published_tables = ()  # uploads are scored as they arrive: a publish writes nothing

    def load_training_data(self) -> TrainingData:
        from ml.engagement.datasets import training_data

        return training_data()

    def train(self, data: TrainingData, progress: Progress) -> TrainResult:
        from ml.engagement.model import train

        progress(0, f"training on {len(data.faces):,} faces ({_sources(data.sources)})")
        training = train(
            data.faces,
            engaged=data.engaged,
            time_budget_s=data.time_budget_s,
            progress=lambda epoch: progress(epoch.percent, epoch.message),
        )
        summary = training.data_summary | {"sources": data.sources}
        return TrainResult(training.model, training.metrics, training.params, summary)

    def evaluate(self, model: Any, data: TrainingData) -> dict:
        """The figures of an exported model (`EngagementScorer`) on the rows `train` holds out of `data`."""
        from ml.engagement.evaluate import held_out_metrics
        from ml.engagement.model import held_out_split

        train_index, test_index, groups = held_out_split(data.faces)
        faces = data.faces
        return held_out_metrics(
            faces.labels[test_index],
            model.probabilities(faces.inputs[test_index]),
            model.classes,
            model.engaged,
            train_labels=faces.labels[train_index].tolist(),
            clusters=groups[test_index],
        )

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """Unless both trained on the same faces (same hash, same split), production may have trained on faces the
        candidate holds out: the split groups change with every imported set."""
        split = ("test_size", "seed")
        same_faces = production.data_summary.get("hash") == candidate.data_summary.get("hash")
        same_split = all(production.params.get(k) == candidate.params.get(k) for k in split)
        return not (same_faces and same_split)

    def publish(self, version: ModelVersion, model: Any, progress: Progress) -> int:
        """Nothing to write: uploads are scored as they arrive, by the production model (see the module doc)."""
        progress(100, f"engagement v{version.version} scores new uploads as they arrive; nothing to publish")
        return 0

    def prune(self, keep_version_ids: set[int]) -> int:
        """Nothing to delete: older versions' scores are users' history (deleted when their uploads expire)."""
        return 0


def _sources(sources: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n:,}" for name, n in sources.items())


TASK = EngagementTask()
