"""The face generator: reproducible, labelled in the public set's layout, and found by the Haar cascade."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from ml.data.faces import CLASSES, compose_classroom, generate_faces, write_labelled_folder, write_labelled_zip
from ml.engagement.detect import detect_faces


@pytest.fixture(scope="module")
def faces():
    return generate_faces(20, sessions=1, frames_per_class=1, seed=7)


def test_the_same_seed_draws_the_same_faces():
    first = generate_faces(2, sessions=1, frames_per_class=1, seed=3)
    again = generate_faces(2, sessions=1, frames_per_class=1, seed=3)
    other = generate_faces(2, sessions=1, frames_per_class=1, seed=4)

    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].image, other[0].image)


def test_every_subject_and_session_shows_every_class():
    faces = generate_faces(3, sessions=2, frames_per_class=2, seed=0)

    assert len(faces) == 3 * 2 * len(CLASSES) * 2
    assert Counter(f.label for f in faces) == {label: 12 for label in CLASSES}
    assert {(f.subject_id, f.session_id) for f in faces} == {(s, k) for s in range(3) for k in range(2)}
    assert set(CLASSES) == {
        "Engaged/confused", "Engaged/engaged", "Engaged/frustrated",
        "Not engaged/Looking Away", "Not engaged/bored", "Not engaged/drowsy",
    }  # fmt: skip
    assert all(f.image.shape == (128, 128, 3) and f.image.dtype == np.uint8 for f in faces)


def test_the_haar_cascade_finds_most_generated_faces(faces):
    found = np.array([not detect_faces(face.image).fallback for face in faces])
    frontal = np.array([face.label == "Engaged/engaged" for face in faces])

    assert found.mean() >= 0.75
    assert found[frontal].mean() >= 0.85


def test_the_face_box_covers_the_drawn_face(faces):
    for face in faces[:12]:
        x, y, w, h = face.face_box
        assert x >= 0 and y >= 0 and x + w <= 128 and y + h <= 135  # the chin may leave a jittered frame
        assert 40 <= w <= 75 and h > w


def test_the_labelled_zip_uses_the_public_layout(faces):
    archive = zipfile.ZipFile(io.BytesIO(write_labelled_zip(faces[:12])))
    names = archive.namelist()

    assert {name.rsplit("/", 1)[0] for name in names} == set(CLASSES)
    assert Image.open(archive.open(names[0])).format == "PNG"


def test_the_labelled_folder_has_one_folder_per_class(faces, tmp_path):
    write_labelled_folder(faces[:12], tmp_path, image_format="JPEG")

    assert {p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jpg")} == set(CLASSES)


def test_a_classroom_has_its_faces_at_known_separate_boxes():
    room = compose_classroom(10, seed=2)

    assert room.image.shape == (720, 1280, 3)
    assert len(room.boxes) == len(room.labels) == 10
    for index, (x, y, w, h) in enumerate(room.boxes):
        assert x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720
        for ox, oy, ow, oh in room.boxes[index + 1 :]:
            assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y


def test_a_classroom_refuses_more_faces_than_fit():
    with pytest.raises(ValueError, match="do not fit"):
        compose_classroom(60, seed=0)
