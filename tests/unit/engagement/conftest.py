"""Shared fixtures for the engagement tests: a small generated face set and a briefly trained, exported model."""

from __future__ import annotations

import pytest

from ml.engagement.dataset import FaceSet, generated_face_set


@pytest.fixture(scope="session")
def small_faces() -> FaceSet:
    """12 subjects x 1 session x 6 classes x 2 frames = 144 face crops."""
    return generated_face_set(12, sessions=1, frames_per_class=2, seed=3)


@pytest.fixture(scope="session")
def tiny_training(small_faces):
    """(result, progress reports) of two epochs on the small set: enough to move every weight and batch-norm
    statistic away from its start."""
    from ml.engagement.model import train

    progress = []
    result = train(small_faces, epochs=2, seed=0, progress=progress.append)
    return result, progress


@pytest.fixture(scope="session")
def exported(tiny_training, small_faces, tmp_path_factory):
    from ml.engagement.export import save_classifier

    directory = tmp_path_factory.mktemp("engagement-model")
    save_classifier(tiny_training[0].model, directory, check_inputs=small_faces.inputs[:16])
    return directory
