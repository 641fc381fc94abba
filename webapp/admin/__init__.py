"""Admin area: users and roles, background jobs, the model registry, the audit log."""

from __future__ import annotations

import secrets
from functools import partial

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import func, select

from core import db
from core.models import ROLES, AuditLog, JobRun, ModelVersion, User
from jobs import queue, tasks
from ml import lifecycle, registry
from webapp.admin.queued import queued
from webapp.auth import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
MODELS = "admin.models"  # where a model button answers


@bp.get("/")
@role_required("admin")
def index():
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    production = {task: ModelVersion.production(task) for task in lifecycle.available_tasks()}
    queue.reconcile()
    return render_template("admin/index.html", counts=counts, production=production, runs=JobRun.recent(5))


@bp.get("/users")
@role_required("admin")
def users():
    return _users_page()


def _users_page(notice: str = "", one_time_password: str = ""):
    """The users page; a generated password is shown on this response only (flash would put it in the cookie)."""
    page = render_template(
        "admin/users.html",
        users=db.session.scalars(select(User).order_by(User.email)),
        roles=ROLES,
        notice=notice,
        one_time_password=one_time_password,
    )
    return page, 200, {"Cache-Control": "no-store"} if one_time_password else {}


@bp.post("/users")
@role_required("admin")
def create_user():
    password = request.form.get("password") or _new_password()
    try:
        user = User.create(
            request.form.get("email", ""), request.form.get("role", ""), password, request.form.get("name", "")
        )
        db.session.flush()
    except ValueError as exc:
        db.session.rollback()
        flash(f"User not created: {exc}.", "danger")
        return redirect(url_for("admin.users"))
    AuditLog.record(current_user.id, "user_created", user.email, role=user.role)
    db.session.commit()
    if request.form.get("password"):
        flash(f"Created {user.email} ({user.role}).", "success")
        return redirect(url_for("admin.users"))
    return _users_page(f"Created {user.email} ({user.role}). Their password, shown once:", password)


@bp.post("/users/<int:user_id>")
@role_required("admin")
def update_user(user_id: int):
    user = db.session.get(User, user_id) or _not_found("user")
    action = request.form.get("action")
    if user.id == current_user.id and action in ("disable", "role"):
        flash("You cannot disable yourself or change your own role.", "warning")
        return redirect(url_for("admin.users"))
    if action == "role" and request.form.get("role") in ROLES:
        user.role = request.form["role"]
        message = f"{user.email} is now {user.role}."
    elif action in ("disable", "enable"):
        user.active = action == "enable"
        message = f"{user.email} is {'enabled' if user.active else 'disabled'}."
    elif action == "reset":
        password = _new_password()
        user.set_password(password)  # also ends their sessions
        if user.id == current_user.id:
            login_user(user)  # the admin's own session continues under the new session token
    else:
        flash("Unknown action.", "danger")
        return redirect(url_for("admin.users"))
    AuditLog.record(current_user.id, f"user_{action}", user.email, role=user.role)
    db.session.commit()
    if action == "reset":
        return _users_page(f"New password for {user.email}, shown once (their sessions have ended):", password)
    flash(message, "success")
    return redirect(url_for("admin.users"))


@bp.get("/jobs")
@role_required("admin")
def jobs():
    queue.reconcile()
    return render_template("admin/jobs.html", runs=JobRun.recent(50), tasks=lifecycle.available_tasks())


@bp.get("/jobs.json")
@role_required("admin")
def jobs_json():
    queue.reconcile()
    runs = []
    for run in JobRun.recent(50):
        row = run.as_dict()
        row["progress"], row["message"] = queue.live_progress(run)
        runs.append(row)
    return jsonify(runs=runs)


@bp.post("/jobs/retrain")
@role_required("admin")
def retrain():
    task = request.form.get("task", "")
    if task not in lifecycle.available_tasks():
        flash(f"Unknown task {task!r}.", "danger")
        return redirect(url_for("admin.jobs"))
    return queued(partial(tasks.enqueue_retrain, task, current_user.email), "retrain_requested", task, "admin.jobs")


@bp.get("/models")
@role_required("admin")
def models():
    versions = ModelVersion.for_task(request.args.get("task") or None)
    return render_template("admin/models.html", versions=versions, tasks=lifecycle.available_tasks())


@bp.post("/models/<int:version_id>/promote")
@role_required("admin")
def promote(version_id: int):
    version = db.session.get(ModelVersion, version_id) or _not_found("model version")
    if version.status in ("failed", "production"):
        flash(f"{version.task} v{version.version} is {version.status}: nothing to promote.", "warning")
        return redirect(url_for("admin.models"))
    target = f"{version.task} v{version.version}"
    return queued(partial(tasks.enqueue_promote, version, current_user.email), "promote_requested", target, MODELS)


@bp.post("/models/<task>/rollback")
@role_required("admin")
def rollback(task: str):
    if task not in lifecycle.available_tasks():
        _not_found("task")
    try:
        registry.rollback_target(task)
    except registry.RegistryError as exc:
        flash(f"Not rolled back: {exc}.", "danger")
        return redirect(url_for("admin.models"))
    return queued(partial(tasks.enqueue_rollback, task, current_user.email), "rollback_requested", task, MODELS)


@bp.post("/models/<task>/publish")
@role_required("admin")
def publish(task: str):
    if task not in lifecycle.available_tasks():
        _not_found("task")
    if ModelVersion.production(task) is None:
        flash(f"{task} has no production version to publish.", "warning")
        return redirect(url_for("admin.models"))
    publishing = partial(tasks.enqueue_publish, task, current_user.email, "requested by an admin")
    return queued(publishing, "publish_requested", task, MODELS)


@bp.get("/audit")
@role_required("admin")
def audit():
    entries = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(200))
    return render_template("admin/audit.html", entries=entries)


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _not_found(what: str):
    abort(404, description=f"no such {what}")
