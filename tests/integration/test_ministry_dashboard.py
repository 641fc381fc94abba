"""The ministry view's callbacks, called over HTTP as the browser calls them, on the demo census with the
enrollment model trained and published."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from core import db
from core.models import EnrollmentForecast, JobRun, ModelVersion, School
from ml import lifecycle
from ml.census.demo import SEEDER
from ml.census.geography import UF_BY_CODE
from ml.enrollment import store
from tests.conftest import empty_queues, empty_tables, signed_in_clients
from tests.integration.dash_client import call, dash_app_at

pytestmark = pytest.mark.shared_data
PREFIX = "/ministry/"


@pytest.fixture(scope="module")
def census(app, data_dir):
    shutil.rmtree(data_dir / "census", ignore_errors=True)
    SEEDER.seed("demo", 0)
    outcome = lifecycle.retrain("enrollment", requested_by="test")
    yield outcome.version
    empty_tables()
    shutil.rmtree(data_dir / "census", ignore_errors=True)


@pytest.fixture(scope="module")
def clients(app, census):
    return signed_in_clients(app, ("ministry", "admin", "faculty"), "census")


@pytest.fixture(scope="module")
def ministry(clients):
    return clients["ministry"]


def callback(app, client, output: str, values: dict, changed: list[str] | None = None) -> tuple[int, dict]:
    return call(client, dash_app_at(app, PREFIX), PREFIX, output, values, changed)


def text_of(component) -> str:
    return json.dumps(component, ensure_ascii=False)


def a_municipality(version_id: int) -> tuple[int, int]:
    """(UF, municipality) of the municipality with the most forecast schools."""
    f = EnrollmentForecast
    co_municipio = db.session.scalar(
        select(f.co_municipio)
        .where(f.model_version_id == version_id, f.stage == store.TOTAL)
        .group_by(f.co_municipio)
        .order_by(func.count().desc())
        .limit(1)
    )
    return co_municipio // 100_000, co_municipio


def test_the_page_opens_with_forecasts_quality_and_census_tabs(ministry, census):
    layout = text_of(ministry.get(f"{PREFIX}_dash-layout").get_json())
    for tab in ("forecasts", "model", "census"):
        assert f'"tab_id": "{tab}"' in layout
    assert "model-badge" in layout and f"Forecasts for {census.data_summary['last_year'] + 1}" in layout
    assert "cohort survival" in layout.lower()


def test_the_national_view_shows_history_and_next_year_with_its_interval(app, ministry, census):
    status, body = callback(
        app,
        ministry,
        "ministry-history.figure",
        {"ministry-uf.value": "", "ministry-municipality.value": None, "ministry-stage.value": "BAS"},
    )
    assert status == 200, body
    response = body["response"]
    traces = {t["name"]: t for t in response["ministry-history"]["figure"]["data"]}
    years = census.data_summary["years"]
    assert traces["census"]["x"] == years
    forecast = traces["forecast"]
    assert forecast["x"][-1] == years[-1] + 1 and forecast["error_y"]["array"][-1] > 0
    assert "cohort survival" in traces
    kpis = text_of(response["ministry-kpis"])
    assert f"Forecast {years[-1] + 1}" in kpis and "80 % interval" in kpis and "per teacher" in kpis
    assert "Fundamental, anos iniciais" in text_of(response["ministry-stages"])


def test_the_drill_down_goes_from_a_uf_to_a_municipality_to_a_school(app, ministry, census):
    co_uf, co_municipio = a_municipality(census.id)
    status, body = callback(app, ministry, "ministry-municipality.options", {"ministry-uf.value": co_uf})
    assert status == 200 and co_municipio in [o["value"] for o in body["response"]["ministry-municipality"]["options"]]
    status, body = callback(
        app,
        ministry,
        "ministry-school.options",
        {"ministry-uf.value": co_uf, "ministry-municipality.value": co_municipio},
    )
    schools = [o["value"] for o in body["response"]["ministry-school"]["options"]]
    assert status == 200 and schools
    assert {s.co_municipio for s in db.session.scalars(select(School).where(School.co_entidade.in_(schools)))} == {
        co_municipio
    }
    status, body = callback(
        app,
        ministry,
        "ministry-history.figure",
        {"ministry-uf.value": co_uf, "ministry-municipality.value": co_municipio, "ministry-stage.value": "FUND_AI"},
    )
    assert status == 200
    assert "Fundamental" in body["response"]["ministry-history"]["figure"]["layout"]["title"]["text"]
    status, body = callback(
        app,
        ministry,
        "ministry-school-panel.children",
        {"ministry-uf.value": co_uf, "ministry-municipality.value": co_municipio, "ministry-school.value": schools[0]},
    )
    panel = text_of(body["response"]["ministry-school-panel"]["children"])
    assert status == 200 and str(schools[0]) in panel and "-> forecast" in panel  # the SHAP reasons in words


def test_growth_and_decline_lists_are_the_largest_changes_of_the_selection(app, ministry, census):
    co_uf, _ = a_municipality(census.id)
    values = {"ministry-uf.value": co_uf, "ministry-municipality.value": None, "ministry-stage.value": "FUND_AI"}
    status, body = callback(app, ministry, "ministry-growth.children", values)
    assert status == 200
    response = body["response"]
    changes = db.session.scalars(
        select(EnrollmentForecast.change)
        .where(
            EnrollmentForecast.model_version_id == census.id,
            EnrollmentForecast.stage == "FUND_AI",
            EnrollmentForecast.co_uf == co_uf,
        )
        .order_by(EnrollmentForecast.change.desc())
    ).all()
    growth = text_of(response["ministry-growth"])
    assert f"{changes[0]:+,.0f}" in growth and UF_BY_CODE[co_uf].sigla in growth
    assert f"{changes[-1]:+,.0f}" in text_of(response["ministry-decline"])
    assert "Per class next year" in text_of(response["ministry-capacity"])


def test_unexpected_values_are_a_clear_400(app, ministry, census):
    co_uf, co_municipio = a_municipality(census.id)
    other = next(code for code in UF_BY_CODE if code != co_uf)
    cases = [
        ({"ministry-uf.value": 99, "ministry-municipality.value": None, "ministry-stage.value": "BAS"}, "unknown UF"),
        ({"ministry-uf.value": "x", "ministry-municipality.value": None, "ministry-stage.value": "BAS"}, "UF must"),
        ({"ministry-uf.value": other, "ministry-municipality.value": co_municipio, "ministry-stage.value": "BAS"},
         "is not one of"),
        ({"ministry-uf.value": co_uf, "ministry-municipality.value": None, "ministry-stage.value": "GRAD"}, "stage"),
    ]  # fmt: skip
    for values, message in cases:
        status, body = callback(app, ministry, "ministry-history.figure", values)
        assert status == 400 and message in body["error"], (values, body)
    status, body = callback(
        app,
        ministry,
        "ministry-school-panel.children",
        {"ministry-uf.value": co_uf, "ministry-municipality.value": co_municipio, "ministry-school.value": 1},
    )
    assert status == 400 and "not in municipality" in body["error"]


def test_model_quality_shows_the_model_beside_both_baselines_and_the_gate(app, ministry, census):
    status, body = callback(app, ministry, "quality-detail.children", {"quality-stage.value": "pooled"})
    shown = text_of(body["response"]["quality-detail"]["children"])
    assert status == 200 and "Cohort survival" in shown and "Same as last year" in shown
    assert "Walk-forward WAPE" in shown
    status, body = callback(app, ministry, "quality-detail.children", {"quality-stage.value": "FUND_AF"})
    shown = text_of(body["response"]["quality-detail"]["children"])
    assert status == 200 and "SHAP" in shown and "Interval coverage" in shown
    status, body = callback(app, ministry, "quality-detail.children", {"quality-stage.value": "nope"})
    assert status == 400
    layout = text_of(ministry.get(f"{PREFIX}_dash-layout").get_json())
    beats = ModelVersion.production("enrollment").metrics["beats_baseline"]
    assert ("NOT clearly better" in layout) is (not beats)  # said plainly when it is not better


def test_the_selection_downloads_as_csv(app, ministry, census):
    values = {
        "ministry-csv-button.n_clicks": 1,
        "ministry-uf.value": "",
        "ministry-municipality.value": None,
        "ministry-stage.value": "MED",
    }
    status, body = callback(app, ministry, "ministry-csv.data", values, changed=["ministry-csv-button.n_clicks"])
    assert status == 200
    download = body["response"]["ministry-csv"]["data"]
    lines = download["content"].splitlines()
    assert lines[0].startswith("co_entidade,") and len(lines) - 1 == db.session.scalar(
        select(func.count()).where(EnrollmentForecast.model_version_id == census.id, EnrollmentForecast.stage == "MED")
    )


def test_the_admin_refresh_button_queues_a_census_refresh(app, clients, census):
    try:
        values = {"census-refresh.n_clicks": 1, "census-years.value": "2024", "census-source.value": "/nowhere/{year}"}
        status, body = callback(app, clients["admin"], "census-job-run.data", values)
        assert status == 200, body
        run = db.session.get(JobRun, body["response"]["census-job-run"]["data"])
        assert (run.kind, run.queue, run.params["years"]) == ("census refresh 2024", "census", [2024])
        status, body = callback(app, clients["ministry"], "census-job-run.data", values)
        assert status == 400 and "admin" in body["error"]
        status, body = callback(app, clients["admin"], "census-job-run.data", {**values, "census-years.value": "20x"})
        assert status == 200 and "Not queued" in text_of(body["response"]["census-refresh-message"])
    finally:
        empty_queues()
        db.session.execute(JobRun.__table__.delete())
        db.session.commit()


def test_other_roles_cannot_open_ministry_callbacks(app, clients):
    status, _ = callback(app, clients["faculty"], "quality-detail.children", {"quality-stage.value": "pooled"})
    assert status == 403
