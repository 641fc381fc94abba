"""Face detection: the Haar cascade from the OpenCV wheel finds classroom faces; no face means a flagged fallback."""

from __future__ import annotations

import numpy as np

from ml.data.faces import compose_classroom
from ml.engagement.crops import detection_inputs, face_inputs
from ml.engagement.detect import Detection, detect_faces


def matches(true_box, found) -> bool:
    """A found box centred inside the true face box, of a similar size."""
    x, y, w, h = true_box
    return any(x <= a + c / 2 <= x + w and y <= b + d / 2 <= y + h and 0.5 <= c / w <= 2 for a, b, c, d in found)


def test_finds_most_faces_in_a_classroom_image():
    rooms = [compose_classroom(10, seed=seed) for seed in range(4)]
    detections = [detect_faces(room.image) for room in rooms]

    found = [matches(box, d.boxes) for room, d in zip(rooms, detections, strict=True) for box in room.boxes]
    spurious = [
        box for room, d in zip(rooms, detections, strict=True) for box in d.boxes if not matches(box, room.boxes)
    ]
    assert np.mean(found) >= 0.75
    assert len(spurious) <= 2
    assert not any(d.fallback for d in detections)


def test_boxes_are_in_the_original_image_pixels():
    room = compose_classroom(6, width=1920, height=1080, face_size=(90, 130), seed=1)  # searched at reduced size
    detection = detect_faces(room.image)

    assert (detection.width, detection.height) == (1920, 1080)
    assert sum(matches(box, detection.boxes) for box in room.boxes) >= 4
    assert all(x >= 0 and y >= 0 and x + w <= 1920 and y + h <= 1080 for x, y, w, h in detection.boxes)


def test_largest_face_comes_first():
    detection = detect_faces(compose_classroom(8, seed=3).image)
    areas = [w * h for _, _, w, h in detection.boxes]

    assert areas == sorted(areas, reverse=True)


def test_no_face_falls_back_to_the_whole_image_and_says_so():
    noise = np.random.default_rng(0).integers(90, 110, (240, 320, 3), dtype=np.uint8)
    detection = detect_faces(noise)

    assert detection == Detection(boxes=[(0, 0, 320, 240)], fallback=True, width=320, height=240)


def test_a_fallback_is_cropped_to_the_centred_square():
    pixels = np.zeros((100, 200, 3), np.uint8)
    pixels[:, 50:150] = 200  # the centred 100x100 square is bright, the sides dark
    inputs = detection_inputs(pixels, Detection([(0, 0, 200, 100)], True, 200, 100), size=32)

    assert inputs.shape == (1, 32, 32, 1)
    assert inputs.min() > 150


def test_crops_near_the_border_replicate_the_edge():
    pixels = np.full((60, 60, 3), 120, np.uint8)
    inputs = face_inputs(pixels, [(0, 0, 30, 30)], size=16, margin=0.5)

    assert inputs.shape == (1, 16, 16, 1)
    assert np.allclose(inputs, 120, atol=1)


def test_colour_crops_keep_three_channels():
    pixels = np.zeros((50, 50, 3), np.uint8)
    pixels[..., 0] = 255

    inputs = face_inputs(pixels, [(10, 10, 20, 20)], size=8, colour=True)

    assert inputs.shape == (1, 8, 8, 3)
    assert np.allclose(inputs[..., 0], 255) and np.allclose(inputs[..., 1:], 0)
