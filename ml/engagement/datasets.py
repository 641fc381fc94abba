"""Labelled face sets an admin imported, kept under AULA_DATA_DIR, and the training data and settings built on them.

A dataset lives in `<data dir>/engagement/datasets/<id>/`: the uploaded zip as it came (`archive.zip`, the
source of truth) and, once a job has read it, its face crops (`faces.npz`), so a retraining does not detect and
crop every image again. Its row holds the classes, the admin's engaged / not engaged mapping and the import
report. Training uses the generated faces (unless an admin turns them off once real sets exist) plus every
dataset that is `ready` (read, every class mapped) and `included`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.db import session
from core.models import LabelledDataset, Setting
from core.settings import Settings
from ml.engagement.dataset import (
    LAYOUTS,
    ArchiveRejectedError,
    FaceSet,
    ImportReport,
    combine,
    load_face_set,
    read_labelled_zip,
    save_face_set,
    suggest_engaged,
)

ARCHIVE_FILE = "archive.zip"
FACES_FILE = "faces.npz"
GENERATED = "generated faces"
SETTINGS_KEY = "engagement_training"
DEFAULT_TIME_BUDGET_S = 600  # the default set fits in ~1.5 minutes on 2 cores; big imports stop here
TIME_BUDGET_RANGE_S = (10, 90 * 60)  # under the training job's 2-hour timeout, with room for data and export
REPORT_ROWS = 500  # refused files listed in a stored report (the count is always complete)

Progress = Callable[[int, str], None]


class MappingConflictError(ValueError):
    """Two training sources map one class differently (engaged in one, not engaged in the other)."""


@dataclass(frozen=True)
class TrainingSettings:
    """What an admin sets for retraining: the fitting time budget, and whether generated faces are mixed in."""

    time_budget_s: int = DEFAULT_TIME_BUDGET_S
    include_generated: bool = True


@dataclass
class TrainingData:
    """Every face the next model trains and is evaluated on, each class's engaged mapping, and the sources."""

    faces: FaceSet
    engaged: dict[str, bool]
    sources: dict[str, int]  # "generated faces" or a dataset's name -> faces
    time_budget_s: int


def training_settings() -> TrainingSettings:
    stored = Setting.get(SETTINGS_KEY) or {}
    return TrainingSettings(
        time_budget_s=int(stored.get("time_budget_s", DEFAULT_TIME_BUDGET_S)),
        include_generated=bool(stored.get("include_generated", True)),
    )


def save_training_settings(time_budget_s: int, include_generated: bool, updated_by: str) -> TrainingSettings:
    """Store the settings the next retraining reads (ValueError for a budget out of range)."""
    low, high = TIME_BUDGET_RANGE_S
    if not low <= int(time_budget_s) <= high:
        raise ValueError(f"the time budget must be between {low} s and {high // 60} minutes")
    value = {"time_budget_s": int(time_budget_s), "include_generated": bool(include_generated)}
    Setting.put(SETTINGS_KEY, value, updated_by)
    session.commit()
    return TrainingSettings(**value)


def training_data() -> TrainingData:
    """The generated faces (unless turned off and another set is ready) plus every ready, included dataset."""
    from ml.data.faces import CLASSES
    from ml.engagement.dataset import generated_face_set

    settings = training_settings()
    datasets = LabelledDataset.for_training()
    parts: dict[str, FaceSet] = {}
    mappings: dict[str, Mapping[str, bool]] = {}
    if settings.include_generated or not datasets:
        parts[GENERATED], mappings[GENERATED] = generated_face_set(), CLASSES
    for dataset in datasets:
        name = _unique(dataset.name, parts)
        parts[name], mappings[name] = dataset_faces(dataset), dataset.mapping
    return TrainingData(
        faces=combine(parts),
        engaged=merged_mapping(mappings),
        sources={name: len(faces) for name, faces in parts.items()},
        time_budget_s=settings.time_budget_s,
    )


def merged_mapping(mappings: Mapping[str, Mapping[str, bool | None]]) -> dict[str, bool]:
    """One engaged mapping over every source; a class the sources map differently is refused with both names."""
    merged: dict[str, bool] = {}
    decided_by: dict[str, str] = {}
    for source, mapping in mappings.items():
        for label, engaged in mapping.items():
            if engaged is None:
                continue
            if label in merged and merged[label] != bool(engaged):
                raise MappingConflictError(
                    f"class {label!r} is {_side(merged[label])} in {decided_by[label]} but {_side(engaged)} in "
                    f"{source}; map it the same way in both (admin > Engagement data)"
                )
            merged[label], decided_by[label] = bool(engaged), source
    return merged


def create_dataset(
    name: str, filename: str, layout: str, uploaded_by: str, save_archive: Callable[[Path], None]
) -> LabelledDataset:
    """A new dataset row with its archive written by `save_archive(path)` (e.g. a streamed upload's `save`)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    name = " ".join(name.split())[:120] or Path(filename or "dataset").stem[:120] or "dataset"
    filename = Path(filename or "").name[:255]
    dataset = LabelledDataset(name=name, filename=filename, layout=layout, uploaded_by=uploaded_by)
    session.add(dataset)
    session.flush()
    dataset.path = f"engagement/datasets/{dataset.id}"
    folder = dataset_folder(dataset)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        save_archive(folder / ARCHIVE_FILE)
        session.commit()
    except BaseException:
        session.rollback()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return dataset


def read_dataset(dataset: LabelledDataset, progress: Progress) -> dict:
    """Read and validate the dataset's zip (the import job): keep its crops, classes, suggested mapping and report.

    A zip refused as a whole (not a zip, too many files, a bomb, fewer than two classes) leaves the dataset
    `refused` with the reason; the job itself succeeds, since the report is its result.
    """
    dataset.status, dataset.message = "reading", ""
    session.commit()

    def read_progress(done: int, total: int) -> None:
        progress(5 + int(90 * done / max(1, total)), f"checked {done:,} of {total:,} files")

    try:
        faces, report = read_labelled_zip(
            dataset_folder(dataset) / ARCHIVE_FILE, layout=dataset.layout, progress=read_progress
        )
    except ArchiveRejectedError as exc:
        _refuse(dataset, str(exc))
        return {"dataset": dataset.id, "status": dataset.status, "message": dataset.message}
    except Exception as exc:
        session.rollback()
        _refuse(dataset, f"the archive could not be read ({type(exc).__name__}: {exc})")
        raise
    save_face_set(faces, dataset_folder(dataset) / FACES_FILE)
    suggested = suggest_engaged(faces.classes)
    dataset.classes = report.classes
    dataset.mapping = {c: dataset.mapping.get(c, suggested[c]) for c in faces.classes}
    dataset.report = stored_report(report)
    dataset.faces = len(faces)
    dataset.status = "ready" if dataset.mapping_complete else "needs_mapping"
    dataset.message = "" if dataset.mapping_complete else "say for each class whether it counts as engaged"
    session.commit()
    return {"dataset": dataset.id, "status": dataset.status, "faces": len(faces), "refused": len(report.refused)}


def set_mapping(dataset: LabelledDataset, mapping: Mapping[str, bool | None], included: bool) -> LabelledDataset:
    """The admin's engaged / not engaged choice per class; the dataset is ready once every class is mapped and
    both sides have one."""
    if dataset.status not in ("needs_mapping", "ready"):
        raise ValueError(f"the dataset is {dataset.status}; map its classes once it has been read")
    dataset.mapping = {c: (None if mapping.get(c) is None else bool(mapping[c])) for c in dataset.classes}
    dataset.included = bool(included)
    if dataset.mapping_complete:
        dataset.status, dataset.message = "ready", ""
    else:
        dataset.status = "needs_mapping"
        dataset.message = "map every class, at least one to engaged and one to not engaged"
    session.commit()
    return dataset


def dataset_faces(dataset: LabelledDataset) -> FaceSet:
    """The dataset's crops (read from its zip again if the crops file is missing)."""
    path = dataset_folder(dataset) / FACES_FILE
    if path.is_file():
        return load_face_set(path)
    faces, _ = read_labelled_zip(dataset_folder(dataset) / ARCHIVE_FILE, layout=dataset.layout)
    save_face_set(faces, path)
    return faces


def delete_dataset(dataset: LabelledDataset) -> None:
    folder = dataset_folder(dataset)
    session.delete(dataset)
    session.commit()
    shutil.rmtree(folder, ignore_errors=True)


def dataset_folder(dataset: LabelledDataset) -> Path:
    return Settings.from_env().data_dir / dataset.path


def stored_report(report: ImportReport) -> dict:
    """The report as kept on the row: counts per class and reason, and the first refused files."""
    reasons: dict[str, int] = {}
    for item in report.refused:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    return {
        "layout": report.layout,
        "classes": report.classes,
        "accepted": len(report.accepted),
        "faces_found": sum(item["face_found"] for item in report.accepted),
        "refused_total": len(report.refused),
        "refused_by_reason": reasons,
        "refused": report.refused[:REPORT_ROWS],
    }


def _refuse(dataset: LabelledDataset, message: str) -> None:
    dataset.status, dataset.message, dataset.classes, dataset.faces = "refused", message[:2000], {}, 0
    session.commit()


def _side(engaged: bool) -> str:
    return "engaged" if engaged else "not engaged"


def _unique(name: str, taken: Mapping[str, object]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate
