"""The view cache: computed once, shared through the table, keyed so that a stale value is never served."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import db, view_cache
from core.models import Course, Enrollment, RiskPrediction, Student, ViewCache
from ml import registry
from ml.at_risk import store
from ml.data.academic import generate_academic
from ml.data.academic_sql import save_generated


@pytest.fixture
def fresh_memory(app, monkeypatch):
    monkeypatch.setattr(view_cache, "_memory", {})


def test_value_is_computed_once_and_stored(fresh_memory):
    calls = []

    def compute():
        calls.append(1)
        return {"students": 3, "bands": ["high", "low"]}

    assert view_cache.cached("k", compute) == {"students": 3, "bands": ["high", "low"]}
    assert view_cache.cached("k", compute) == {"students": 3, "bands": ["high", "low"]}
    assert len(calls) == 1
    assert db.session.get(ViewCache, "k").value["students"] == 3


def test_another_process_reads_the_stored_value(fresh_memory, monkeypatch):
    view_cache.cached("k", lambda: [1, 2, 3])
    monkeypatch.setattr(view_cache, "_memory", {})  # as in a second web process
    assert view_cache.cached("k", lambda: pytest.fail("recomputed a stored value")) == [1, 2, 3]


def test_callers_cannot_change_the_cached_value(fresh_memory):
    view_cache.cached("k", lambda: {"bands": ["high"]})["bands"].append("mutated")
    assert view_cache.cached("k", list) == {"bands": ["high"]}


def test_a_key_stored_meanwhile_by_another_process_is_not_an_error(fresh_memory):
    def store_first_then_compute():
        with Session(db.engine()) as other:  # a second process commits the same key first
            other.add(ViewCache(key="k", value=1))
            other.commit()
        return 1

    assert view_cache.cached("k", store_first_then_compute) == 1
    assert db.session.get(ViewCache, "k").value == 1


def predict_every_current_enrollment(version) -> None:
    term = store.current_term()
    for enrollment_id in db.session.scalars(select(Enrollment.id).where(Enrollment.term_id == term.id)):
        db.session.add(
            RiskPrediction(
                enrollment_id=enrollment_id, model_version_id=version.id, checkpoint="midterm", probability=0.5,
                at_risk=True, risk_band="high", segment="Struggling", recommendation="", reasons="",
            )
        )  # fmt: skip
    db.session.commit()


def test_summary_is_recounted_when_the_same_model_is_republished_on_new_data(fresh_memory):
    """A rollback republishes an old artifact: its cached counts must not outlive the data they counted."""
    save_generated(generate_academic(n_students=60, n_courses=4, n_terms=2, seed=5))
    version = registry.register(
        "at_risk",
        {"model": "any"},
        artifact_format=registry.JoblibFormat(),
        metrics={},
        params={},
        data_summary={},
        created_by="t",
    )
    term = store.current_term()
    predict_every_current_enrollment(version)
    before = store.summary(version.id, term.code, "midterm")["students"]
    assert before > 0

    newcomer = Student(external_id="S-NEW")
    db.session.add(newcomer)
    db.session.flush()
    db.session.add(Enrollment(student_id=newcomer.id, course_id=db.session.scalar(select(Course.id)), term_id=term.id))
    db.session.execute(delete(RiskPrediction))
    predict_every_current_enrollment(version)

    assert store.summary(version.id, term.code, "midterm")["students"] == before + 1
