"""Ministry view (/ministry/): school enrollment forecasts from the School Census, by stage, from the country
down to one school; how good the model is beside cohort survival; the census years loaded and their refresh."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, html
from flask import Flask

from core.models import CensusYear, Publication
from ml.enrollment import store
from webapp.dashboards.components import empty_state, make_dash, model_badge, register_job_progress
from webapp.dashboards.ministry import census_status, data, forecasts_view, model_quality


def mount(server: Flask) -> Dash:
    app = make_dash(server, "/ministry/", "Ministry", layout)
    for part in (forecasts_view, model_quality, census_status):
        part.register(app)
    register_job_progress(app, census_status.JOB)
    return app


def layout() -> html.Div:
    version = data.production_version()
    year = store.forecast_year(version.id) if version else None
    title = html.H1("School enrollment", className="h3 mb-0")
    if version is None or year is None:
        loaded = CensusYear.loaded()
        text = (
            "Load School Census years (the Census data tab, or flask --app wsgi census refresh --years A-B), then "
            "retrain enrollment from the admin page (or run flask --app wsgi demo seed)."
            if not loaded
            else f"{len(loaded)} census years are loaded; retrain enrollment from the admin page to forecast from "
            "them (its forecasts appear here once published)."
        )
        return html.Div(
            [
                title,
                empty_state("No enrollment forecasts yet", text),
                dbc.Tabs([dbc.Tab(census_status.layout(), label="Census data", tab_id="census")], active_tab="census"),
            ]
        )
    return html.Div(
        [
            html.Div([title, model_badge(version)], className="d-flex align-items-center"),
            html.P(_published_line(version, year), className="text-muted small mb-2", id="ministry-published"),
            _plain_warning(version),
            dbc.Tabs(
                [
                    dbc.Tab(forecasts_view.layout(version, (year - 1, year)), label="Forecasts", tab_id="forecasts"),
                    dbc.Tab(model_quality.layout(version), label="Model quality", tab_id="model"),
                    dbc.Tab(census_status.layout(), label="Census data", tab_id="census"),
                ],
                active_tab="forecasts",
                id="ministry-tabs",
            ),
        ]
    )


def _published_line(version, year: int) -> str:
    published = Publication.latest(data.TASK)
    when = f", published {published.published_at:%Y-%m-%d %H:%M} UTC" if published else ""
    return (
        f"Forecasts for {year} from the census up to {year - 1} (80 % intervals) by enrollment "
        f"v{version.version}{when}. Schools and stages with no students in {year - 1} have no school forecast; "
        "the municipal, state and national figures add the newcomers of recent years."
    )


def _plain_warning(version) -> dbc.Alert | None:
    """Said on the first screen, not only under Model quality: where the model is no better than the baselines."""
    if version.metrics.get("beats_baseline"):
        return None
    sentence = version.metrics.get("detail", {}).get("sentence", "")
    return dbc.Alert(sentence, color="warning", id="ministry-baseline-warning", className="py-2 small")
