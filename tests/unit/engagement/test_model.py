"""Training the engagement classifier: grouped held-out figures, progress, time budget, class mapping, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.data.faces import CLASSES
from ml.engagement.dataset import generated_face_set
from ml.engagement.model import InsufficientDataError, train


def test_a_tiny_training_run_reports_held_out_figures(tiny_training):
    result, _ = tiny_training

    assert result.model.classes == sorted(CLASSES)
    assert result.model.engaged == CLASSES
    for key in ("accuracy", "precision", "recall", "f1", "engaged_accuracy", "baseline_accuracy", "baseline_f1"):
        assert 0.0 <= result.metrics[key] <= 1.0
    assert isinstance(result.metrics["beats_baseline"], bool)
    assert set(result.metrics["detail"]["gate"]["groups"]) == {"classes", "engaged vs not engaged"}
    detail = result.metrics["detail"]
    assert set(detail["per_class"]) == set(CLASSES)
    assert np.array(detail["confusion"]["matrix"]).shape == (6, 6)
    assert np.array(detail["confusion"]["matrix"]).sum() == result.data_summary["test_rows"] == len(result.test_index)
    assert len(detail["curves"]["loss"]) == len(detail["curves"]["val_loss"]) == result.params["epochs_run"] == 2
    assert 1 <= detail["best_epoch"] <= 2
    assert len(result.data_summary["hash"]) == 64
    json.dumps(result.metrics, allow_nan=False)  # plain figures, ready for the registry


def test_the_held_out_subjects_are_not_trained_on(tiny_training, small_faces):
    result, _ = tiny_training
    test_groups = set(small_faces.groups[result.test_index])
    train_groups = set(small_faces.groups) - test_groups

    assert test_groups and train_groups
    assert result.data_summary["train_rows"] + result.data_summary["validation_rows"] == sum(
        small_faces.groups[i] in train_groups for i in range(len(small_faces))
    )


def test_progress_is_reported_every_epoch(tiny_training):
    _, seen = tiny_training

    assert [p.epoch for p in seen] == [1, 2]
    assert seen[-1].remaining_s == 0.0 and seen[0].remaining_s > 0
    assert 0.0 <= seen[0].accuracy <= 1.0 and seen[0].val_accuracy is not None
    assert seen[0].percent == 50
    assert seen[0].message.startswith("epoch 1/2, accuracy ") and "left" in seen[0].message


def test_the_time_budget_stops_training_early(small_faces):
    result = train(small_faces, epochs=50, time_budget_s=0.01)

    assert result.params["stopped_by"] == "time_budget"
    assert result.params["epochs_run"] == 1


def test_every_class_must_be_mapped_to_engaged_or_not(small_faces):
    partial = dict.fromkeys(small_faces.classes, True)
    partial.pop("Not engaged/drowsy")

    with pytest.raises(InsufficientDataError, match="unmapped: Not engaged/drowsy"):
        train(small_faces, engaged=partial, epochs=1)
    with pytest.raises(InsufficientDataError, match="one to not engaged"):
        train(small_faces, engaged=dict.fromkeys(small_faces.classes, True), epochs=1)


def test_each_class_needs_enough_images(small_faces):
    keep = np.flatnonzero(small_faces.labels != "Engaged/confused")
    few = np.concatenate([keep, np.flatnonzero(small_faces.labels == "Engaged/confused")[:3]])

    with pytest.raises(InsufficientDataError, match=r"Engaged/confused \(3\)"):
        train(small_faces.subset(few), epochs=1)


def test_two_classes_train_as_well(small_faces):
    labels = np.where([label.startswith("Engaged") for label in small_faces.labels], "engaged", "not engaged")
    faces = small_faces.subset(np.arange(len(small_faces)))
    faces = type(faces)(faces.inputs, labels, faces.groups, faces.sources, faces.face_found, faces.hashes)

    result = train(faces, epochs=1)

    assert result.model.classes == ["engaged", "not engaged"]
    assert result.model.engaged == {"engaged": True, "not engaged": False}


@pytest.mark.slow
def test_the_default_recipe_learns_the_generated_cues():
    result = train(generated_face_set(30, sessions=2, frames_per_class=2, seed=1), seed=1)

    assert result.metrics["accuracy"] >= 0.7 >= result.metrics["baseline_accuracy"] + 0.4  # six classes: 1/6
    assert result.metrics["engaged_accuracy"] >= 0.8
