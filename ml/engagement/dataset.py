"""Labelled face crops for the engagement classifier: generated, or imported from a folder-per-class zip or directory.

Layouts: `class/image` (e.g. an emotion set, one folder per expression) or `group/subclass/image` (the public
student-engagement set: `Engaged/confused/…`, `Not engaged/drowsy/…`). Folders below the class folder name a
session or person (`class/person-07/frame.jpg` with `layout="class"`): their frames are kept together when
splitting. A single wrapping folder (`dataset/Engaged/…`) is ignored.

Archives are read in memory, never extracted: every entry is checked (no absolute or `..` paths, no links, no
encrypted entries, bounded size, count and compression ratio) and every image validated like an upload
(`ml.data.images`). Refused entries are listed with a reason; the rest are kept.

Splits keep groups together, so a held-out accuracy is not flattered by frames of someone the model trained on: a
person's or session's frames where the layout names them (or the generator knows them), otherwise clusters of
near-duplicate frames (64-bit difference hashes within `NEAR_DUPLICATE_BITS` of a cluster's first frame).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import stat
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ml.data import images
from ml.engagement.crops import INPUT_SIZE, detection_inputs
from ml.engagement.detect import detect_faces, to_grey

LAYOUTS = ("auto", "class", "group/subclass")
NEAR_DUPLICATE_BITS = 6  # of 64: re-encoded, re-lit or slightly moved frames differ by 0-6 bits
MIN_CLASSES = 2
ENGAGED_NAMES = {"engaged", "confused", "frustrated", "focused", "attentive"}
NOT_ENGAGED_NAMES = {"not engaged", "not_engaged", "disengaged", "unengaged", "looking away", "bored", "drowsy"}
IGNORED_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
PROGRESS_EVERY = 50  # entries between progress reports of an import
ImportProgress = Callable[[int, int], None]  # (entries read, entries in all)


class ArchiveRejectedError(ValueError):
    """The whole archive or folder cannot be imported; the message says what to change."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on an import; exceeding a whole-archive bound refuses the archive, an entry bound the entry."""

    max_archive_bytes: int = 1024 * 1024 * 1024
    max_files: int = 20_000
    max_total_bytes: int = 4 * 1024 * 1024 * 1024  # uncompressed, all entries together
    max_file_bytes: int = images.MAX_BYTES
    max_ratio: float = 100.0  # uncompressed / compressed size of one entry (images barely compress)
    max_pixels: int = images.MAX_PIXELS


@dataclass(frozen=True)
class FaceSet:
    """Classifier inputs with their labels and split groups (one row per image: its largest face)."""

    inputs: np.ndarray  # (n, size, size, channels) uint8: the crops are exact integers, and 4x smaller than float32
    labels: np.ndarray  # (n,) str: the finer class, e.g. "Engaged/confused" or "happy"
    groups: np.ndarray  # (n,) str: frames of one group stay on one side of a split; "" for none known
    sources: list[str]  # file path or generator id, for reports
    face_found: np.ndarray  # (n,) bool: False where the whole image stood in for the face
    hashes: np.ndarray  # (n,) uint64 difference hash of the whole image, for near-duplicate grouping

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels.tolist()))

    def subset(self, index: np.ndarray) -> FaceSet:
        return FaceSet(
            self.inputs[index],
            self.labels[index],
            self.groups[index],
            [self.sources[i] for i in index],
            self.face_found[index],
            self.hashes[index],
        )


@dataclass
class ImportReport:
    """What an import accepted and refused, per file, for the admin page."""

    layout: str = ""
    accepted: list[dict] = field(default_factory=list)  # {path, label, face_found}
    refused: list[dict] = field(default_factory=list)  # {path, reason, message}

    @property
    def classes(self) -> dict[str, int]:
        return dict(sorted(Counter(item["label"] for item in self.accepted).items()))

    def as_dict(self) -> dict:
        return {"layout": self.layout, "classes": self.classes, "accepted": self.accepted, "refused": self.refused}

    def refuse(self, path: str, reason: str, message: str) -> None:
        self.refused.append({"path": path, "reason": reason, "message": message})


def generated_face_set(
    n_subjects: int = 60, *, sessions: int = 2, frames_per_class: int = 3, seed: int = 0, **crop_options
) -> FaceSet:
    """The default training set: generated faces, detected and cropped like any upload, grouped by subject."""
    from ml.data.faces import iter_faces

    faces = iter_faces(n_subjects, sessions=sessions, frames_per_class=frames_per_class, seed=seed)
    return face_set(((f.image, f.label, f.group, f.file_name) for f in faces), **crop_options)


def face_set(
    items: Iterable[tuple[np.ndarray, str, str, str]], *, size: int = INPUT_SIZE, colour: bool = False
) -> FaceSet:
    """Detect and crop the largest face of each (pixels, label, group, source); the whole image if none.

    `items` is consumed one at a time, so only the crops are held, never every decoded image.
    """
    inputs, labels, groups, sources, found, hashes = [], [], [], [], [], []
    for pixels, label, group, source in items:
        detection = detect_faces(pixels)
        largest = dataclasses.replace(detection, boxes=detection.boxes[:1])
        inputs.append(detection_inputs(pixels, largest, size=size, colour=colour)[0].astype(np.uint8))
        found.append(not detection.fallback)
        hashes.append(difference_hash(pixels))
        labels.append(label)
        groups.append(group)
        sources.append(source)
    channels = 3 if colour else 1
    return FaceSet(
        inputs=np.stack(inputs) if inputs else np.empty((0, size, size, channels), np.uint8),
        labels=np.array(labels, dtype=str),
        groups=np.array(groups, dtype=str),
        sources=sources,
        face_found=np.array(found, dtype=bool),
        hashes=np.array(hashes, dtype=np.uint64),
    )


def combine(parts: Mapping[str, FaceSet]) -> FaceSet:
    """One face set from several sources (e.g. the generated faces and each imported set), named by their keys.

    Groups and sources are prefixed with the source's key, so two sets' "person-01" folders stay two people;
    rows without a group stay ungrouped (near-duplicate clustering then spans every source).
    """
    parts = {name: faces for name, faces in parts.items() if len(faces)}
    if not parts:
        raise ValueError("no faces to combine")
    shapes = {faces.inputs.shape[1:] for faces in parts.values()}
    if len(shapes) > 1:
        raise ValueError(f"the face sets were cropped differently: {sorted(shapes)}")
    return FaceSet(
        inputs=np.concatenate([faces.inputs for faces in parts.values()]),
        labels=np.concatenate([faces.labels for faces in parts.values()]),
        groups=np.concatenate(
            [np.array([f"{name}/{g}" if g else "" for g in faces.groups], dtype=str) for name, faces in parts.items()]
        ),
        sources=[f"{name}/{source}" for name, faces in parts.items() for source in faces.sources],
        face_found=np.concatenate([faces.face_found for faces in parts.values()]),
        hashes=np.concatenate([faces.hashes for faces in parts.values()]),
    )


def save_face_set(faces: FaceSet, path: Path) -> None:
    """The crops and their labels as one compressed .npz (plain arrays: loading needs no pickle)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        np.savez_compressed(
            handle,
            inputs=faces.inputs,
            labels=faces.labels.astype(str),
            groups=faces.groups.astype(str),
            sources=np.array(faces.sources, dtype=str),
            face_found=faces.face_found,
            hashes=faces.hashes,
        )
    tmp.replace(path)


def load_face_set(path: Path) -> FaceSet:
    """A face set written by `save_face_set`."""
    with np.load(Path(path), allow_pickle=False) as saved:
        return FaceSet(
            inputs=saved["inputs"],
            labels=saved["labels"],
            groups=saved["groups"],
            sources=saved["sources"].tolist(),
            face_found=saved["face_found"],
            hashes=saved["hashes"],
        )


def read_labelled_zip(
    archive: bytes | Path,
    *,
    layout: str = "auto",
    limits: ArchiveLimits = ArchiveLimits(),
    size: int = INPUT_SIZE,
    colour: bool = False,
    progress: ImportProgress | None = None,
) -> tuple[FaceSet, ImportReport]:
    """Faces and an import report from a labelled zip (bytes or a path), read safely in memory."""
    data = archive.read_bytes() if isinstance(archive, Path) else archive
    if len(data) > limits.max_archive_bytes:
        raise ArchiveRejectedError(f"the archive is larger than {limits.max_archive_bytes // 2**20} MB")
    try:
        bundle = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveRejectedError("the file is not a readable zip archive") from exc
    report = ImportReport()
    with bundle:
        entries = list(_zip_entries(bundle, limits, report))
        return _import(entries, layout, limits, report, size, colour, progress)


def read_labelled_folder(
    root: Path,
    *,
    layout: str = "auto",
    limits: ArchiveLimits = ArchiveLimits(),
    size: int = INPUT_SIZE,
    colour: bool = False,
    progress: ImportProgress | None = None,
) -> tuple[FaceSet, ImportReport]:
    """Faces and an import report from a labelled directory tree (links are refused, never followed)."""
    root = Path(root)
    if not root.is_dir():
        raise ArchiveRejectedError(f"{root} is not a folder")
    report = ImportReport()
    entries = list(_folder_entries(root, limits, report))
    return _import(entries, layout, limits, report, size, colour, progress)


def suggest_engaged(classes: Iterable[str]) -> dict[str, bool | None]:
    """Each class mapped to engaged (True) / not engaged (False) from its name or group; None when unknown."""
    suggestion: dict[str, bool | None] = {}
    for label in classes:
        parts = [part.strip().lower() for part in label.split("/")]
        name = parts[0] if len(parts) > 1 else parts[-1]
        suggestion[label] = True if name in ENGAGED_NAMES else False if name in NOT_ENGAGED_NAMES else None
    return suggestion


def grouped_split(
    faces: FaceSet, *, test_size: float = 0.2, seed: int = 0, near_duplicates: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices with every split group, and near-duplicate frames, on one side only.

    Stratified by class as far as the groups allow (scikit-learn's StratifiedGroupKFold, first fold).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    groups = split_groups(faces) if near_duplicates else faces.groups
    n_groups = len(set(groups.tolist()))
    n_splits = max(2, round(1 / test_size))
    if n_groups < n_splits:
        raise ValueError(
            f"only {n_groups} separate people/sessions (after grouping near-duplicate frames); at least "
            f"{n_splits} are needed to hold some out for evaluation"
        )
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train, test = next(folds.split(np.zeros(len(faces)), faces.labels, groups))
    return train, test


def split_groups(faces: FaceSet) -> np.ndarray:
    """Each row's split group: its own (person/session folder, subject) where it has one, else its cluster of
    near-duplicate frames among the rows without one."""
    groups = faces.groups.astype(object)
    ungrouped = np.flatnonzero(groups == "")
    clusters = near_duplicate_clusters(faces.hashes[ungrouped])
    groups[ungrouped] = [f"near-duplicates-{k}" for k in clusters]
    return groups.astype(str)


def difference_hash(pixels: np.ndarray) -> np.uint64:
    """64-bit dHash: whether each of 8x8 cells is brighter than its right neighbour (grey, 9x8 area resize)."""
    small = cv2.resize(to_grey(pixels), (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return np.packbits(small[:, 1:] > small[:, :-1]).view(">u8")[0].astype(np.uint64)


def near_duplicate_clusters(hashes: np.ndarray, max_bits: int = NEAR_DUPLICATE_BITS) -> np.ndarray:
    """A cluster id per hash: each joins the nearest earlier cluster leader within `max_bits`, else leads one.

    Measured against a leader, not any member, so clusters cannot chain across a large set of similar images.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    leaders = np.empty(len(hashes), dtype=np.uint64)
    n_leaders = 0
    cluster = np.empty(len(hashes), dtype=np.int64)
    for index, value in enumerate(hashes):
        if n_leaders:
            distance = np.bitwise_count(leaders[:n_leaders] ^ value)
            nearest = int(distance.argmin())
            if distance[nearest] <= max_bits:
                cluster[index] = nearest
                continue
        leaders[n_leaders] = value
        cluster[index] = n_leaders
        n_leaders += 1
    return cluster


# --- import internals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    path: PurePosixPath
    read: Callable[[], bytes]


def _import(
    entries: list[_Entry],
    layout: str,
    limits: ArchiveLimits,
    report: ImportReport,
    size: int,
    colour: bool,
    progress: ImportProgress | None,
) -> tuple[FaceSet, ImportReport]:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    entries = _strip_wrapper(entries)
    report.layout = layout = _resolve_layout(entries, layout)
    faces = face_set(_valid_images(entries, layout, limits, report, progress), size=size, colour=colour)
    report.accepted = [
        {"path": source, "label": str(label), "face_found": bool(found)}
        for source, label, found in zip(faces.sources, faces.labels, faces.face_found, strict=True)
    ]
    if len(faces.classes) < MIN_CLASSES:
        found = ", ".join(faces.classes) or "none"
        raise ArchiveRejectedError(
            f"at least {MIN_CLASSES} classes with valid images are needed (found: {found}); "
            f"{len(report.refused)} files were refused"
        )
    return faces, report


def _valid_images(
    entries: list[_Entry], layout: str, limits: ArchiveLimits, report: ImportReport, progress: ImportProgress | None
) -> Iterator[tuple[np.ndarray, str, str, str]]:
    """(pixels, label, group, path) of each acceptable entry; refusals go to `report`."""
    depth = 1 if layout == "class" else 2
    seen: dict[str, str] = {}
    for done, entry in enumerate(entries):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(entries))
        path, parts = str(entry.path), entry.path.parts
        if len(parts) <= depth:
            report.refuse(path, "outside_layout", f"not inside a {layout}/ folder")
            continue
        try:
            data = entry.read()
            decoded = images.decode_image(data, max_bytes=limits.max_file_bytes, max_pixels=limits.max_pixels)
        except (images.ImageRejectedError, _EntryError) as exc:
            report.refuse(path, exc.reason, str(exc))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            report.refuse(path, "duplicate", f"the same file as {seen[digest]}")
            continue
        seen[digest] = path
        group = "/".join(parts[depth:-1])  # a session/person folder; "" groups by near-duplicates instead
        yield decoded.pixels, "/".join(parts[:depth]), group, path


class _EntryError(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _zip_entries(bundle: zipfile.ZipFile, limits: ArchiveLimits, report: ImportReport) -> Iterator[_Entry]:
    infos = [info for info in bundle.infolist() if not info.is_dir()]
    if len(infos) > limits.max_files:
        raise ArchiveRejectedError(f"the archive holds {len(infos)} files; at most {limits.max_files} are accepted")
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        raise ArchiveRejectedError(
            f"the archive unpacks to {declared // 2**20} MB; at most {limits.max_total_bytes // 2**20} MB are accepted"
        )
    budget = [limits.max_total_bytes]  # what may still be read: declared sizes can lie
    for info in infos:
        path = _safe_path(info.filename, report)
        if path is None:
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            report.refuse(info.filename, "link", "symbolic links are not accepted")
        elif info.flag_bits & 0x1:
            report.refuse(info.filename, "encrypted", "encrypted entries cannot be read; zip without a password")
        elif info.file_size > limits.max_file_bytes:
            report.refuse(info.filename, "too_large", f"larger than {limits.max_file_bytes // 2**20} MB")
        elif info.file_size > limits.max_ratio * max(1, info.compress_size):
            report.refuse(info.filename, "ratio", "compressed suspiciously well for an image (a zip bomb?)")
        else:
            yield _Entry(path, _zip_reader(bundle, info, limits, budget))


def _zip_reader(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ArchiveLimits, budget: list[int]):
    def read() -> bytes:
        cap = min(limits.max_file_bytes, budget[0])
        try:
            with bundle.open(info) as member:
                data = member.read(cap + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
            raise _EntryError("corrupt", f"the entry cannot be unpacked ({exc})") from exc
        if len(data) > cap:
            if cap < limits.max_file_bytes:
                raise ArchiveRejectedError("the archive unpacks to more than its declared size allows")
            raise _EntryError("too_large", f"larger than {limits.max_file_bytes // 2**20} MB")
        budget[0] -= len(data)
        return data

    return read


def _folder_entries(root: Path, limits: ArchiveLimits, report: ImportReport) -> Iterator[_Entry]:
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            report.refuse(relative, "link", "symbolic links are not accepted")
        elif path.is_file():
            files.append((path, relative))
    if len(files) > limits.max_files:
        raise ArchiveRejectedError(f"the folder holds {len(files)} files; at most {limits.max_files} are accepted")
    for path, relative in files:
        safe = _safe_path(relative, report)
        if safe is None:
            continue
        if path.stat().st_size > limits.max_file_bytes:
            report.refuse(relative, "too_large", f"larger than {limits.max_file_bytes // 2**20} MB")
            continue
        yield _Entry(safe, path.read_bytes)


def _safe_path(name: str, report: ImportReport) -> PurePosixPath | None:
    """The entry's path when it is relative and stays inside the archive; None (refused or ignored) otherwise."""
    normal = name.replace("\\", "/")
    path = PurePosixPath(normal)
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in path.parts or "\x00" in normal:
        report.refuse(name, "unsafe_path", "absolute or parent-directory (..) paths are not accepted")
        return None
    parts = [part for part in path.parts if part not in ("", ".")]
    if any(part in IGNORED_PARTS or part.startswith(".") for part in parts):
        return None  # system files (macOS resource forks, Finder/Explorer metadata, hidden files)
    return PurePosixPath(*parts) if parts else None


def _strip_wrapper(entries: list[_Entry]) -> list[_Entry]:
    """Drop folders that wrap everything (`dataset/Engaged/...` -> `Engaged/...`)."""
    while entries and all(len(e.path.parts) > 2 for e in entries) and len({e.path.parts[0] for e in entries}) == 1:
        entries = [_Entry(PurePosixPath(*e.path.parts[1:]), e.read) for e in entries]
    return entries


def _resolve_layout(entries: list[_Entry], layout: str) -> str:
    if layout != "auto":
        return layout
    depths = Counter(len(e.path.parts) for e in entries)
    if not depths:
        raise ArchiveRejectedError("no image files found; put each class's images in a folder named after the class")
    most = depths.most_common(1)[0][0]
    # file at depth 2 is class/image; deeper is group/subclass/image[, with session folders below].
    return "class" if most <= 2 else "group/subclass"
