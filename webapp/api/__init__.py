"""JSON API v1: session or `Authorization: Bearer <token>`; the OpenAPI document lists every route."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from core import db
from core.models import JobRun, ModelVersion
from jobs import queue, tasks
from ml import lifecycle
from webapp.auth import role_required
from webapp.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer-token clients carry no cookie; cookie sessions are checked in `_csrf_for_sessions`


@bp.before_request
def _csrf_for_sessions():
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.headers.get("Authorization"):
        csrf.protect()


@bp.errorhandler(400)
def _bad_request(error):
    return jsonify(error=getattr(error, "description", str(error))), 400


@bp.get("/openapi.json")
def openapi():
    from webapp.api.openapi import document

    return jsonify(document())


@bp.get("/me")
@role_required("any")
def me():
    return jsonify(email=current_user.email, role=current_user.role, name=current_user.name)


@bp.get("/models")
@role_required("admin")
def models():
    return jsonify(versions=[v.as_dict() for v in ModelVersion.for_task(request.args.get("task") or None)])


@bp.post("/tasks/<task>/retrain")
@role_required("admin")
def retrain(task: str):
    if task not in lifecycle.available_tasks():
        return jsonify(error=f"unknown task {task!r}", tasks=lifecycle.available_tasks()), 404
    try:
        run = tasks.enqueue_retrain(task, current_user.email)
    except queue.QueueUnavailableError as exc:
        return jsonify(error=str(exc)), 503
    return jsonify(run.as_dict()), 202


@bp.get("/jobs/<int:run_id>")
@role_required("admin")
def job(run_id: int):
    queue.reconcile()
    run = db.session.get(JobRun, run_id)
    if run is None:
        return jsonify(error="no such job run"), 404
    row = run.as_dict()
    row["progress"], row["message"] = queue.live_progress(run)
    return jsonify(row)
