"""Background jobs on a real RQ worker process: progress, results and failures land in job_runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.job import Job

from core import db
from core.models import JobRun
from jobs import queue
from tests.integration import jobs_for_tests

ROOT = Path(__file__).resolve().parents[2]


def start_worker(*extra: str) -> subprocess.Popen:
    flask = Path(sys.executable).parent / "flask"
    # Its own process group: the worker forks a work horse and a scheduler, and a test may kill them all.
    return subprocess.Popen(
        [str(flask), "--app", "wsgi", "worker", *extra], cwd=ROOT, env=os.environ.copy(), start_new_session=True
    )


@pytest.fixture
def worker(app):
    process = start_worker("--queue", "default")
    yield process
    process.terminate()
    process.wait(timeout=20)


def enqueue(func, *args, timeout: int = 60) -> JobRun:
    return queue.enqueue(func.__name__, func, *args, queue="default", requested_by="test", timeout=timeout)


def wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_job_progress_and_result_are_recorded(worker):
    run = enqueue(jobs_for_tests.count_up, 10)
    assert run.status == "queued" and run.rq_job_id
    seen = set()

    def finished() -> bool:
        db.session.refresh(run)
        seen.add(queue.live_progress(run)[0])
        return not run.is_open

    wait_until(finished)
    assert run.status == "succeeded"
    assert run.progress == 100 and run.result == {"steps": 10}
    assert run.started_at is not None and run.finished_at >= run.started_at
    assert len(seen - {0, 100}) >= 1, f"no intermediate progress seen: {seen}"
    assert Job.fetch(run.rq_job_id, connection=queue.connection()).get_meta()["progress"] == 100


def test_failed_job_keeps_its_reason(worker):
    run = enqueue(jobs_for_tests.fail_with_reason)
    wait_until(lambda: (db.session.refresh(run), not run.is_open)[1])
    assert run.status == "failed"
    assert run.error == "ValueError: the file has no header row"
    assert run.progress == 30


def test_job_whose_worker_dies_ends_failed_not_running(app):
    process = start_worker("--queue", "default")
    try:
        run = enqueue(jobs_for_tests.hang)
        wait_until(lambda: (db.session.refresh(run), run.message.startswith("pid "))[1])
        # As in a crash: the work horse (RQ gives it its own session) and the worker's group (worker, scheduler).
        os.kill(int(run.message.split()[1]), signal.SIGKILL)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    queue.reconcile()  # within RQ's heartbeat grace period the job still counts as running
    db.session.refresh(run)
    assert run.status == "running"
    queue.reconcile(now=time.time() + 600)  # past the grace period: abandoned
    db.session.refresh(run)
    assert run.status == "failed"
    assert "worker running this job stopped" in run.error


def test_dead_redis_fails_the_run_with_the_reason(app, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(queue.QueueUnavailableError, match="unavailable"):
        enqueue(jobs_for_tests.count_up, 1)
    run = JobRun.recent(1)[0]
    assert run.status == "failed" and "Redis" in run.error and run.finished_at is not None


def test_admin_sees_why_a_retrain_could_not_start(signed_in, monkeypatch):
    from tests.conftest import csrf_token

    client = signed_in("admin")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    response = client.post(
        "/admin/jobs/retrain", data={"task": "at_risk", "csrf_token": csrf_token(client, "/admin/jobs")}
    )
    assert response.status_code == 302
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "could not start" in page and "unavailable" in page
    assert JobRun.recent(1)[0].status == "failed"
