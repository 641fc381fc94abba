"""Labelled faces from zips and folders (read safely, every image validated), and splits that keep groups apart."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from ml.data.faces import CLASSES, encode, generate_faces, write_labelled_zip
from ml.engagement.dataset import (
    ArchiveLimits,
    ArchiveRejectedError,
    face_set,
    generated_face_set,
    grouped_split,
    read_labelled_folder,
    read_labelled_zip,
    split_groups,
    suggest_engaged,
)


@pytest.fixture(scope="module")
def faces():
    return generate_faces(4, sessions=1, frames_per_class=1, seed=5)


@pytest.fixture(scope="module")
def png(faces) -> bytes:
    return encode(faces[0].image, "PNG")


def zipped(entries: dict[str, bytes], *, infos: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for info, data in infos:
            archive.writestr(info, data)
    return buffer.getvalue()


def two_classes(faces, prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{'happy' if i % 2 else 'sad'}/{i}.png": encode(f.image, "PNG") for i, f in enumerate(faces[:8])}


def refused(report) -> dict[str, str]:
    return {item["path"]: item["reason"] for item in report.refused}


def test_reads_the_group_subclass_layout(faces):
    loaded, report = read_labelled_zip(write_labelled_zip(faces))

    assert report.layout == "group/subclass"
    assert loaded.classes == sorted(CLASSES)
    assert report.classes == {label: 4 for label in sorted(CLASSES)}
    assert loaded.inputs.shape == (24, 64, 64, 1) and loaded.inputs.dtype == np.uint8
    assert not report.refused


def test_reads_the_class_layout_inside_a_wrapping_folder(faces):
    loaded, report = read_labelled_zip(zipped(two_classes(faces, prefix="my dataset/")))

    assert report.layout == "class"
    assert loaded.classes == ["happy", "sad"]
    assert len(loaded) == 8


def test_accepts_a_path_as_well_as_bytes(faces, tmp_path):
    path = tmp_path / "faces.zip"
    path.write_bytes(zipped(two_classes(faces)))

    assert len(read_labelled_zip(path)[0]) == 8


@pytest.mark.parametrize(
    "name",
    ["../escape.png", "happy/../../escape.png", "/etc/escape.png", "C:/Windows/escape.png", "..\\escape.png"],
)
def test_refuses_entries_that_leave_the_archive(faces, png, name):
    loaded, report = read_labelled_zip(zipped({**two_classes(faces), name: png}))

    assert refused(report) == {name: "unsafe_path"}
    assert len(loaded) == 8


def test_refuses_symbolic_links(faces):
    link = zipfile.ZipInfo("happy/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    loaded, report = read_labelled_zip(zipped(two_classes(faces), infos=[(link, b"/etc/passwd")]))

    assert refused(report) == {"happy/link.png": "link"}
    assert len(loaded) == 8


def test_refuses_an_entry_that_compresses_like_a_bomb(faces):
    loaded, report = read_labelled_zip(zipped({**two_classes(faces), "sad/zeros.png": b"\x00" * 5_000_000}))

    assert refused(report) == {"sad/zeros.png": "ratio"}
    assert len(loaded) == 8


def test_refuses_an_archive_that_unpacks_beyond_the_limit(faces):
    data = zipped(two_classes(faces))

    with pytest.raises(ArchiveRejectedError, match="unpacks to"):
        read_labelled_zip(data, limits=ArchiveLimits(max_total_bytes=50_000))


def test_refuses_an_archive_with_too_many_files(faces):
    with pytest.raises(ArchiveRejectedError, match="holds 8 files; at most 5"):
        read_labelled_zip(zipped(two_classes(faces)), limits=ArchiveLimits(max_files=5))


def test_refuses_an_entry_over_the_image_byte_limit(faces):
    big = encode(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8), "PNG")
    _, report = read_labelled_zip(
        zipped({**two_classes(faces), "sad/big.png": big}), limits=ArchiveLimits(max_file_bytes=200_000)
    )

    assert refused(report) == {"sad/big.png": "too_large"}


def test_keeps_the_valid_images_and_reports_each_refused_one(faces, png):
    gif = io.BytesIO()
    Image.fromarray(faces[1].image).save(gif, format="GIF")
    entries = {
        **two_classes(faces),
        "happy/notes.txt": b"these are my notes",
        "happy/cut.png": png[: len(png) // 3],
        "sad/anim.gif": gif.getvalue(),
        "loose.png": png,
        "sad/again.png": encode(faces[1].image, "PNG"),  # the same bytes as happy/1.png
        "__MACOSX/happy/._1.png": b"resource fork",
        "happy/.DS_Store": b"finder",
    }
    loaded, report = read_labelled_zip(zipped(entries))

    assert refused(report) == {
        "happy/notes.txt": "not_image",
        "happy/cut.png": "corrupt",
        "sad/anim.gif": "not_image",
        "loose.png": "outside_layout",
        "sad/again.png": "duplicate",
    }
    assert len(loaded) == len(report.accepted) == 8
    assert all(item["message"] for item in report.refused)
    assert report.as_dict()["classes"] == {"happy": 4, "sad": 4}


def test_refuses_a_file_that_is_not_a_zip():
    with pytest.raises(ArchiveRejectedError, match="not a readable zip"):
        read_labelled_zip(b"PK\x03\x04 but not really")


def test_refuses_an_archive_with_a_single_class(faces):
    entries = {f"happy/{i}.png": encode(f.image, "PNG") for i, f in enumerate(faces[:4])}

    with pytest.raises(ArchiveRejectedError, match="at least 2 classes"):
        read_labelled_zip(zipped(entries))


def test_reads_a_folder_and_refuses_links(faces, tmp_path):
    for name, data in two_classes(faces).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "happy" / "link.png").symlink_to(tmp_path / "sad" / "0.png")

    loaded, report = read_labelled_folder(tmp_path)

    assert len(loaded) == 8
    assert refused(report) == {"happy/link.png": "link"}


def test_session_folders_below_the_class_become_split_groups(faces):
    entries = {
        f"{'happy' if i % 2 else 'sad'}/person{i % 4}/{i}.png": encode(f.image, "PNG") for i, f in enumerate(faces[:8])
    }
    loaded, _ = read_labelled_zip(zipped(entries), layout="class")

    assert loaded.classes == ["happy", "sad"]
    assert sorted(set(loaded.groups.tolist())) == ["person0", "person1", "person2", "person3"]


def test_suggests_engaged_from_group_or_class_names():
    assert suggest_engaged(["Engaged/confused", "Not engaged/bored", "drowsy", "focused", "happy"]) == {
        "Engaged/confused": True,
        "Not engaged/bored": False,
        "drowsy": False,
        "focused": True,
        "happy": None,
    }


def test_a_grouped_split_keeps_each_subject_on_one_side():
    faces = generated_face_set(10, sessions=2, frames_per_class=1, seed=1)
    train, test = grouped_split(faces, test_size=0.2, seed=0)

    assert len(train) + len(test) == len(faces) and len(test) > 0
    assert not set(faces.groups[train]) & set(faces.groups[test])
    assert set(faces.labels[test]) == set(CLASSES)


def test_near_duplicate_frames_stay_together_when_no_group_is_known():
    originals = generate_faces(6, sessions=1, frames_per_class=1, seed=2)[::6]  # one frame per subject
    rng = np.random.default_rng(0)

    def near_copies(image):
        yield image
        yield np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
        yield np.asarray(Image.open(io.BytesIO(encode(image, "JPEG"))))
        yield np.clip(image * 1.1, 0, 255).astype(np.uint8)

    items = [
        (copy, f"class{i % 2}", "", f"{i}-{k}")
        for i, f in enumerate(originals)
        for k, copy in enumerate(near_copies(f.image))
    ]
    loaded = face_set(items)
    groups = split_groups(loaded)
    origin = np.array([source.split("-")[0] for source in loaded.sources])

    for name in set(origin):
        assert len(set(groups[origin == name])) == 1  # every copy with its original
    assert len(set(groups.tolist())) >= 5  # and different people apart
    train, test = grouped_split(loaded, test_size=0.2)
    assert not set(origin[train]) & set(origin[test])
