"""Save a trained engagement classifier: the `.keras` file, its ONNX conversion for serving, and metadata.

Conversion route: Keras 3's own `model.export(path, format="onnx")`, which traces the model's inference
function and hands it to `tf2onnx`. On this stack (TensorFlow 2.21, Keras 3.15, tf2onnx 1.17, onnxruntime 1.32)
it converts the CNN exactly (max difference ~1e-7). ONNX Runtime was chosen over LiteRT (`ai-edge-litert`, which
also works here through `tf.lite.TFLiteConverter` or `format="litert"`) because its `InferenceSession.run` is
safe to call from several threads at once and takes any batch size, where a LiteRT `Interpreter` needs a lock
or one instance per thread and a `resize_tensor_input` + `allocate_tensors` per new batch size: the web process
serves several requests on threads, each with its own number of faces. Both run the model in ~1 ms per face.

Every export is checked before it is kept: the ONNX model must reproduce Keras' own probabilities on sample
inputs within `TOLERANCE`, or `ExportError` is raised and nothing is published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path

import numpy as np

from ml.engagement.model import EngagementClassifier
from ml.engagement.serve import METADATA_FILE, ONNX_FILE, EngagementScorer

KERAS_FILE = "engagement.keras"
TOLERANCE = 1e-4
METADATA_VERSION = 1


class ExportError(RuntimeError):
    """The converted model does not reproduce the trained one; the message gives the difference."""


def save_classifier(
    classifier: EngagementClassifier, directory: Path, *, check_inputs: np.ndarray | None = None
) -> dict:
    """Write the `.keras`, `.onnx` and metadata files into `directory`; returns {name: path} of what was written.

    `check_inputs` (a few face inputs) are scored by Keras and by the ONNX model, which must agree within
    `TOLERANCE`; random inputs are used when none are given.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    keras_path, onnx_path, metadata_path = directory / KERAS_FILE, directory / ONNX_FILE, directory / METADATA_FILE
    classifier.keras_model.save(keras_path)
    export_onnx(classifier, onnx_path)
    metadata = classifier.metadata() | {
        "format_version": METADATA_VERSION,
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "versions": _versions(),
    }
    metadata_path.write_text(json.dumps(metadata, indent=2))

    if check_inputs is None:
        channels = 3 if classifier.colour else 1
        rng = np.random.default_rng(0)
        check_inputs = rng.uniform(0, 255, (8, classifier.input_size, classifier.input_size, channels))
    check_inputs = np.asarray(check_inputs, np.float32)
    expected = classifier.predict_proba(check_inputs)
    served = EngagementScorer(onnx_path, metadata).probabilities(check_inputs)
    difference = float(np.abs(expected - served).max())
    if difference > TOLERANCE:
        raise ExportError(f"the ONNX model differs from Keras by {difference:.2g} (tolerance {TOLERANCE:g})")
    return {"keras": keras_path, "onnx": onnx_path, "metadata": metadata_path}


def export_onnx(classifier: EngagementClassifier, path: Path) -> Path:
    """The classifier's inference graph as an ONNX file (dynamic batch size)."""
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # it logs every rewrite at INFO
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "In the future `np.object`", FutureWarning)  # Keras' tf2onnx patch
        classifier.keras_model.export(str(path), format="onnx", verbose=False)
    return Path(path)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
