"""Score faces with the exported engagement model: ONNX Runtime, never TensorFlow, in the web process.

`EngagementScorer` loads `engagement.onnx` with its metadata once and scores a batch of face inputs per call; the
inputs come from `crops.face_inputs`, the same function training used, so serving cannot drift from training.
`score_image` runs the whole path for one image (detect, crop, score) and `score_upload` starts from file bytes,
validated like any upload. `InferenceSession.run` is thread-safe, so one scorer serves every thread of a process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.data.images import MAX_BYTES, MAX_PIXELS, decode_image
from ml.engagement.crops import detection_inputs
from ml.engagement.detect import Box, detect_faces

ENGAGED_THRESHOLD = 0.5
ONNX_FILE = "engagement.onnx"
METADATA_FILE = "engagement.json"


@dataclass(frozen=True)
class FaceScore:
    """One face: its box, the engaged probability and label, and the finer class the model saw."""

    box: Box
    probability: float  # of engaged: the sum over the classes mapped to engaged
    label: str  # "engaged" | "not engaged"
    state: str  # the most likely finer class, e.g. "Not engaged/drowsy"
    class_probabilities: dict[str, float]

    def as_dict(self) -> dict:
        x, y, w, h = self.box
        return {
            "box": {"x": x, "y": y, "width": w, "height": h},
            "probability": round(self.probability, 4),
            "label": self.label,
            "state": self.state,
            "class_probabilities": {k: round(v, 4) for k, v in self.class_probabilities.items()},
        }


@dataclass(frozen=True)
class ImageScore:
    """Every face of one image and the image-level summary; `fallback` when no face was detected."""

    faces: list[FaceScore]
    fallback: bool
    width: int
    height: int

    @property
    def summary(self) -> dict:
        engaged = sum(face.label == "engaged" for face in self.faces)
        return {
            "faces": len(self.faces),
            "engaged": engaged,
            "share_engaged": round(engaged / len(self.faces), 4) if self.faces else None,
            "face_detected": not self.fallback,
        }

    def as_dict(self) -> dict:
        return {
            "faces": [face.as_dict() for face in self.faces],
            "summary": self.summary,
            "fallback": self.fallback,
            "width": self.width,
            "height": self.height,
        }


class EngagementScorer:
    """The exported classifier, loaded once; `threads` bounds ONNX Runtime's threads per call."""

    def __init__(self, onnx_model: Path | bytes, metadata: Mapping, *, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        source = onnx_model if isinstance(onnx_model, bytes) else str(onnx_model)
        self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.classes: list[str] = list(metadata["classes"])
        self.engaged: dict[str, bool] = {c: bool(metadata["engaged"][c]) for c in self.classes}
        self.input_size = int(metadata["input_size"])
        self.colour = int(metadata["channels"]) == 3
        self.margin = float(metadata["margin"])
        self._engaged_columns = np.array([self.engaged[c] for c in self.classes])

    @classmethod
    def from_directory(cls, directory: Path, **options) -> EngagementScorer:
        """A scorer from the files `export.save_classifier` wrote."""
        directory = Path(directory)
        metadata = json.loads((directory / METADATA_FILE).read_text())
        return cls(directory / ONNX_FILE, metadata, **options)

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """Class probabilities (n x classes) for face inputs (n, size, size, channels), 0..255."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if len(inputs) == 0:
            return np.empty((0, len(self.classes)), np.float32)
        return self._session.run(None, {self._input: inputs})[0]

    def score_inputs(self, inputs: np.ndarray, boxes: list[Box]) -> list[FaceScore]:
        """A FaceScore per face input, in order."""
        probabilities = self.probabilities(inputs)
        engaged = probabilities[:, self._engaged_columns].sum(axis=1)
        return [
            FaceScore(
                box=tuple(int(v) for v in box),
                probability=float(p_engaged),
                label="engaged" if p_engaged >= ENGAGED_THRESHOLD else "not engaged",
                state=self.classes[int(row.argmax())],
                class_probabilities={c: float(p) for c, p in zip(self.classes, row, strict=True)},
            )
            for box, row, p_engaged in zip(boxes, probabilities, engaged, strict=True)
        ]

    def score_image(self, pixels: np.ndarray) -> ImageScore:
        """Detect the faces of an RGB image, crop them as in training and score them all in one batch."""
        detection = detect_faces(pixels)
        inputs = detection_inputs(pixels, detection, size=self.input_size, colour=self.colour, margin=self.margin)
        boxes = detection.boxes
        return ImageScore(self.score_inputs(inputs, boxes), detection.fallback, detection.width, detection.height)

    def score_upload(self, data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> ImageScore:
        """`score_image` from file bytes; raises `ml.data.images.ImageRejectedError` for an unacceptable file."""
        return self.score_image(decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels).pixels)
