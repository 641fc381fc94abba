"""Serving: the exported ONNX model scores faces exactly like Keras did, without importing TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ml.data.faces import compose_classroom, encode
from ml.data.images import ImageRejectedError
from ml.engagement.crops import detection_inputs
from ml.engagement.detect import detect_faces
from ml.engagement.export import METADATA_FILE, ExportError, save_classifier
from ml.engagement.serve import EngagementScorer


def test_exported_model_matches_keras_on_face_crops(exported, tiny_training, small_faces):
    scorer = EngagementScorer.from_directory(exported)

    served = scorer.probabilities(small_faces.inputs)
    expected = tiny_training[0].model.predict_proba(small_faces.inputs)

    assert served.shape == (len(small_faces), 6)
    assert np.abs(served - expected).max() <= 1e-4


def test_scoring_an_image_uses_the_training_preprocessing(exported, tiny_training):
    room = compose_classroom(6, seed=4)
    scored = EngagementScorer.from_directory(exported).score_image(room.image)

    detection = detect_faces(room.image)
    expected = tiny_training[0].model.predict_proba(detection_inputs(room.image, detection, size=64))
    served = np.array([[face.class_probabilities[c] for c in tiny_training[0].model.classes] for face in scored.faces])
    assert [face.box for face in scored.faces] == detection.boxes
    assert np.abs(served - expected).max() <= 1e-4


def test_a_scored_image_has_per_face_results_and_a_summary(exported):
    room = compose_classroom(6, seed=4)
    result = EngagementScorer.from_directory(exported).score_upload(encode(room.image, "JPEG")).as_dict()

    assert result["summary"]["faces"] == len(result["faces"]) >= 4
    assert result["summary"]["face_detected"] is True and result["fallback"] is False
    face = result["faces"][0]
    assert set(face["box"]) == {"x", "y", "width", "height"}
    assert face["label"] in ("engaged", "not engaged")
    assert (face["label"] == "engaged") == (face["probability"] >= 0.5)
    engaged = sum(p for c, p in face["class_probabilities"].items() if c.startswith("Engaged/"))
    assert face["probability"] == pytest.approx(engaged, abs=1e-3)
    json.dumps(result, allow_nan=False)


def test_an_image_without_faces_is_scored_whole_and_flagged(exported):
    blank = np.full((200, 300, 3), 128, np.uint8)
    result = EngagementScorer.from_directory(exported).score_image(blank)

    assert result.fallback and result.summary["face_detected"] is False
    assert [face.box for face in result.faces] == [(0, 0, 300, 200)]


def test_a_non_image_upload_is_refused(exported):
    with pytest.raises(ImageRejectedError):
        EngagementScorer.from_directory(exported).score_upload(b"not an image")


def test_no_faces_means_no_scores(exported):
    scorer = EngagementScorer.from_directory(exported)
    assert scorer.probabilities(np.empty((0, 64, 64, 1), np.float32)).shape == (0, 6)


def test_metadata_describes_the_inputs(exported):
    metadata = json.loads((exported / METADATA_FILE).read_text())

    assert metadata["input_size"] == 64 and metadata["channels"] == 1
    assert metadata["classes"] == sorted(metadata["engaged"])
    assert len(metadata["onnx_sha256"]) == 64


def test_an_export_that_drifts_from_keras_is_refused(tiny_training, tmp_path, monkeypatch):
    original = EngagementScorer.probabilities
    monkeypatch.setattr(EngagementScorer, "probabilities", lambda self, x: original(self, x) + 1e-3)

    with pytest.raises(ExportError, match="differs from Keras"):
        save_classifier(tiny_training[0].model, tmp_path)


def test_serving_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import ml.engagement.serve, ml.engagement.detect, ml.engagement.crops, ml.engagement.dataset, ml.data.images\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert process.stdout.strip() == ""
