"""Admin: the engagement model's labelled data, its retraining settings, and each version's held-out figures.

An admin uploads a labelled zip (`class/` or `group/subclass/` folders); a job on the training queue reads and
validates it (`jobs.engagement`), then the admin maps each class to engaged / not engaged and retrains, with live
progress, within the configured time budget. A version's page shows per-class precision, recall and F1, the
confusion matrix, the loss and accuracy curves and the majority-class baseline beside the model.
"""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core import db
from core.models import AuditLog, JobRun, LabelledDataset, ModelVersion
from jobs import queue, tasks
from webapp.admin.queued import queued
from webapp.auth import role_required

bp = Blueprint("admin_engagement", __name__, url_prefix="/admin/engagement")

TASK = "engagement"
RECENT_VERSIONS = 10
RECENT_RUNS = 10
LAYOUT_LABELS = {
    "auto": "detect from the folders",
    "class": "class/image (one folder per class; folders below it are people or sessions)",
    "group/subclass": "group/subclass/image (e.g. Engaged/confused/...)",
}


@bp.get("/")
@role_required("admin")
def index():
    from ml.engagement.datasets import TIME_BUDGET_RANGE_S, training_settings

    queue.reconcile()
    return render_template(
        "admin/engagement.html",
        datasets=LabelledDataset.all(),
        versions=ModelVersion.for_task(TASK)[:RECENT_VERSIONS],
        production=ModelVersion.production(TASK),
        settings=training_settings(),
        budget_range_min=[TIME_BUDGET_RANGE_S[0] / 60, TIME_BUDGET_RANGE_S[1] // 60],
        runs=_recent_runs(),
        layouts=LAYOUT_LABELS,
        indexed=_indexed,
    )


@bp.post("/datasets")
@role_required("admin")
def upload_dataset():
    from jobs.engagement import enqueue_dataset_import
    from ml.engagement.datasets import create_dataset

    archive = request.files.get("archive")
    layout = request.form.get("layout", "auto")
    if archive is None or not archive.filename:
        flash("Choose a zip file of labelled images first.", "warning")
        return _back()
    if layout not in LAYOUT_LABELS:
        flash(f"Unknown layout {layout!r}.", "danger")
        return _back()
    dataset = create_dataset(request.form.get("name", ""), archive.filename, layout, current_user.email, archive.save)
    try:
        run = enqueue_dataset_import(dataset, current_user.email)
    except queue.QueueUnavailableError as exc:
        dataset.status, dataset.message = "refused", f"the import job could not start: {exc}"
        db.session.commit()
        flash(f"Stored, but the import could not start: {exc}.", "danger")
        return _back()
    AuditLog.record(current_user.id, "engagement_dataset_uploaded", dataset.name, dataset=dataset.id, run_id=run.id)
    db.session.commit()
    flash(f"Uploaded {dataset.name}; job {run.id} is reading and checking it (progress below).", "success")
    return _back()


@bp.post("/datasets/<int:dataset_id>")
@role_required("admin")
def update_dataset(dataset_id: int):
    from ml.engagement.datasets import delete_dataset, set_mapping

    dataset = db.session.get(LabelledDataset, dataset_id) or abort(404, description="no such dataset")
    if request.form.get("action") == "delete":
        name = dataset.name
        delete_dataset(dataset)
        AuditLog.record(current_user.id, "engagement_dataset_deleted", name, dataset=dataset_id)
        db.session.commit()
        flash(f"Deleted {name}; the next retraining will not use it.", "success")
        return _back()
    choices = {"engaged": True, "not_engaged": False}
    mapping = {label: choices.get(request.form.get(f"class-{index}", "")) for index, label in _indexed(dataset)}
    try:
        set_mapping(dataset, mapping, included=request.form.get("included") == "on")
    except ValueError as exc:
        flash(f"Not saved: {exc}.", "warning")
        return _back()
    AuditLog.record(current_user.id, "engagement_dataset_mapped", dataset.name, dataset=dataset.id, mapping=mapping)
    db.session.commit()
    if dataset.status == "ready":
        used = "the next retraining uses it" if dataset.included else "left out of training"
        flash(f"Saved {dataset.name}: {used}.", "success")
    else:
        flash(f"Saved {dataset.name}; {dataset.message}.", "warning")
    return _back()


@bp.post("/settings")
@role_required("admin")
def save_settings():
    from ml.engagement.datasets import save_training_settings

    try:
        minutes = float(request.form.get("time_budget_min", ""))
        include_generated = request.form.get("include_generated") == "on"
        saved = save_training_settings(round(minutes * 60), include_generated, current_user.email)
    except ValueError as exc:
        flash(f"Not saved: {exc}.", "warning")
        return _back()
    AuditLog.record(current_user.id, "engagement_settings", TASK, **saved.__dict__)
    db.session.commit()
    flash(f"Saved: retraining fits for at most {saved.time_budget_s / 60:g} minutes.", "success")
    return _back()


@bp.post("/retrain")
@role_required("admin")
def retrain():
    retraining = partial(tasks.enqueue_retrain, TASK, current_user.email)
    return queued(retraining, "retrain_requested", TASK, "admin_engagement.index", where="below")


@bp.get("/models/<int:version_id>")
@role_required("admin")
def version(version_id: int):
    version = db.session.get(ModelVersion, version_id)
    if version is None or version.task != TASK:
        abort(404, description="no such engagement model version")
    return render_template("admin/engagement_version.html", version=version, figures=version_figures(version))


def version_figures(version: ModelVersion) -> dict:
    """What the version page draws, read from the registry row (plain numbers, no model loaded)."""
    detail = version.metrics.get("detail") or {}
    confusion = detail.get("confusion") or {"labels": [], "matrix": []}
    shaded = [[cell / max(1, sum(row)) for cell in row] for row in confusion["matrix"]]  # share of each true class
    baseline = detail.get("baseline") or {}
    return {
        "per_class": detail.get("per_class") or {},
        "baseline_per_class": baseline.get("per_class") or {},
        "baseline": baseline,
        "confusion": confusion,
        "confusion_share": shaded,
        "curves": [_curve(detail.get("curves") or {}, "loss"), _curve(detail.get("curves") or {}, "accuracy")],
        "best_epoch": detail.get("best_epoch"),
        "gate": detail.get("gate") or {},
        "engaged": detail.get("engaged") or {},
    }


def _curve(history: dict, metric: str, width: int = 480, height: int = 200, pad: int = 30) -> dict:
    """SVG polylines of a training curve and its validation twin, in a width x height box."""
    series = {name: history.get(name) or [] for name in (metric, f"val_{metric}")}
    values = [v for line in series.values() for v in line if v is not None]
    epochs = max((len(line) for line in series.values()), default=0)
    if not values or epochs == 0:
        return {"metric": metric, "lines": {}, "width": width, "height": height}
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def point(index: int, value: float) -> str:
        x = pad + (width - 2 * pad) * (index / max(1, epochs - 1))
        y = height - pad - (height - 2 * pad) * ((value - low) / span)
        return f"{x:.1f},{y:.1f}"

    lines = {name: " ".join(point(i, v) for i, v in enumerate(line)) for name, line in series.items() if line}
    return {
        "metric": metric,
        "lines": lines,
        "low": low,
        "high": high,
        "epochs": epochs,
        "width": width,
        "height": height,
    }


def _back():
    """To the engagement page, where the flashed message and the job's progress show."""
    return redirect(url_for("admin_engagement.index"))


def _indexed(dataset: LabelledDataset) -> list[tuple[int, str]]:
    """Classes numbered for the form (class names may hold any character; field names should not)."""
    return list(enumerate(sorted(dataset.classes)))


def _recent_runs() -> list[JobRun]:
    """Recent engagement jobs: retraining, promotions and dataset imports."""
    kinds = (JobRun.kind.like(f"%{TASK}%")) | (JobRun.kind.like("import labelled faces%"))
    return list(db.session.scalars(select(JobRun).where(kinds).order_by(JobRun.id.desc()).limit(RECENT_RUNS)))
