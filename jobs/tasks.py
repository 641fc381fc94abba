"""RQ entry points. Each takes the `job_runs` id first and reports progress through `tracked`.

Everything that changes what a task serves (retrain, publish, promote, roll back) holds the task's lock, so one
runs at a time per task: a second request is refused with `queue.JobAlreadyRunningError` ("already running (job
N)"), except a publish requested while the task is busy, which follows the running job (`request_publish`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from rq import get_current_job

from core import db
from core.models import JobRun, ModelVersion
from core.settings import Settings
from jobs import queue

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]

TRAINING_TIMEOUT_S = 2 * queue.HOUR
PUBLISH_TIMEOUT_S = queue.HOUR
UPLOAD_TIMEOUT_S = queue.HOUR
PUBLISH = "publish"
# An import of more rows than this is stored by a job rather than in the web request.
INLINE_IMPORT_ROWS = 20_000


def task_lock(task: str) -> str:
    return f"task:{task}"


def enqueue_retrain(task: str, requested_by: str) -> JobRun:
    """Queue `retrain(task)` on the training queue (raises `queue.QueueUnavailableError` when Redis is down and
    `queue.JobAlreadyRunningError` while another job of the task is open)."""
    return _task_job(
        f"retrain {task}", retrain, task, task=task, by=requested_by, on="training", timeout=TRAINING_TIMEOUT_S
    )


def enqueue_publish(task: str, requested_by: str, reason: str) -> JobRun:
    """Queue a republish of the task's production version (what the web serves from it)."""
    return _task_job(f"publish {task}", publish, task, task=task, by=requested_by, reason=reason)


def enqueue_promote(version: ModelVersion, requested_by: str) -> JobRun:
    """Queue publishing `version` and making it production."""
    kind = f"promote {version.task} v{version.version}"
    return _task_job(kind, promote, version.id, task=version.task, by=requested_by, version=version.version)


def enqueue_rollback(task: str, requested_by: str) -> JobRun:
    """Queue republishing the previous production version and putting it back."""
    return _task_job(f"rollback {task}", rollback, task, task=task, by=requested_by)


def _task_job(
    kind: str,
    func: Callable,
    *args,
    task: str,
    by: str,
    on: str = "default",
    timeout: int = PUBLISH_TIMEOUT_S,
    **params,
) -> JobRun:
    """A job that changes what `task` serves: it holds the task's lock."""
    return queue.enqueue(
        kind,
        func,
        *args,
        queue=on,
        requested_by=by,
        timeout=timeout,
        params={"task": task, **params},
        lock=task_lock(task),
    )


def request_publish(task: str, requested_by: str, reason: str) -> JobRun:
    """Make sure the task's served data is rewritten soon: queue a publish, or, while another job of the task
    is open, let it run first (a queued publish will read the latest state anyway; anything else queues the
    publish when it ends). Returns the run that will do it."""
    for _ in range(3):
        try:
            return enqueue_publish(task, requested_by, reason)
        except queue.JobAlreadyRunningError as busy:
            holder = busy.run
            if holder.kind == f"publish {task}" and holder.status == "queued":
                return holder
            if queue.request_follow_up(holder, PUBLISH):
                return holder
    raise queue.JobAlreadyRunningError(holder)


def enqueue_upload_read(kind: str, token: str, user_id: int, filename: str, requested_by: str) -> JobRun:
    """Queue reading an uploaded workbook or large file (columns, rows, values) off the web request."""
    return queue.enqueue(
        f"read {filename}",
        read_upload,
        kind,
        token,
        user_id,
        queue="default",
        requested_by=requested_by,
        timeout=UPLOAD_TIMEOUT_S,
        params={"step": "read", "filename": filename},
    )


def enqueue_records_import(kind: str, token: str, user_id: int, mapping: dict, requested_by: str) -> JobRun:
    """Queue importing an uploaded file of academic records with `mapping` (a `ColumnMapping.to_dict()`)."""
    return queue.enqueue(
        "import academic records",
        import_upload,
        kind,
        token,
        user_id,
        mapping,
        queue="default",
        requested_by=requested_by,
        timeout=UPLOAD_TIMEOUT_S,
        params={"step": "import"},
    )


def read_upload(run_id: int, kind: str, token: str, user_id: int) -> dict:
    """Read an upload once, keep the table it holds in place of the file, and describe it."""

    def work(progress: Progress) -> dict:
        from core import uploads
        from ml.data.academic_import import describe_table, read_table
        from ml.data.table_files import already_read

        uploads_dir = Settings.from_env().uploads_dir
        filename, raw = uploads.load(uploads_dir, kind, user_id, token)
        progress(10, f"reading {filename} ({len(raw) / 2**20:.1f} MB)")
        frame = read_table(raw, filename)
        progress(80, f"{len(frame):,} rows read; keeping the table for the next steps")
        uploads.replace(uploads_dir, kind, user_id, token, f"{filename}.parquet", already_read(frame))
        return describe_table(frame)

    return tracked(run_id, work)


def import_upload(run_id: int, kind: str, token: str, user_id: int, mapping: dict) -> dict:
    """Import an uploaded file of academic records; a current-term import republishes the at-risk list."""

    def work(progress: Progress) -> dict:
        from core import uploads
        from ml.data.academic_import import ColumnMapping, import_records

        filename, raw = uploads.load(Settings.from_env().uploads_dir, kind, user_id, token)
        progress(10, f"validating and storing {filename}")
        requested_by = _requested_by(run_id)
        outcome = import_records(raw, filename, ColumnMapping.from_dict(mapping), uploaded_by=requested_by)
        report = outcome.report()
        if outcome.batch_id and outcome.current_rows:
            follow = request_publish("at_risk", requested_by, "current records imported")
            report["republish"] = f"The stored list is rescored by job {follow.id}."
        return report

    return tracked(run_id, work)


def retrain(run_id: int, task: str) -> dict:
    """Retrain `task` and promote the candidate if the gate says so."""

    def work(progress: Progress) -> dict:
        from ml import lifecycle

        return lifecycle.retrain(task, requested_by=_requested_by(run_id), progress=progress).as_dict()

    return tracked(run_id, work)


def publish(run_id: int, task: str) -> dict:
    """Rewrite what the web serves from the task's production version."""

    def work(progress: Progress) -> dict:
        from ml import lifecycle

        return {"task": task, "rows": lifecycle.republish(task, progress=progress)}

    return tracked(run_id, work)


def promote(run_id: int, version_id: int) -> dict:
    """Publish a version and make it production."""

    def work(progress: Progress) -> dict:
        from ml import lifecycle

        version = db.session.get(ModelVersion, version_id)
        if version is None:
            raise LookupError(f"model version {version_id} does not exist")
        lifecycle.promote(version, note=f"promoted by {_requested_by(run_id)}", progress=progress)
        return {"task": version.task, "version": version.version, "status": version.status}

    return tracked(run_id, work)


def rollback(run_id: int, task: str) -> dict:
    """Put back the task's previous production version."""

    def work(progress: Progress) -> dict:
        from ml import lifecycle

        version = lifecycle.rollback(task, progress=progress)
        return {"task": task, "version": version.version, "status": version.status}

    return tracked(run_id, work)


def tracked(run_id: int, work: Callable[[Progress], dict]) -> dict:
    """Run `work`, mirroring its progress into RQ's job meta and the job_runs row; failures keep their reason.
    When the run ends (either way) a follow-up asked for meanwhile is queued."""
    db.bind(Settings.from_env().database_url)  # a plain `rq worker` has no app to do it
    run = _mark_running(run_id)
    job = get_current_job()

    def progress(percent: int, message: str) -> None:
        if job is not None:
            job.meta.update(progress=percent, message=message)
            job.save_meta()
        run.progress, run.message = max(0, min(100, percent)), message[:500]
        db.session.commit()

    try:
        result = work(progress)
    except BaseException as exc:
        db.session.rollback()
        _mark_failed(run_id, exc)
        _queue_follow_up(run_id)
        raise
    else:
        run.status, run.progress, run.result, run.finished_at = "succeeded", 100, result, db.utcnow()
        db.session.commit()
        _queue_follow_up(run_id)
        return result
    finally:
        db.session.remove()


def _requested_by(run_id: int) -> str:
    return db.session.get(JobRun, run_id).requested_by or "worker"


def _queue_follow_up(run_id: int) -> None:
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    if run is None or run.follow_up != PUBLISH:
        return
    task = run.params.get("task")
    try:
        follow = request_publish(task, run.requested_by, f"requested while run {run_id} was {run.kind}")
        log.info("run %s: follow-up publish of %s is run %s", run_id, task, follow.id)
    except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
        log.error("run %s: could not queue the follow-up publish of %s: %s", run_id, task, exc)


def _mark_running(run_id: int) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None:
        raise LookupError(f"job run {run_id} does not exist")
    run.status, run.started_at, run.progress = "running", db.utcnow(), 0
    db.session.commit()
    return run


def _mark_failed(run_id: int, exc: BaseException) -> None:
    try:
        run = db.session.get(JobRun, run_id)
        run.status, run.finished_at = "failed", db.utcnow()
        run.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        db.session.commit()
    except Exception:  # the database itself may be what failed; reconcile() closes the run later
        log.error("could not record failure of run %s:\n%s", run_id, traceback.format_exc())
