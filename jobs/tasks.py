"""RQ entry points. Each takes the `job_runs` id first and reports progress through `tracked`."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from rq import get_current_job

from core import db
from core.models import JobRun
from core.settings import Settings
from jobs import queue

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]


TRAINING_TIMEOUT_S = 2 * queue.HOUR


def enqueue_retrain(task: str, requested_by: str) -> JobRun:
    """Queue `retrain(task)` on the training queue (raises `queue.QueueUnavailableError` when Redis is down)."""
    return queue.enqueue(
        f"retrain {task}",
        retrain,
        task,
        queue="training",
        requested_by=requested_by,
        timeout=TRAINING_TIMEOUT_S,
        params={"task": task},
    )


def retrain(run_id: int, task: str) -> dict:
    """Retrain `task` and promote the candidate if it is not worse than production."""

    def work(progress: Progress) -> dict:
        from ml import lifecycle

        requested_by = db.session.get(JobRun, run_id).requested_by or "worker"
        return lifecycle.retrain(task, requested_by=requested_by, progress=progress).as_dict()

    return tracked(run_id, work)


def tracked(run_id: int, work: Callable[[Progress], dict]) -> dict:
    """Run `work`, mirroring its progress into RQ's job meta and the job_runs row; failures keep their reason."""
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
        raise
    else:
        run.status, run.progress, run.result, run.finished_at = "succeeded", 100, result, db.utcnow()
        db.session.commit()
        return result
    finally:
        db.session.remove()


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
