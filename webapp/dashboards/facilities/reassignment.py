"""Reassignment: an optimal plan for the coming week's sessions at risk, with reasons, applied in one
transaction with an audit entry; then the forecasts are rewritten (a queued job)."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from ml.occupancy import planning
from ml.occupancy.reassign import BASES, PlanConflict, ReassignmentPlan
from ml.occupancy.store import Horizon
from webapp.dashboards.components import CallbackInputError, callback_choice, labelled
from webapp.dashboards.facilities import data

BASIS_LABELS = {"upper": "the upper end of the interval (safer)", "forecast": "the forecast itself"}
MOVE_COLUMNS = [
    {"field": "when", "headerName": "When", "width": 110},
    {"field": "section_code", "headerName": "Section", "width": 130},
    {"field": "from_venue", "headerName": "From", "width": 90},
    {"field": "to_venue", "headerName": "To", "width": 90},
    {"field": "walking_min", "headerName": "Walk (min)", "width": 105},
    {"field": "reason", "headerName": "Why", "flex": 1, "minWidth": 380, "wrapText": True, "autoHeight": True},
]
UNSOLVED_COLUMNS = [
    {"field": "when", "headerName": "When", "width": 110},
    {"field": "section_code", "headerName": "Section", "width": 130},
    {"field": "venue_code", "headerName": "Room", "width": 90},
    {"field": "reason", "headerName": "Why it stays", "flex": 1, "minWidth": 380, "wrapText": True, "autoHeight": True},
]


def layout(horizon: Horizon) -> html.Div:
    return html.Div(
        [
            html.P(
                f"Week {horizon.coming}: move the sessions forecast to overcrowd into free rooms of a fitting type "
                "and size, with the fewest moves and the least walking; no room ever holds two sessions at once. "
                "Sessions keep their weekday and time.",
                className="text-muted",
            ),
            dbc.Row(
                [
                    labelled(
                        "A session needs room for",
                        dbc.RadioItems(
                            id="plan-basis",
                            options=[{"label": label, "value": b} for b, label in BASIS_LABELS.items()],
                            value="upper",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        dbc.Checklist(
                            id="plan-move-others",
                            options=[{"label": "Sessions that fit may move to make room", "value": "yes"}],
                            value=["yes"],
                            switch=True,
                            className="mt-4",
                        ),
                        md=4,
                    ),
                    dbc.Col(dbc.Button("Make plan", id="plan-make", color="primary", className="mt-4"), md=3),
                ],
                className="g-3 mb-3",
            ),
            dcc.Store(id="plan-shown"),
            dcc.Loading(html.Div(id="plan-view")),
            html.Div(
                [
                    dbc.Button("Apply plan", id="plan-apply", color="danger", disabled=True),
                    html.Small(
                        " Applying changes the timetable of the term for every week.", className="text-muted ms-2"
                    ),
                ],
                className="mt-2",
            ),
            dcc.Loading(html.Div(id="plan-applied", className="mt-3")),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("plan-view", "children"),
        Output("plan-shown", "data"),
        Output("plan-apply", "disabled"),
        Input("plan-make", "n_clicks"),
        State("plan-basis", "value"),
        State("plan-move-others", "value"),
        prevent_initial_call=True,
    )
    def make_plan(n_clicks, basis, move_others):
        if not n_clicks:
            return no_update, no_update, no_update
        settings = _settings(basis, move_others)
        version, horizon = _state()
        plan = planning.week_plan(version.id, horizon, share=data.limit_share(), **settings)
        shown = {"fingerprint": planning.fingerprint(plan), **settings}
        return plan_view(plan), shown, plan.moves.empty

    @app.callback(
        Output("plan-applied", "children"),
        Output("plan-view", "children", allow_duplicate=True),
        Output("plan-shown", "data", allow_duplicate=True),
        Input("plan-apply", "n_clicks"),
        State("plan-shown", "data"),
        prevent_initial_call=True,
    )
    def apply(n_clicks, shown: dict | None):
        if not n_clicks:
            return no_update, no_update, no_update
        if not isinstance(shown, dict) or not isinstance(shown.get("fingerprint"), str):
            raise CallbackInputError("make a plan first")
        settings = _settings(shown.get("basis"), ["yes"] if shown.get("move_others") else [])
        version, horizon = _state()
        try:
            _, moved = planning.apply_shown_plan(
                shown["fingerprint"], version.id, horizon, current_user, share=data.limit_share(), **settings
            )
        except planning.PlanChanged as changed:
            fresh = {"fingerprint": planning.fingerprint(changed.plan), **settings}
            return dbc.Alert(str(changed), color="warning", id="plan-result"), plan_view(changed.plan), fresh
        except PlanConflict as conflict:
            return dbc.Alert(f"Not applied: {conflict}", color="danger", id="plan-result"), no_update, None
        note = data.request_republish(current_user.email, f"reassignment of week {horizon.coming} applied")
        message = f"Applied: {moved} session{'s' if moved != 1 else ''} moved (recorded in the audit log). {note}"
        return dbc.Alert(message, color="success", id="plan-result"), no_update, None


def plan_view(plan: ReassignmentPlan) -> html.Div:
    moves = plan.moves.assign(
        when=[data.when(d, s) for d, s in zip(plan.moves["weekday"], plan.moves["slot"], strict=True)]
    )
    unsolved = plan.unsolved.assign(
        when=[data.when(d, s) for d, s in zip(plan.unsolved["weekday"], plan.unsolved["slot"], strict=True)]
    )
    basis = BASIS_LABELS[plan.basis]
    return html.Div(
        [
            dbc.Alert(
                f"{plan.summary()} Solved optimally in {plan.seconds:.2f} s for {plan.n_sessions:,} sessions in "
                f"{plan.n_venues:,} rooms (demand: {basis}).",
                color="info" if len(plan.moves) else "secondary",
                id="plan-summary",
            ),
            html.H2("Moves", className="h6"),
            dag.AgGrid(
                id="plan-moves",
                columnDefs=MOVE_COLUMNS,
                rowData=moves.drop(columns=["at_risk"]).to_dict("records"),
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={"localeText": {"noRowsToShow": "No move is needed."}, "domLayout": "autoHeight"},
            ),
            html.H2("Sessions at risk that stay", className="h6 mt-3"),
            dag.AgGrid(
                id="plan-unsolved",
                columnDefs=UNSOLVED_COLUMNS,
                rowData=unsolved.to_dict("records"),
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={"localeText": {"noRowsToShow": "None."}, "domLayout": "autoHeight"},
            ),
        ]
    )


def _settings(basis, move_others) -> dict:
    basis = callback_choice(basis, BASES, "the plan's basis")
    if move_others is not None and not isinstance(move_others, list):
        raise CallbackInputError("the move-others switch must be a list")
    return {"basis": basis, "move_others": bool(move_others)}


def _state():
    version, horizon = data.occupancy_version(), data.horizon()
    if version is None or horizon is None:
        raise CallbackInputError("there are no stored forecasts to plan from")
    return version, horizon
