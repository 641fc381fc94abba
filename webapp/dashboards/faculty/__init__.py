"""Faculty view (/faculty/): students at risk of failing, early; why; what to do; what was done."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, dcc, html
from flask import Flask

from core.models import Publication
from ml.at_risk import store
from ml.at_risk.labels import label_and_unit
from webapp.dashboards.components import empty_state, make_dash, model_badge, register_job_progress
from webapp.dashboards.faculty import at_risk_list, batch, data, model_quality, records_import, what_if

CHECKPOINT_LABELS = {"midterm": "After the midterm"}
TASK = "at_risk"


def mount(server: Flask) -> Dash:
    app = make_dash(server, "/faculty/", "Faculty", layout)
    for part in (at_risk_list, what_if, model_quality, batch, records_import):
        part.register(app)
    register_job_progress(app, "import-job")
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
    terms = store.terms_with_predictions(version.id) or [term.code]
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Students at risk", className="h3 mb-0"),
                    model_badge(version),
                    html.Small(_scored_line(version), className="text-muted ms-3", id="scored-at"),
                ],
                className="d-flex align-items-center mb-2",
            ),
            _notes(version),
            dbc.Row(
                [
                    dbc.Col(
                        _labelled("Term", dcc.Dropdown(id="term", options=terms, value=terms[0], clearable=False)),
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
                                options=[{"label": checkpoint_label(c, w), "value": c} for c, w in checkpoints.items()],
                                value=store.default_checkpoint(checkpoints, term),
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


def checkpoint_label(name: str, week: int) -> str:
    return CHECKPOINT_LABELS.get(name, f"Week {week}")


def _scored_line(version) -> str:
    published = Publication.latest(TASK)
    if published is None or published.model_version_id != version.id:
        return "The list has not been scored by this version yet."
    return f"List scored {published.published_at:%Y-%m-%d %H:%M} UTC ({published.rows:,} scores)."


def _notes(version) -> dbc.Alert | None:
    """What the list leaves out, said where it is shown: withdrawn students, fields this term lacks."""
    notes = store.current_term_notes(version)
    lines = []
    withdrawn = {c: n for c, n in notes["withdrawn"].items() if n}
    if withdrawn:
        latest = max(withdrawn.values())
        lines.append(
            f"{latest:,} students of this term have withdrawn and are left out of the list from the checkpoint "
            "after their withdrawal week."
        )
    missing = sorted({label_and_unit(f)[0] for fields in notes["missing"].values() for f in fields})
    if missing:
        lines.append(
            f"This term has no values for {', '.join(missing)}, which the model uses: it scores them as typical. "
            "Import them, or retrain so the model leaves them out."
        )
    return dbc.Alert([html.Div(line) for line in lines], color="info", id="term-notes") if lines else None


def _labelled(label: str, control) -> html.Div:
    return html.Div([dbc.Label(label, className="fw-semibold small mb-1"), control])
