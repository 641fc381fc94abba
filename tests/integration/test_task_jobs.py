"""One job per task at a time: retrain, publish, promote and roll back hold the task's lock; what the web serves is
published by queued jobs (promotion, rollback, a rules change, an import of current records)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core import db
from core.models import JobRun, ModelVersion, RiskPrediction
from jobs import queue, tasks
from ml import lifecycle
from ml.data.academic import generate_academic
from ml.data.academic_sql import load_records, save_generated
from tests.conftest import csrf_token
from tests.integration.jobs_for_tests import run_queued_jobs


def predictions_of(version_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RiskPrediction).where(RiskPrediction.model_version_id == version_id)
    )


def test_two_concurrent_retrains_one_queued_one_refused(app):
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def ask() -> None:
        barrier.wait()
        try:
            outcomes.append(tasks.enqueue_retrain("at_risk", "test").id)
        except queue.JobAlreadyRunningError as exc:
            outcomes.append(exc)
        finally:
            db.session.remove()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queued = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, queue.JobAlreadyRunningError)]
    assert len(queued) == 1 and len(refused) == 1
    assert f"already queued (job {queued[0]})" in str(refused[0])
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
    assert len(queue.Queue("training", connection=queue.connection())) == 1  # one RQ job, under a known id
    assert queue.Queue("training", connection=queue.connection()).job_ids == [queue.rq_job_id(queued[0])]


def test_the_api_answers_409_while_a_retrain_is_open(signed_in):
    admin = signed_in("admin")
    headers = {"X-CSRFToken": csrf_token(admin, "/admin/jobs")}
    first = admin.post("/api/v1/tasks/at_risk/retrain", headers=headers)
    second = admin.post("/api/v1/tasks/at_risk/retrain", headers=headers)
    assert first.status_code == 202
    assert second.status_code == 409 and f"(job {first.get_json()['id']})" in second.get_json()["error"]


def test_double_clicking_retrain_queues_one_job(signed_in):
    admin = signed_in("admin")
    form = {"task": "at_risk", "csrf_token": csrf_token(admin, "/admin/jobs")}
    admin.post("/admin/jobs/retrain", data=form)
    page = admin.post("/admin/jobs/retrain", data=form, follow_redirects=True).get_data(as_text=True)
    assert "already queued" in page
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_a_closed_run_releases_the_lock(app):
    run = tasks.enqueue_retrain("at_risk", "test")
    run.status = "failed"
    db.session.commit()
    assert tasks.enqueue_retrain("at_risk", "test").id != run.id


def test_a_publish_asked_for_while_a_retrain_runs_follows_it(app):
    retrain = tasks.enqueue_retrain("at_risk", "test")
    retrain.status = "running"
    db.session.commit()
    holder = tasks.request_publish("at_risk", "test", "rules changed")
    assert holder.id == retrain.id
    db.session.refresh(retrain)
    assert retrain.follow_up == "publish"


def test_a_publish_asked_for_while_one_is_queued_is_that_one(app):
    first = tasks.request_publish("at_risk", "test", "rules changed")
    assert tasks.request_publish("at_risk", "test", "rules changed again").id == first.id


@pytest.mark.slow
def test_rollback_republishes_and_archived_rows_are_pruned(app):
    save_generated(generate_academic(n_students=300, n_courses=10, n_terms=4, seed=2))
    first = lifecycle.retrain("at_risk", requested_by="test").version
    assert first.status == "production" and predictions_of(first.id) > 0
    second = lifecycle.retrain("at_risk", requested_by="test").version
    assert second.status == "candidate" and "tie" in second.note  # same data: a tie keeps production
    first_id, second_id = first.id, second.id

    tasks.enqueue_promote(second, "test")
    run_queued_jobs()
    assert ModelVersion.production("at_risk").id == second_id
    assert predictions_of(second_id) > 0 and predictions_of(first_id) == 0  # archived rows pruned

    tasks.enqueue_rollback("at_risk", "test")
    run_queued_jobs()
    assert ModelVersion.production("at_risk").id == first_id
    assert predictions_of(first_id) > 0 and predictions_of(second_id) == 0  # republished, then pruned
    assert JobRun.recent(1)[0].status == "succeeded"


@pytest.mark.slow
def test_importing_current_records_republishes_the_list(app):
    from ml.data.academic_import import academic_mapping, apply_mapping, read_table
    from ml.data.academic_sql import store_import

    save_generated(generate_academic(n_students=300, n_courses=10, n_terms=4, seed=2))
    version_id = lifecycle.retrain("at_risk", requested_by="test").version.id
    current = load_records()
    term = current.loc[current["is_current"], "term_code"].iloc[0]
    course = current.loc[current["is_current"], "course_code"].iloc[0]
    text = f"student;course;term;attendance\nNEW-1;{course};{term};40\n"
    mapping = academic_mapping({"student": "student_id", "course": "course_code", "term": "term_code",
                                "attendance": "attendance_w8"})  # fmt: skip
    result = apply_mapping(read_table(text.encode(), "new.csv"), mapping)
    store_import(result.records, filename="new.csv", mapping=mapping.to_dict(), uploaded_by="t", n_rows=1)
    enrollment_id = int(load_records().query("student_id == 'NEW-1'")["enrollment_id"].iloc[0])
    assert not db.session.scalar(select(RiskPrediction.id).where(RiskPrediction.enrollment_id == enrollment_id))

    tasks.request_publish("at_risk", "test", "current records imported")
    run_queued_jobs()
    stored = db.session.scalars(
        select(RiskPrediction.checkpoint).where(
            RiskPrediction.enrollment_id == enrollment_id, RiskPrediction.model_version_id == version_id
        )
    ).all()
    assert set(stored) == {"week_4", "week_8", "midterm"}
