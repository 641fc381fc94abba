"""Redis connection, named queues, and the one enqueue helper that also writes the `job_runs` row."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.db import session, utcnow
from core.models import JobRun
from core.models.lifecycle import OPEN_JOB_STATUSES
from core.settings import Settings
from jobs import redis_server

# One queue per kind of work, so a long census load never delays a retrain.
QUEUES = ("training", "census", "default")
HOUR = 3600
RESULT_TTL = 7 * 24 * HOUR
FAILURE_TTL = 30 * 24 * HOUR


class QueueUnavailableError(RuntimeError):
    """Redis cannot be reached: nothing was enqueued."""


class JobAlreadyRunningError(RuntimeError):
    """A run holding the same lock is queued or running; `run` is that run."""

    def __init__(self, run: JobRun):
        self.run = run
        super().__init__(f"{run.kind} is already {run.status} (job {run.id})")


def redis_url(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    return settings.redis_url or redis_server.ensure_running(settings.data_dir)


def connection(url: str | None = None) -> redis.Redis:
    return _connection(url or redis_url())


@lru_cache(maxsize=4)
def _connection(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=30, health_check_interval=30)


def enqueue(
    kind: str,
    func: Callable,
    *args,
    queue: str,
    requested_by: str,
    timeout: int,
    params: dict | None = None,
    lock: str | None = None,
) -> JobRun:
    """Record a job run, then put `func(run_id, *args)` on `queue` under the RQ job id `aula-<run id>`.

    With `lock`, at most one run holding it may be open: `JobAlreadyRunningError` names the open one (the
    database's partial unique index decides, so two processes asking at once cannot both win). When Redis is
    down the run is kept as failed with the reason and `QueueUnavailableError` is raised.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    run = JobRun(kind=kind, params=params or {}, queue=queue, requested_by=requested_by, status="queued", lock_key=lock)
    session.add(run)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        holder = JobRun.open_for(lock) if lock else None
        if holder is None:
            raise
        raise JobAlreadyRunningError(holder) from None
    try:
        job = Queue(queue, connection=connection()).enqueue(
            func,
            run.id,
            *args,
            job_id=rq_job_id(run.id),
            job_timeout=timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"{kind} (run {run.id})",
        )
    except (redis.RedisError, OSError, redis_server.EmbeddedRedisError) as exc:
        _finish(run, "failed", error=f"the job queue (Redis) is unavailable: {exc}")
        raise QueueUnavailableError(f"the job queue (Redis) is unavailable: {exc}") from exc
    run.rq_job_id = job.id
    session.commit()
    return run


def rq_job_id(run_id: int) -> str:
    """The RQ job of a run is found from the run alone (and a run can only ever be enqueued once)."""
    return f"aula-{run_id}"


def request_follow_up(run: JobRun, follow_up: str) -> bool:
    """Ask the open `run` to queue `follow_up` when it ends; False if it closed meanwhile (ask again)."""
    result = session.execute(
        update(JobRun)
        .where(JobRun.id == run.id, JobRun.status.in_(OPEN_JOB_STATUSES))
        .values(follow_up=follow_up)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def reconcile(now: float | None = None) -> None:
    """Close job runs whose RQ job failed, vanished, or whose worker died, so none stays running forever.

    RQ moves a job whose worker stopped sending heartbeats to its failed registry (AbandonedJobError);
    `now` lets a caller look past the heartbeat grace period.
    """
    runs = list(session.scalars(select(JobRun).where(JobRun.status.in_(OPEN_JOB_STATUSES))))
    if not runs:
        return
    try:
        conn = connection()
        for name in {run.queue for run in runs}:
            StartedJobRegistry(name, connection=conn).cleanup(timestamp=now)
        for run in runs:
            _sync(run, conn)
    except (redis.RedisError, OSError, redis_server.EmbeddedRedisError):
        return  # cannot tell while Redis is down; the page says so through /readyz
    session.commit()


def live_progress(run: JobRun) -> tuple[int, str]:
    """Progress from RQ's job meta (fresher than the row), falling back to the row."""
    if not run.rq_job_id or not run.is_open:
        return run.progress, run.message
    try:
        meta = Job.fetch(run.rq_job_id, connection=connection()).get_meta(refresh=True)
    except (NoSuchJobError, redis.RedisError, OSError):
        return run.progress, run.message
    return int(meta.get("progress", run.progress)), str(meta.get("message", run.message))


def wait_for(run: JobRun, timeout_s: float, poll_s: float = 0.5) -> JobRun:
    """Block until the run is closed (or `timeout_s` passes); returns the refreshed row."""
    deadline = time.monotonic() + timeout_s
    while True:
        reconcile()
        session.refresh(run)
        if not run.is_open or time.monotonic() > deadline:
            return run
        time.sleep(poll_s)


def _sync(run: JobRun, conn: redis.Redis) -> None:
    if not run.rq_job_id:
        return
    try:
        job = Job.fetch(run.rq_job_id, connection=conn)
    except NoSuchJobError:
        _finish(run, "failed", error="the job disappeared from Redis (expired, or Redis lost its data)")
        return
    status = job.get_status()
    if status == JobStatus.FAILED:
        _finish(run, "failed", error=_failure_reason(job))
    elif status in (JobStatus.STOPPED, JobStatus.CANCELED):
        _finish(run, "failed", error=f"the job was {status.value}")
    elif status == JobStatus.FINISHED and run.is_open:
        # The job finished but could not write its own row (e.g. the database blinked).
        _finish(run, "succeeded")


def _failure_reason(job: Job) -> str:
    result = job.latest_result()
    text = (result.exc_string if result and result.exc_string else "") or "the job failed"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else text
    if "AbandonedJobError" in text:
        return "the worker running this job stopped (killed or crashed) before it finished"
    return last


def _finish(run: JobRun, status: str, *, error: str | None = None) -> None:
    run.status = status
    run.error = error if status == "failed" else run.error
    run.finished_at = run.finished_at or utcnow()
    if status == "succeeded":
        run.progress = 100
    session.commit()
