"""Publishing enrollment forecasts: every school x stage forecast, the areas beside the census history, and a
census refresh that asks for them again."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sqlalchemy import func, select

from core import db
from core.models import EnrollmentAreaForecast, EnrollmentForecast, JobRun, ModelVersion, Publication
from jobs import census
from ml import lifecycle
from ml.census import panel
from ml.census.columns import STAGES
from ml.census.demo import SEEDER
from ml.data.census_generator import SCALES, write_census_zips
from ml.enrollment import store
from ml.enrollment.features import examples
from ml.enrollment.model import CensusData
from ml.enrollment.task import TASK
from tests.conftest import empty_tables
from tests.integration.jobs_for_tests import run_queued_jobs

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def published(app, data_dir):
    shutil.rmtree(data_dir / "census", ignore_errors=True)
    SEEDER.seed("demo", 0)
    outcome = lifecycle.retrain("enrollment", requested_by="test")
    yield outcome.version.id  # an id: the jobs below end the session the version was loaded in
    empty_tables()
    shutil.rmtree(data_dir / "census", ignore_errors=True)


def stored(version_id: int, stage: str) -> int:
    f = EnrollmentForecast
    return db.session.scalar(select(func.count()).where(f.model_version_id == version_id, f.stage == stage))


def test_every_school_with_students_last_year_gets_a_forecast_per_stage(published):
    data = CensusData(panel.panel_files())
    for stage in (s.code for s in STAGES):
        grid = data.grid(stage)
        assert stored(published, stage) == len(examples(grid, grid.n_years)), stage
    schools = db.session.scalar(
        select(func.count(func.distinct(EnrollmentForecast.co_entidade))).where(
            EnrollmentForecast.model_version_id == published
        )
    )
    assert stored(published, store.TOTAL) == schools
    rows = store.school_forecasts(published, int(store.movers(published, "FUND_AI")["co_entidade"][0]))
    assert (rows["lower"] <= rows["forecast"]).all() and (rows["forecast"] <= rows["upper"]).all()
    assert rows.set_index("stage").loc["FUND_AI", "explanation"].count("->") == 1


def test_the_national_history_is_the_census_and_next_year_is_forecast_with_an_interval(published):
    series = store.area_series(published, "country", 0, "FUND_AF")
    counted = panel.query("SELECT NU_ANO_CENSO AS year, sum(QT_MAT_FUND_AF) AS n FROM panel GROUP BY 1 ORDER BY 1")
    history = series[series["enrollment"].notna()]
    assert history["year"].tolist() == counted["year"].tolist()
    np.testing.assert_array_equal(history["enrollment"].to_numpy(), counted["n"].to_numpy())
    ahead = series[series["forecast"].notna()].iloc[0]
    assert ahead["year"] == counted["year"].max() + 1 and ahead["lower"] < ahead["forecast"] < ahead["upper"]
    total = store.area_series(published, "country", 0, store.TOTAL)
    stages = sum(store.area_series(published, "country", 0, s.code)["forecast"].iloc[-1] for s in STAGES)
    assert total["forecast"].iloc[-1] == pytest.approx(stages)


def test_uf_and_municipality_forecasts_add_up_to_the_country(published):
    a = EnrollmentAreaForecast
    year = store.forecast_year(published)
    sums = dict(
        db.session.execute(
            select(a.level, func.sum(a.forecast))
            .where(a.model_version_id == published, a.stage == "MED", a.year == year)
            .group_by(a.level)
        ).all()
    )
    assert sums["uf"] == pytest.approx(sums["country"]) and sums["municipality"] == pytest.approx(sums["country"])


def test_prune_keeps_the_versions_asked_for(published):
    assert TASK.prune({published}) == 0
    assert stored(published, "MED") > 0


def test_a_census_refresh_job_republishes_the_forecasts(published, tmp_path):
    last = SCALES["demo"]["years"][-1]
    write_census_zips(tmp_path, SCALES["demo"]["years"], SCALES["demo"]["n_schools"], seed=0)
    before = db.session.scalar(select(func.count()).select_from(Publication))
    run = census.enqueue_census_refresh([last], str(tmp_path / "microdados_censo_escolar_{year}.zip"), "test")
    run_queued_jobs()  # the refresh, then the publish it asked for
    db.session.expire_all()
    refreshed = db.session.get(JobRun, run.id)
    assert refreshed.status == "succeeded", refreshed.error
    assert refreshed.result["forecasts"].startswith("enrollment forecasts rewritten by job")
    publish = db.session.scalar(select(JobRun).where(JobRun.kind == "publish enrollment"))
    assert publish.status == "succeeded", publish.error
    assert db.session.scalar(select(func.count()).select_from(Publication)) == before + 1
    assert ModelVersion.production("enrollment").id == published and stored(published, "MED") > 0
