"""The engagement task as the lifecycle sees it: artifact round trip, reproducible evaluation, training sources."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from ml.data.faces import CLASSES
from ml.engagement.dataset import combine, load_face_set, save_face_set
from ml.engagement.datasets import MappingConflictError, TrainingData, merged_mapping
from ml.engagement.task import TASK


def test_the_artifact_format_writes_keras_and_onnx_and_serves_onnx(tiny_training, small_faces, tmp_path):
    result, _ = tiny_training

    TASK.artifact_format.dump(result.model, tmp_path)
    scorer = TASK.artifact_format.load(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["engagement.json", "engagement.keras", "engagement.onnx"]
    assert type(scorer).__name__ == "EngagementScorer" and scorer.classes == result.model.classes
    inputs = small_faces.inputs[:8]
    assert np.abs(scorer.probabilities(inputs) - result.model.predict_proba(inputs)).max() < 1e-4


def test_evaluate_reproduces_the_candidates_held_out_figures(tiny_training, small_faces, exported):
    """The gate re-scores production on the rows the candidate held out: the split must be the same one."""
    from ml.engagement.serve import EngagementScorer

    result, _ = tiny_training
    data = TrainingData(small_faces, dict(CLASSES), {"generated faces": len(small_faces)}, 60)

    again = TASK.evaluate(EngagementScorer.from_directory(exported), data)

    for key in ("accuracy", "f1", "baseline_f1", "engaged_accuracy", "n"):
        assert again[key] == pytest.approx(result.metrics[key], abs=1e-6), key
    assert again["detail"]["gate"]["groups"].keys() == result.metrics["detail"]["gate"]["groups"].keys()
    json.dumps(again, allow_nan=False)


def test_production_saw_the_evaluation_data_unless_both_trained_on_the_same_faces():
    def version(data_hash: str, seed: int = 0):
        return SimpleNamespace(data_summary={"hash": data_hash}, params={"test_size": 0.2, "seed": seed})

    assert TASK.saw_evaluation_data(version("abc"), version("abc")) is False
    assert TASK.saw_evaluation_data(version("abc"), version("def")) is True  # a new import reshuffles the split
    assert TASK.saw_evaluation_data(version("abc", seed=1), version("abc")) is True


def test_publishing_writes_and_prunes_nothing():
    messages = []

    assert TASK.publish(SimpleNamespace(version=3), None, lambda pct, msg: messages.append(msg)) == 0
    assert TASK.prune({1}) == 0 and "nothing to publish" in messages[0]


def test_sources_combine_with_their_groups_kept_apart(small_faces):
    combined = combine({"generated faces": small_faces, "Lecture hall": small_faces.subset(np.arange(6))})

    assert len(combined) == len(small_faces) + 6
    assert combined.groups[0].startswith("generated faces/") and combined.groups[-1].startswith("Lecture hall/")
    assert len(set(combined.groups[: len(small_faces)]) & set(combined.groups[len(small_faces) :])) == 0
    assert combined.sources[-1].startswith("Lecture hall/")


def test_a_face_set_round_trips_through_npz_without_pickle(small_faces, tmp_path):
    save_face_set(small_faces, tmp_path / "faces.npz")
    back = load_face_set(tmp_path / "faces.npz")

    assert np.array_equal(back.inputs, small_faces.inputs) and back.inputs.dtype == np.uint8
    assert back.labels.tolist() == small_faces.labels.tolist() and back.sources == small_faces.sources
    assert np.array_equal(back.hashes, small_faces.hashes) and np.array_equal(back.face_found, small_faces.face_found)


def test_two_sources_must_map_a_class_the_same_way():
    assert merged_mapping({"a": {"bored": False}, "b": {"bored": False, "happy": True}}) == {
        "bored": False,
        "happy": True,
    }
    with pytest.raises(MappingConflictError, match="'bored' is not engaged in a but engaged in b"):
        merged_mapping({"a": {"bored": False}, "b": {"bored": True}})
