"""Face detection with OpenCV's Haar frontal-face cascade, the one shipped inside `opencv-python-headless<5`.

Nothing is downloaded: the cascade file comes from the wheel (`cv2.data.haarcascades`). Large images are
searched at a reduced size (faces in a 1280-pixel classroom photo are still tens of pixels wide there), and the
boxes are scaled back. When no face is found the whole image stands in for one face and the result says so, so a
close-up webcam frame the cascade misses is still scored, flagged as a fallback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

CASCADE_FILE = "haarcascade_frontalface_default.xml"
# Tuned on generated single faces and classroom images (see tests/unit/engagement/test_detect.py).
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 4
MIN_FACE = 24  # pixels at the searched size: the cascade's own window
MAX_SIDE = 960  # longest side searched; larger images are downscaled first (recall holds, time halves)

Box = tuple[int, int, int, int]  # x, y, width, height in the original image's pixels


class DetectorUnavailableError(RuntimeError):
    """The OpenCV build has no Haar cascades (opencv 5 removed them; install opencv-python-headless<5)."""


@dataclass(frozen=True)
class Detection:
    """Faces found in one image; `fallback` when none was found and `boxes` is the whole image."""

    boxes: list[Box]
    fallback: bool
    width: int
    height: int


def detect_faces(
    rgb: np.ndarray,
    *,
    scale_factor: float = SCALE_FACTOR,
    min_neighbors: int = MIN_NEIGHBORS,
    max_side: int = MAX_SIDE,
    min_face: int = MIN_FACE,
) -> Detection:
    """The faces in an RGB (or grey) image, largest first, or the whole image flagged as a fallback."""
    height, width = rgb.shape[:2]
    grey = to_grey(rgb)
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    found = _cascade().detectMultiScale(
        grey, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_face, min_face)
    )
    boxes = [_scaled(box, scale, width, height) for box in np.asarray(found).reshape(-1, 4)]
    if not boxes:
        return Detection(boxes=[(0, 0, width, height)], fallback=True, width=width, height=height)
    boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
    return Detection(boxes=boxes, fallback=False, width=width, height=height)


def to_grey(image: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma as uint8 (what OpenCV and the classifier both see)."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def _scaled(box: np.ndarray, scale: float, width: int, height: int) -> Box:
    x, y, w, h = (float(v) / scale for v in box)
    x0, y0 = max(0, round(x)), max(0, round(y))
    return x0, y0, min(width - x0, round(w)), min(height - y0, round(h))


_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    """One cascade per thread: `detectMultiScale` on a shared instance is not documented as thread-safe."""
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        data = getattr(cv2, "data", None)
        if data is None:
            raise DetectorUnavailableError("this OpenCV has no bundled Haar cascades; install opencv-python-headless<5")
        cascade = cv2.CascadeClassifier(data.haarcascades + CASCADE_FILE)
        if cascade.empty():
            raise DetectorUnavailableError(f"could not load {CASCADE_FILE} from {data.haarcascades}")
        _local.cascade = cascade
    return cascade
