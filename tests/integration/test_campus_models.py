"""Both facilities tasks through the lifecycle: promotion publishes the term's forecasts, each task prunes only what
it owns, an import of the current week moves the forecasts on, and the gate compares like with like."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from core import db
from core.models import JobRun, ModelVersion, OccupancyPrediction
from jobs import tasks
from ml import lifecycle, registry
from ml.data import campus_sql
from ml.data.campus import SLOT_STARTS, WEEKDAYS, generate_scale
from ml.data.campus_import import campus_mapping, import_campus, read_table
from ml.occupancy.store import forecast_horizon
from ml.task import task_spec
from tests.conftest import empty_tables
from tests.integration.jobs_for_tests import run_queued_jobs

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def trained(app):
    campus_sql.save_campus(generate_scale("demo", seed=0))
    yield {task: lifecycle.retrain(task, requested_by="test") for task in ("occupancy", "overcrowding")}
    empty_tables()


def stored(version_id: int | None = None):
    query = select(
        OccupancyPrediction.model_version_id,
        OccupancyPrediction.week,
        OccupancyPrediction.overcrowding_version_id,
        OccupancyPrediction.overcrowding_probability,
    )
    if version_id is not None:
        query = query.where(OccupancyPrediction.model_version_id == version_id)
    return db.session.execute(query).all()


def test_first_versions_are_promoted_and_publish_the_rest_of_the_term(trained):
    occupancy, overcrowding = (trained[t].version for t in ("occupancy", "overcrowding"))
    assert occupancy.status == overcrowding.status == "production"
    rows = stored()
    horizon = forecast_horizon()
    assert horizon.weeks == tuple(range(10, 17))
    assert {r.week for r in rows} == set(horizon.weeks) and {r.model_version_id for r in rows} == {occupancy.id}
    assert {r.overcrowding_version_id for r in rows} == {overcrowding.id}
    assert all(0.0 <= r.overcrowding_probability <= 1.0 for r in rows)


def test_retraining_on_the_same_data_keeps_production(trained):
    again = lifecycle.retrain("occupancy", requested_by="test")
    assert not again.promoted and again.version.status == "candidate"
    assert ModelVersion.production("occupancy").id == trained["occupancy"].version.id


def test_the_gate_compares_own_held_out_figures_while_production_saw_the_test_weeks(trained):
    spec = task_spec("occupancy")
    production = trained["occupancy"].version
    later = {"test_from": {"term_code": "2025-2", "week": 10}}
    assert spec.saw_evaluation_data(production, production)
    assert not spec.saw_evaluation_data(production, type("V", (), {"data_summary": later})())
    other_limit = type("V", (), {"data_summary": {**production.data_summary, "share": 0.8}})()
    assert task_spec("overcrowding").saw_evaluation_data(trained["overcrowding"].version, other_limit)


def test_republishing_overcrowding_rewrites_only_its_columns(trained):
    occupancy = trained["occupancy"].version
    before = {(r.week, r.model_version_id) for r in stored()}
    forecast = db.session.scalars(select(OccupancyPrediction.attendance).order_by(OccupancyPrediction.id)).all()
    rows = lifecycle.republish("overcrowding")
    assert rows == len(stored(occupancy.id))
    assert {(r.week, r.model_version_id) for r in stored()} == before
    db.session.expire_all()
    assert db.session.scalars(select(OccupancyPrediction.attendance).order_by(OccupancyPrediction.id)).all() == forecast


def test_each_task_prunes_only_what_it_owns(trained):
    occupancy, overcrowding = (trained[t].version for t in ("occupancy", "overcrowding"))
    assert task_spec("overcrowding").prune({overcrowding.id}) == 0
    cleared = task_spec("overcrowding").prune({-1})
    db.session.commit()
    assert cleared == len(stored()) and all(r.overcrowding_probability is None for r in stored())
    assert task_spec("occupancy").prune({occupancy.id}) == 0
    lifecycle.republish("overcrowding")
    assert all(r.overcrowding_version_id == overcrowding.id for r in stored())


def test_importing_the_current_week_moves_the_forecasts_on_through_a_queued_publish(trained):
    horizon = forecast_horizon()
    production_id = trained["occupancy"].version.id
    timetable = campus_sql.load_timetable(horizon.term_code)
    lines = ["section;day;start;week;count"] + [
        f"{r.section_code};{WEEKDAYS[r.weekday]};{SLOT_STARTS[r.slot]};{horizon.coming};{int(r.registered * 0.7)}"
        for r in timetable.itertuples()
    ]
    frame = read_table("\n".join(lines).encode(), "week10.csv")
    mapping = campus_mapping(
        "observations",
        {"section": "section_code", "day": "weekday", "start": "slot", "week": "week", "count": "head_count"},
        default_term=horizon.term_code,
    )
    report = import_campus("observations", frame, mapping, filename="week10.csv", uploaded_by="test")
    assert report.n_valid == len(timetable) and report.terms == [horizon.term_code]
    run = tasks.request_publish("occupancy", "test", "observations imported")
    run_queued_jobs()
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "succeeded"
    moved_on = forecast_horizon()
    assert moved_on.coming == horizon.coming + 1
    weeks = sorted({r.week for r in stored()})
    assert weeks == list(moved_on.weeks)
    production = registry.load_production("occupancy")
    assert production.version.id == production_id
    count = db.session.scalar(select(func.count()).select_from(OccupancyPrediction))
    assert count == len(timetable) * len(moved_on.weeks)
    probabilities = np.array([r.overcrowding_probability for r in stored()], dtype=float)
    assert np.isfinite(probabilities).all()  # occupancy's publish filled overcrowding's columns too
