"""Faculty view (/faculty/): students at risk of failing, early; why; what to do; what was done."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, dcc, html
from flask import Flask

from webapp.dashboards.components import empty_state, make_dash, model_badge
from webapp.dashboards.faculty import at_risk_list, batch, data, model_quality, records_import, what_if

CHECKPOINT_LABELS = {"week_4": "Week 4", "week_8": "Week 8", "midterm": "After the midterm"}


def mount(server: Flask) -> Dash:
    app = make_dash(server, "/faculty/", "Faculty", layout)
    for part in (at_risk_list, what_if, model_quality, batch, records_import):
        part.register(app)
    return app


def layout() -> html.Div:
    version, term = data.production_version(), data.current_term()
    if version is None or term is None:
        return html.Div(
            [
                html.H1("Students at risk", className="h3"),
                empty_state(
                    "No at-risk model in production yet",
                    "Import academic records below (or run flask --app wsgi demo seed), then retrain at_risk "
                    "from the admin page.",
                ),
                records_import.layout(),
            ]
        )
    checkpoints = version.params.get("checkpoints", {})
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Students at risk", className="h3 mb-0"),
                    model_badge(version),
                ],
                className="d-flex align-items-center mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        _labelled(
                            "Term", dcc.Dropdown(id="term", options=[term.code], value=term.code, clearable=False)
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        _labelled(
                            "Course",
                            dcc.Dropdown(
                                id="course",
                                options=[{"label": "All courses", "value": ""}]
                                + [
                                    {"label": f"{code} · {name}", "value": code}
                                    for code, name in data.courses(term.code)
                                ],
                                value="",
                                clearable=False,
                            ),
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        _labelled(
                            "Checkpoint",
                            dbc.RadioItems(
                                id="checkpoint",
                                options=[{"label": CHECKPOINT_LABELS.get(c, c), "value": c} for c in checkpoints],
                                value=list(checkpoints)[-1],
                                inline=True,
                            ),
                        ),
                        md=6,
                    ),
                ],
                className="mb-3 g-3",
            ),
            dcc.Store(id="selected-enrollment"),
            dcc.Store(id="intervention-saved"),
            dbc.Tabs(
                [
                    dbc.Tab(at_risk_list.layout(), label="At-risk students", tab_id="list"),
                    dbc.Tab(what_if.layout(), label="What-if", tab_id="what-if"),
                    dbc.Tab(at_risk_list.interventions_layout(), label="Interventions", tab_id="interventions"),
                    dbc.Tab(model_quality.layout(version), label="Model quality", tab_id="model"),
                    dbc.Tab(batch.layout(), label="Batch scoring", tab_id="batch"),
                    dbc.Tab(records_import.layout(), label="Import records", tab_id="import"),
                ],
                active_tab="list",
                id="faculty-tabs",
            ),
        ]
    )


def _labelled(label: str, control) -> html.Div:
    return html.Div([dbc.Label(label, className="fw-semibold small mb-1"), control])
