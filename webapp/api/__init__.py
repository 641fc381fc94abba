"""JSON API v1: session or `Authorization: Bearer <token>`; the OpenAPI document lists every route."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user

from core import db
from core.csv_export import to_csv
from core.models import JobRun, ModelVersion
from jobs import queue, tasks
from ml import lifecycle
from webapp.auth import role_required
from webapp.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_JSON_RECORDS = 1000
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
    except queue.JobAlreadyRunningError as exc:
        return jsonify(error=str(exc), job=exc.run.as_dict()), 409
    except queue.QueueUnavailableError as exc:
        return jsonify(error=str(exc)), 503
    return jsonify(run.as_dict()), 202


@bp.get("/at-risk")
@role_required("faculty")
def at_risk():
    """Stored predictions of the production model: ?term=&course=&checkpoint=&limit="""
    from ml.at_risk import store

    version, term = ModelVersion.production("at_risk"), store.current_term()
    if version is None or term is None:
        return jsonify(error="no at-risk model in production, or no current term"), 404
    checkpoints = list(version.params.get("checkpoints", {}))
    checkpoint = request.args.get("checkpoint", checkpoints[-1])
    if checkpoint not in checkpoints:
        return jsonify(error=f"checkpoint must be one of {', '.join(checkpoints)}"), 400
    limit = request.args.get("limit", type=int) or store.GRID_LIMIT
    rows = store.predictions(
        version.id, request.args.get("term", term.code), checkpoint, request.args.get("course") or None, limit
    )
    return jsonify(model_version=version.version, checkpoint=checkpoint, rows=rows.to_dict("records"))


@bp.post("/at-risk/score")
@role_required("faculty")
def score_at_risk():
    """Score records: a JSON body (one record, a list, or {"records": [...], "checkpoint": ...}) answered in
    milliseconds, or a CSV/Excel file (multipart field `file`, or a CSV request body) through the batch path."""
    from ml.at_risk import store

    if request.is_json:
        return _score_json(request.get_json(silent=True))
    from ml.at_risk.batch import score_upload
    from ml.data.academic_import import ImportFormatError, MappingError

    upload = request.files.get("file")
    data, filename = (upload.read(), upload.filename or "upload.csv") if upload else (request.get_data(), "body.csv")
    try:
        loaded, rules = store.production_model()
    except LookupError as exc:
        return jsonify(error=str(exc)), 404
    try:
        result = score_upload(
            data, filename, loaded.model, checkpoint=request.args.get("checkpoint") or None, rules=rules
        )
    except (ImportFormatError, MappingError, KeyError) as exc:
        return jsonify(error=str(exc)), 400
    if request.accept_mimetypes.best == "text/csv":
        return Response(to_csv(result.table), mimetype="text/csv")
    return jsonify(
        model_version=loaded.version.version,
        rows_in_file=result.n_rows,
        rows_scored=len(result.table),
        rows_invalid=result.n_invalid_rows,
        errors=[e.__dict__ for e in result.errors],
        rows=result.table.to_dict("records"),
    )


def _score_json(body):
    from ml.at_risk import store
    from ml.at_risk.batch import SCORING_MAPPING
    from ml.data.academic_import import ACADEMIC
    from ml.data.import_engine import validate_records

    checkpoint = request.args.get("checkpoint") or None
    if isinstance(body, dict) and "records" in body:
        checkpoint = body.get("checkpoint") or checkpoint
        records = body["records"]
    else:
        records = [body] if isinstance(body, dict) else body
    if not isinstance(records, list) or not records:
        return jsonify(error='send one record (an object), a list of them, or {"records": [...]}'), 400
    if len(records) > MAX_JSON_RECORDS:
        return jsonify(error=f"at most {MAX_JSON_RECORDS} records per request; send a CSV file for more"), 413
    try:
        serving = store.production_scorer()
    except LookupError as exc:
        return jsonify(error=str(exc)), 404
    scorer = serving.scorer
    if checkpoint is not None and checkpoint not in scorer.checkpoints:
        return jsonify(error=f"checkpoint must be one of {', '.join(scorer.checkpoints)}"), 400
    valid, positions, errors = validate_records(ACADEMIC, records, SCORING_MAPPING)
    results: list[dict | None] = [None] * len(records)
    for position, scored in zip(positions, scorer.score(valid, checkpoint), strict=True):
        results[position] = scored.as_dict()
    status = 200 if valid else 400
    return jsonify(
        model_version=serving.version,
        results=results,
        errors=[{"record": e.record, "field": e.field, "problem": e.problem} for e in errors],
    ), status


@bp.post("/records/import")
@role_required("faculty")
def import_records():
    """Import academic records (multipart `file` + optional `mapping` JSON, or a CSV body); ?dry_run=1 validates
    only; ?default_term= for files without a term column. The same mapping, checks and report as the UI."""
    import json

    from ml.data.academic_import import ColumnMapping, ImportFormatError, MappingError
    from ml.data.academic_import import import_records as run_import

    upload = request.files.get("file")
    data, filename = (upload.read(), upload.filename or "upload.csv") if upload else (request.get_data(), "body.csv")
    dry_run = request.args.get("dry_run", "").lower() in ("1", "true", "yes")
    try:
        mapping_text = request.form.get("mapping") or request.args.get("mapping")
        mapping = ColumnMapping.from_dict(json.loads(mapping_text)) if mapping_text else None
        outcome = run_import(
            data,
            filename,
            mapping,
            uploaded_by=current_user.email,
            dry_run=dry_run,
            default_term=request.args.get("default_term") or None,
        )
    except (ImportFormatError, MappingError, json.JSONDecodeError) as exc:
        return jsonify(error=str(exc)), 400
    report = outcome.report()
    if outcome.batch_id and outcome.current_rows:
        try:
            report["republish_job"] = tasks.request_publish(
                "at_risk", current_user.email, "current records imported"
            ).id
        except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
            report["republish_error"] = str(exc)
    return jsonify(report), 200 if report["rows_valid"] else 400


@bp.post("/engagement/score")
@role_required("faculty")
def score_engagement():
    """Score one image (multipart field `file`): each face's box, engaged probability and label, the summary and
    the model version. The image is checked like an upload (a non-image gets a 4xx with the reason) and not kept."""
    from webapp.uploads.scoring import api_answer

    body, status = api_answer(request.files.get("file"))
    return jsonify(body), status


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
