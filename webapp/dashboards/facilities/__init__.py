"""Facilities view (/facilities/): how rooms are used, which sessions will overcrowd, will a class fit, room
reassignment, model quality and campus imports."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, html
from flask import Flask

from webapp.dashboards.components import empty_state, make_dash, model_badge
from webapp.dashboards.facilities import (
    campus_import,
    data,
    fit_form,
    model_quality,
    reassignment,
    risk_list,
    utilisation_view,
)


def mount(server: Flask) -> Dash:
    app = make_dash(server, "/facilities/", "Facilities", layout)
    for part in (utilisation_view, risk_list, fit_form, reassignment, model_quality, campus_import):
        part.register(app)
    return app


def layout() -> html.Div:
    horizon = data.horizon()
    if horizon is None:
        return html.Div(
            [
                html.H1("Facilities", className="h3"),
                empty_state(
                    "No campus data yet",
                    "Import venues, then the timetable, then attendance observations below (or run flask --app wsgi "
                    "demo seed); forecasts appear once the occupancy and overcrowding models are trained.",
                ),
                campus_import.layout(),
            ]
        )
    occupancy, overcrowding = data.occupancy_version(), data.overcrowding_version()
    badges = [model_badge(v, id_=f"{v.task}-badge") for v in (occupancy, overcrowding) if v is not None]
    weeks = f"weeks {horizon.weeks[0]}-{horizon.weeks[-1]}" if horizon.weeks else "no week left in the term"
    return html.Div(
        [
            html.Div([html.H1("Facilities", className="h3 mb-0"), *badges], className="d-flex align-items-center"),
            html.P(
                f"Term {horizon.term_code}: observed to week {horizon.as_of}; forecasts for {weeks}.",
                className="text-muted small mb-3",
                id="facilities-horizon",
            ),
            _no_model_note(occupancy, overcrowding),
            dbc.Tabs(
                [
                    dbc.Tab(utilisation_view.layout(horizon), label="Utilisation", tab_id="utilisation"),
                    dbc.Tab(risk_list.layout(horizon), label="Overcrowding risk", tab_id="risk"),
                    dbc.Tab(fit_form.layout(horizon), label="Will it fit?", tab_id="fit"),
                    dbc.Tab(reassignment.layout(horizon), label="Reassignment", tab_id="reassign"),
                    dbc.Tab(model_quality.layout(occupancy, overcrowding), label="Model quality", tab_id="model"),
                    dbc.Tab(campus_import.layout(), label="Import", tab_id="import"),
                ],
                active_tab="utilisation",
                id="facilities-tabs",
            ),
        ]
    )


def _no_model_note(occupancy, overcrowding):
    missing = [name for name, v in (("occupancy", occupancy), ("overcrowding", overcrowding)) if v is None]
    if not missing:
        return None
    return dbc.Alert(
        f"No {' or '.join(missing)} model is in production yet: utilisation below is measured, but forecasts and "
        "risks need a model. Retrain from the admin page (or run flask --app wsgi demo seed).",
        color="secondary",
        id="facilities-no-model",
    )
