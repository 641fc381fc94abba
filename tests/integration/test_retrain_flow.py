"""Retraining end to end: the admin queues it on the web, a real worker trains, the registry gates and
promotes, the faculty view serves the new version without a restart, and a rollback puts the old one back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import db
from core.models import JobRun, ModelVersion
from ml.data.academic import generate_academic
from ml.data.academic_sql import save_generated
from tests.conftest import csrf_token
from tests.integration.test_jobs import start_worker, wait_until

pytestmark = pytest.mark.slow


def seed(n_students: int = 400) -> None:
    data = generate_academic(n_students=n_students, n_courses=12, n_terms=4, seed=5)
    save_generated(data)


def queue_retrain(client) -> JobRun:
    response = client.post(
        "/admin/jobs/retrain", data={"task": "at_risk", "csrf_token": csrf_token(client, "/admin/jobs")}
    )
    assert response.status_code == 302
    return JobRun.recent(1)[0]


def run_worker_until_done(run: JobRun) -> JobRun:
    worker = start_worker("--burst")
    try:
        worker.wait(timeout=300)
    finally:
        if worker.poll() is None:
            worker.kill()
    db.session.expire_all()
    return db.session.get(JobRun, run.id)


def test_retrain_from_admin_runs_on_a_worker_and_promotes(signed_in):
    seed()
    admin = signed_in("admin")
    run = queue_retrain(admin)
    assert run.status == "queued" and run.queue == "training"
    run = run_worker_until_done(run)
    assert run.status == "succeeded", run.error
    assert run.progress == 100 and run.result["promoted"] is True and run.result["version"] == 1
    assert ModelVersion.production("at_risk").version == 1
    jobs_page = admin.get("/admin/jobs.json").get_json()["runs"][0]
    assert jobs_page["status"] == "succeeded" and jobs_page["duration_s"] > 0

    faculty = signed_in("faculty")
    assert faculty.get("/api/v1/at-risk?limit=1").get_json()["model_version"] == 1

    second = run_worker_until_done(queue_retrain(admin))
    assert second.status == "succeeded" and second.result["version"] == 2
    # Same data, deterministic training: equal figures, and a tie keeps production.
    assert second.result["promoted"] is False and "a tie keeps production" in second.result["reason"]
    assert faculty.get("/api/v1/at-risk?limit=1").get_json()["model_version"] == 1

    v2 = db.session.scalar(select(ModelVersion).where(ModelVersion.task == "at_risk", ModelVersion.version == 2))
    admin.post(f"/admin/models/{v2.id}/promote", data={"csrf_token": csrf_token(admin, "/admin/models")})
    assert run_worker_until_done(JobRun.recent(1)[0]).status == "succeeded"
    assert faculty.get("/api/v1/at-risk?limit=1").get_json()["model_version"] == 2  # no restart needed
    admin.post("/admin/models/at_risk/rollback", data={"csrf_token": csrf_token(admin, "/admin/models")})
    assert run_worker_until_done(JobRun.recent(1)[0]).status == "succeeded"
    assert ModelVersion.production("at_risk").version == 1
    assert faculty.get("/api/v1/at-risk?limit=1").get_json()["model_version"] == 1


def test_retrain_without_data_fails_with_the_reason(signed_in):
    admin = signed_in("admin")
    run = run_worker_until_done(queue_retrain(admin))
    assert run.status == "failed"
    assert "InsufficientDataError" in run.error
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "InsufficientDataError" in page
    failed = ModelVersion.for_task("at_risk")[0]
    assert failed.status == "failed" and failed.note.startswith("InsufficientDataError")
    assert "InsufficientDataError" in admin.get("/admin/models").get_data(as_text=True)


def test_cli_retrain_wait_reports_the_outcome(app):
    seed(300)
    worker = start_worker("--queue", "training")
    try:
        result = app.test_cli_runner().invoke(args=["retrain", "at_risk", "--wait", "--timeout", "300"])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert result.exit_code == 0, result.output
    assert '"status": "succeeded"' in result.output
    wait_until(lambda: ModelVersion.production("at_risk") is not None, 5)
