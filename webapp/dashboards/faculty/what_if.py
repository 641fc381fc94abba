"""What-if: change a student's attendance or scores and watch the fail probability move."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, html

from ml.at_risk import store
from ml.data.academic_fields import SIGNALS_BY_NAME
from ml.data.academic_import import ACADEMIC
from ml.data.import_engine import validate_records
from webapp.dashboards.components import CallbackInputError, callback_choice, callback_int

EDITABLE = (
    "attendance_w4",
    "attendance_w8",
    "quiz_1",
    "quiz_2",
    "quiz_3",
    "assignment_1",
    "assignment_2",
    "midterm",
    "lms_minutes_w8",
    "lms_logins_w8",
)


def layout() -> html.Div:
    fields = [
        dbc.Col(
            [
                dbc.Label(f"{SIGNALS_BY_NAME[name].label} ({SIGNALS_BY_NAME[name].unit})", className="small mb-0"),
                dbc.Input(id={"type": "what-if", "field": name}, type="number", debounce=True, size="sm"),
            ],
            md=3,
            className="mb-2",
        )
        for name in EDITABLE
    ]
    return html.Div(
        [
            html.P(
                "Pick a student in the at-risk list, then change values here: the probability is recomputed by the "
                "production model at the chosen checkpoint (signals not known yet at that checkpoint are ignored).",
                className="text-muted",
            ),
            html.Div(id="what-if-student", className="fw-semibold mb-2"),
            dbc.Row(fields),
            dbc.Row(
                [
                    dbc.Col(html.Div(id="what-if-result"), md=8),
                ],
                className="mt-2",
            ),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output({"type": "what-if", "field": ALL}, "value"),
        Output("what-if-student", "children"),
        Input("selected-enrollment", "data"),
    )
    def load_student(enrollment_id):
        if not enrollment_id:
            return [None] * len(EDITABLE), "No student chosen: values below start empty."
        record = _record(enrollment_id)
        values = [None if record.get(name) is None else round(float(record[name]), 1) for name in EDITABLE]
        return values, f"{record['student_id']} in {record['course_code']}"

    @app.callback(
        Output("what-if-result", "children"),
        Input({"type": "what-if", "field": ALL}, "value"),
        Input("checkpoint", "value"),
        State("selected-enrollment", "data"),
    )
    def score(values: list, checkpoint: str, enrollment_id):
        """The recorded values and the edited ones scored together on the fast path (a few milliseconds)."""
        if not enrollment_id:
            return None
        serving = store.production_scorer()
        scorer = serving.scorer
        checkpoint = callback_choice(checkpoint, list(scorer.checkpoints), "checkpoint")
        if not isinstance(values, list) or len(values) != len(EDITABLE):
            raise CallbackInputError(f"expected {len(EDITABLE)} what-if values")
        recorded = _record(enrollment_id)
        edited = {**recorded, **{n: (None if v in (None, "") else v) for n, v in zip(EDITABLE, values, strict=True)}}
        valid, _, errors = validate_records(ACADEMIC, [recorded, edited])
        if errors:
            return dbc.Alert(
                [html.Div(f"{_label(e.field)}: {e.problem}") for e in errors if e.record == 1]
                or [html.Div(f"The recorded {_label(e.field)}: {e.problem}") for e in errors],
                color="warning",
                id="what-if-errors",
            )
        original, scored = scorer.score(valid, checkpoint)
        delta = (scored.probability - original.probability) * 100
        return dbc.Alert(
            [
                html.H2(f"Fail risk {scored.probability:.0%}", className="h4", id="what-if-probability"),
                html.P(
                    f"{'+' if delta >= 0 else ''}{delta:.1f} points against the recorded values "
                    f"({original.probability:.0%}) · band {scored.risk_band} · {scored.segment}"
                ),
                html.P([html.Strong("Recommendation: "), scored.recommendation]),
                html.Strong("Main reasons"),
                html.Ul([html.Li(r) for r in scored.reasons]),
                html.Small(f"at_risk v{serving.version}, {checkpoint}", className="text-muted"),
            ],
            color="danger" if scored.at_risk else "success",
        )


def _label(field: str) -> str:
    return SIGNALS_BY_NAME[field].label if field in SIGNALS_BY_NAME else field


def _record(enrollment_id) -> dict:
    try:
        return store.scoring_record(callback_int(enrollment_id, "enrollment"))
    except LookupError as exc:
        raise CallbackInputError(str(exc)) from exc
