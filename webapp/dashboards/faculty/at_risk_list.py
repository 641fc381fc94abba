"""The at-risk list: KPIs, the sortable grid, charts, the student panel and interventions."""

from __future__ import annotations

from datetime import date

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from core.csv_export import to_csv
from core.models.academic import INTERVENTION_ACTIONS
from ml.at_risk import store
from webapp.dashboards.components import CallbackInputError, callback_int, kpi_card
from webapp.dashboards.faculty import data

SEGMENT_COLOURS = {
    "At risk": "#dc3545",
    "Disengaged": "#fd7e14",
    "Struggling but engaged": "#0d6efd",
    "High performer": "#198754",
}
GRID_COLUMNS = [
    {"field": "student_id", "headerName": "Student", "pinned": "left", "width": 120},
    {"field": "course_code", "headerName": "Course", "width": 110},
    {"field": "risk_pct", "headerName": "Fail risk %", "sort": "desc", "width": 120, "filter": "agNumberColumnFilter"},
    {"field": "risk_band", "headerName": "Band", "width": 100},
    {"field": "segment", "headerName": "Segment", "width": 170},
    {"field": "attendance_pct", "headerName": "Attendance %", "width": 130, "filter": "agNumberColumnFilter"},
    {"field": "quiz_avg", "headerName": "Quiz avg", "width": 110, "filter": "agNumberColumnFilter"},
    {"field": "midterm", "headerName": "Midterm", "width": 110, "filter": "agNumberColumnFilter"},
    # One line per row: the full text shows on hover and in the student panel.
    {"field": "recommendation", "headerName": "Recommendation", "width": 320, "tooltipField": "recommendation"},
    {"field": "reasons", "headerName": "Reasons", "flex": 1, "minWidth": 320, "tooltipField": "reasons"},
]


def layout() -> html.Div:
    return html.Div(
        [
            dbc.Row(id="kpis", className="g-3 my-2"),
            dbc.Row(
                [
                    dbc.Col(html.Small(id="grid-note", className="text-muted"), md=9),
                    dbc.Col(
                        dbc.Button("Export CSV", id="export-csv", color="secondary", size="sm", className="float-end"),
                        md=3,
                    ),
                ],
                className="mb-1",
            ),
            dag.AgGrid(
                id="risk-grid",
                columnDefs=GRID_COLUMNS,
                rowData=[],
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                dashGridOptions={
                    "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                    "pagination": True,
                    "paginationPageSize": 20,
                    "tooltipShowDelay": 300,
                },
                getRowId="params.data.enrollment_id",
                style={"height": "520px"},
            ),
            dcc.Download(id="export-download"),
            dbc.Row(
                [
                    dbc.Col(dcc.Graph(id="risk-histogram", config={"displayModeBar": False}), md=4),
                    dbc.Col(dcc.Graph(id="segment-scatter", config={"displayModeBar": False}), md=4),
                    dbc.Col(dcc.Graph(id="pass-trend", config={"displayModeBar": False}), md=4),
                ],
                className="mt-3",
            ),
            dbc.Offcanvas(
                html.Div(id="student-panel"),
                id="student-panel-canvas",
                title="Student",
                placement="end",
                is_open=False,
                scrollable=True,
                style={"width": "min(640px, 95vw)"},
            ),
        ],
        className="pt-3",
    )


def interventions_layout() -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="intervention-filter-action",
                            options=list(INTERVENTION_ACTIONS),
                            placeholder="Any action",
                        ),
                        md=3,
                    ),
                    dbc.Col(html.Small("Filtered by the course chosen above.", className="text-muted"), md=9),
                ],
                className="mb-2",
            ),
            dag.AgGrid(
                id="interventions-grid",
                columnDefs=[
                    {"field": "action_date", "headerName": "Date", "sort": "desc"},
                    {"field": "student_id", "headerName": "Student"},
                    {"field": "course_code", "headerName": "Course"},
                    {"field": "term_code", "headerName": "Term"},
                    {"field": "action", "headerName": "Action"},
                    {"field": "note", "headerName": "Note", "flex": 1, "minWidth": 240},
                    {"field": "created_by", "headerName": "By"},
                    {"field": "outcome", "headerName": "Outcome"},
                ],
                rowData=[],
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                dashGridOptions={
                    "localeText": {
                        "noRowsToShow": "No interventions yet: click a student in the at-risk list to record one."
                    }
                },
                style={"height": "420px"},
            ),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("kpis", "children"),
        Output("risk-grid", "rowData"),
        Output("grid-note", "children"),
        Output("risk-histogram", "figure"),
        Output("segment-scatter", "figure"),
        Output("pass-trend", "figure"),
        Input("term", "value"),
        Input("course", "value"),
        Input("checkpoint", "value"),
    )
    def refresh(term_code: str, course_code: str, checkpoint: str):
        version = data.production_version()
        rows = store.predictions(version.id, term_code, checkpoint, course_code or None)
        counts = store.summary(version.id, term_code, checkpoint, course_code or None)
        detail = version.metrics.get("detail", {}).get("checkpoints", {}).get(checkpoint, {})
        threshold = detail.get("deployed_threshold", detail.get("threshold"))
        note = (
            f"The {len(rows):,} riskiest of {counts['enrollments']:,} enrollments are shown; choose a course to see "
            "all of its students, or export the whole selection."
            if len(rows) < counts["enrollments"]
            else f"{counts['enrollments']:,} enrollments. Click a row for the student panel."
        )
        return (
            _kpis(counts, threshold),
            rows.to_dict("records"),
            note,
            _histogram(counts["histogram"]),
            _scatter(rows),
            _trend(course_code),
        )

    @app.callback(
        Output("export-download", "data"),
        Input("export-csv", "n_clicks"),
        State("term", "value"),
        State("course", "value"),
        State("checkpoint", "value"),
        prevent_initial_call=True,
    )
    def export(n_clicks, term_code: str, course_code: str, checkpoint: str):
        """Every stored prediction of the selection, not only the rows on screen."""
        if not n_clicks:
            return no_update
        version = data.production_version()
        rows = store.predictions(version.id, term_code, checkpoint, course_code or None, limit=None)
        name = f"at_risk_{term_code}_{course_code or 'all'}_{checkpoint}.csv"
        return {"content": to_csv(rows.drop(columns="enrollment_id")), "filename": name, "type": "text/csv"}

    @app.callback(
        Output("selected-enrollment", "data"),
        Input("risk-grid", "selectedRows"),
        prevent_initial_call=True,
    )
    def select(selected: list[dict] | None):
        return selected[0]["enrollment_id"] if selected else no_update

    @app.callback(
        Output("student-panel", "children"),
        Output("student-panel-canvas", "is_open"),
        Output("student-panel-canvas", "title"),
        Input("selected-enrollment", "data"),
        State("risk-grid", "selectedRows"),
    )
    def panel(enrollment_id, selected: list[dict] | None):
        """The student opens beside the list, where the user is looking."""
        if not enrollment_id:
            return None, False, "Student"
        enrollment_id = callback_int(enrollment_id, "enrollment")
        row = next((r for r in selected or [] if r.get("enrollment_id") == enrollment_id), {})
        try:
            body, title = _student_panel(enrollment_id, row)
        except LookupError as exc:
            raise CallbackInputError(str(exc)) from exc
        return body, True, title

    @app.callback(
        Output("intervention-message", "children"),
        Output("student-interventions", "children"),
        Output("intervention-saved", "data"),
        Input("intervention-save", "n_clicks"),
        State("selected-enrollment", "data"),
        State("intervention-action", "value"),
        State("intervention-date", "date"),
        State("intervention-note", "value"),
        prevent_initial_call=True,
    )
    def save_intervention(n_clicks, enrollment_id, action, action_date, note):
        if not n_clicks:  # the button was just (re)created with the panel, not pressed
            return no_update, no_update, no_update
        try:
            store.record_intervention(
                int(enrollment_id or 0),
                action or "",
                date.fromisoformat(action_date) if action_date else date.today(),
                note or "",
                current_user.email,
            )
        except ValueError as exc:
            return dbc.Alert(str(exc), color="danger", className="py-1"), no_update, no_update
        recorded = dbc.Alert("Intervention recorded.", color="success", className="py-1")
        return recorded, _intervention_items(enrollment_id), enrollment_id

    @app.callback(
        Output("interventions-grid", "rowData"),
        Input("course", "value"),
        Input("intervention-filter-action", "value"),
        Input("intervention-saved", "data"),
    )
    def intervention_list(course_code: str, action: str | None, _saved):
        return store.interventions(course_code=course_code or None, action=action or None).to_dict("records")


def _kpis(counts: dict, threshold: float | None) -> list:
    bands = counts["bands"]
    enrollments = counts["enrollments"] or 1
    high = bands.get("high", 0)
    return [
        dbc.Col(
            kpi_card(
                "Students", f"{counts['students']:,}", "kpi-students", f"in {counts['enrollments']:,} enrollments"
            ),
            md=3,
        ),
        dbc.Col(
            kpi_card(
                "At risk (alert)",
                f"{counts['students_high']:,} students",
                "kpi-high",
                f"{high:,} enrollments, {high / enrollments:.0%} of the selection",
            ),
            md=3,
        ),
        dbc.Col(kpi_card("Watch (medium)", f"{bands.get('medium', 0):,}", hint="enrollments"), md=3),
        dbc.Col(
            kpi_card("Alert threshold", f"{threshold:.0%}" if threshold else "—", hint="P(fail) at or above this"),
            md=3,
        ),
    ]


def _histogram(buckets: list[int]) -> go.Figure:
    figure = go.Figure(go.Bar(x=[f"{5 * i}–{5 * i + 5}%" for i in range(20)], y=buckets, marker_color="#6c757d"))
    return _styled(figure, "Risk distribution", "P(fail)", "students")


def _scatter(rows) -> go.Figure:
    figure = go.Figure()
    for segment, group in rows.groupby("segment"):
        figure.add_trace(
            go.Scattergl(
                x=group["attendance_pct"],
                y=group["quiz_avg"],
                mode="markers",
                name=segment,
                marker={"color": SEGMENT_COLOURS.get(segment, "#6c757d"), "size": 6, "opacity": 0.7},
                text=group["student_id"],
            )
        )
    figure.update_layout(legend={"orientation": "h", "y": -0.3})
    return _styled(figure, "Segments", "attendance % (weeks 1–8)", "quiz average")


def _trend(course_code: str) -> go.Figure:
    trend = store.pass_rate_trend(course_code or None)
    figure = go.Figure(go.Scatter(x=trend["term_code"], y=trend["pass_rate"] * 100, mode="lines+markers"))
    figure.update_yaxes(range=[0, 100])
    figure.update_xaxes(type="category")
    return _styled(figure, f"Pass rate by term ({course_code or 'all courses'})", "term", "% passed")


def _styled(figure: go.Figure, title: str, x: str, y: str) -> go.Figure:
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        xaxis_title=x,
        yaxis_title=y,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        height=320,
        template="plotly_white",
    )
    return figure


def _student_panel(enrollment_id: int, row: dict) -> tuple[html.Div, str]:
    student = store.student_panel(enrollment_id)
    weekly = [None if w is None else round(100 * w) for w in student["attendance_weekly"]]
    history = [h for h in student["history"] if h["term"] != student["term_code"]]
    reasons = [r for r in (row.get("reasons") or "").split("; ") if r]
    title = f"{student['student_id']} in {student['course_code']} ({student['term_code']})"
    return html.Div(
        [
            html.Div(
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                html.P(
                                    f"{student['programme'] or '—'} · age {_num(student['age'])} · "
                                    f"prior GPA {_num(student['prior_gpa'], 2)}",
                                    className="text-muted",
                                ),
                                html.H2(f"Fail risk {row.get('risk_pct', '—')} %", className="h5"),
                                html.P([html.Strong("Segment: "), row.get("segment", "—")]),
                                html.P([html.Strong("Recommendation: "), row.get("recommendation", "—")]),
                                html.Strong("Why"),
                                html.Ul([html.Li(r) for r in reasons] or [html.Li("—")], className="reasons"),
                            ],
                            width=12,
                        ),
                        dbc.Col(
                            [
                                dcc.Graph(
                                    figure=_styled(
                                        go.Figure(go.Bar(x=list(range(1, len(weekly) + 1)), y=weekly)),
                                        "Attendance by week",
                                        "week",
                                        "%",
                                    ),
                                    config={"displayModeBar": False},
                                ),
                                html.Strong("Earlier courses"),
                                dbc.Table(
                                    [
                                        html.Thead(
                                            html.Tr(
                                                [
                                                    html.Th("Term"),
                                                    html.Th("Course"),
                                                    html.Th("Grade"),
                                                    html.Th("Result"),
                                                ]
                                            )
                                        )
                                    ]
                                    + [
                                        html.Tbody(
                                            [
                                                html.Tr(
                                                    [
                                                        html.Td(h["term"]),
                                                        html.Td(h["course"]),
                                                        html.Td(_num(h["final_grade"])),
                                                        html.Td(
                                                            {True: "passed", False: "failed"}.get(h["passed"], "—")
                                                        ),
                                                    ]
                                                )
                                                for h in history
                                            ]
                                        )
                                    ],
                                    size="sm",
                                    className="small",
                                ),
                            ],
                            width=12,
                        ),
                        dbc.Col(_intervention_form(enrollment_id), width=12),
                    ],
                    className="g-3",
                )
            ),
        ]
    ), title


def _intervention_items(enrollment_id: int) -> list:
    done = store.interventions(enrollment_id=enrollment_id)
    return [html.Li(f"{r.action_date} · {r.action} · {r.note} ({r.created_by})") for r in done.itertuples()] or [
        html.Li("None yet.")
    ]


def _intervention_form(enrollment_id: int) -> html.Div:
    return html.Div(
        [
            html.Strong("Interventions"),
            html.Ul(_intervention_items(enrollment_id), id="student-interventions", className="small"),
            dbc.Select(
                id="intervention-action",
                options=[{"label": a.capitalize(), "value": a} for a in INTERVENTION_ACTIONS],
                value="meeting",
                className="mb-2",
            ),
            dcc.DatePickerSingle(id="intervention-date", date=date.today().isoformat(), className="mb-2"),
            dbc.Textarea(id="intervention-note", placeholder="What was agreed", className="mb-2"),
            dbc.Button("Record intervention", id="intervention-save", color="primary", size="sm"),
            html.Div(id="intervention-message", className="mt-2"),
        ]
    )


def _num(value, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
