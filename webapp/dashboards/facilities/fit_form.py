"""Will this class fit? A live form: course level, registered students, room, weekday, slot and week give the
forecast attendance with its interval, the fill rate, the overcrowding risk and rooms that would fit better."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from ml.data.campus import SLOT_STARTS, VENUE_TYPE_LABELS, WEEKDAYS, walking_minutes
from ml.occupancy import live
from ml.occupancy.store import Horizon
from webapp.dashboards.components import CallbackInputError, labelled
from webapp.dashboards.facilities import data

VERDICT_COLOURS = {"fits": "success", "at risk": "warning", "overcrowded": "danger"}
FIELDS = ("level", "registered", "venue_code", "weekday", "slot", "week")


def layout(horizon: Horizon) -> html.Div:
    occupancy, _ = data.production_models()
    context = live.campus_context(occupancy.builder.wifi_per_person) if occupancy else None
    venues = context.venues if context else {}
    first = next(iter(venues), None)
    weeks = list(range(1, (context.last_week if context else horizon.as_of + 1) + 1))
    controls = [
        labelled(
            "Level", dcc.Dropdown(id="fit-level", options=list(live.LEVELS), value=1, clearable=False), md=1
        ),
        labelled(
            "Registered students",
            dbc.Input(id="fit-registered", type="number", min=1, max=live.MAX_REGISTERED, step=1, value=60),
        ),
        labelled(
            "Room",
            dcc.Dropdown(
                id="fit-venue",
                options=[
                    {
                        "label": f"{code} · {VENUE_TYPE_LABELS.get(v['venue_type'], v['venue_type'])} · "
                        f"{v['capacity']} seats (safe {v['safe_capacity']})",
                        "value": code,
                    }
                    for code, v in venues.items()
                ],
                value=first,
                clearable=False,
            ),
            md=4,
        ),
        labelled(
            "Weekday",
            dcc.Dropdown(
                id="fit-weekday", options=[{"label": d, "value": i} for i, d in enumerate(WEEKDAYS)], value=0,
                clearable=False,
            ),
        ),
        labelled(
            "Start time",
            dcc.Dropdown(
                id="fit-slot", options=[{"label": s, "value": i} for i, s in enumerate(SLOT_STARTS)], value=1,
                clearable=False,
            ),
        ),
        labelled(
            "Week",
            dcc.Dropdown(
                id="fit-week", options=weeks, value=min(horizon.as_of + 1, weeks[-1]) if weeks else 1, clearable=False
            ),
            md=1,
        ),
    ]  # fmt: skip
    return html.Div(
        [
            html.P(
                "Change any value: the production models answer at once. A new class has no attendance history of "
                "its own, so the forecast rests on its size, level, room, time and the campus's recent show-up.",
                className="text-muted",
            ),
            dbc.Row(controls, className="g-3 mb-3"),
            html.Div(id="fit-result"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("fit-result", "children"),
        Input("fit-level", "value"),
        Input("fit-registered", "value"),
        Input("fit-venue", "value"),
        Input("fit-weekday", "value"),
        Input("fit-slot", "value"),
        Input("fit-week", "value"),
    )
    def will_it_fit(level, registered, venue_code, weekday, slot, week):
        occupancy, overcrowding = data.production_models()
        if occupancy is None:
            return dbc.Alert("No occupancy model is in production yet.", color="secondary")
        context = live.campus_context(occupancy.builder.wifi_per_person)
        if context is None:
            return dbc.Alert("There is no campus timetable yet.", color="secondary")
        raw = dict(zip(FIELDS, (level, registered, venue_code, weekday, slot, week), strict=True))
        try:
            question = live.validate(raw, context)
        except live.InvalidQuestion as problem:
            if problem.field != "registered":  # the other inputs are lists: a value off them was not typed
                raise CallbackInputError(str(problem)) from problem
            return dbc.Alert(str(problem), color="warning", id="fit-problem")
        return _answer(live.answer(question, occupancy, overcrowding, context))


def _answer(result: live.FitAnswer) -> dbc.Card:
    q = result.question
    interval = f"{result.lower:.0f}–{result.upper:.0f}"
    verdict = result.verdict
    if verdict == "fits":
        headline = f"Fits: even the upper end ({result.upper:.0f}) is within the limit of {result.limit:.0f}."
    elif verdict == "at risk":
        headline = (
            f"At risk: the forecast fits, but the interval reaches {result.upper:.0f}, over the limit of "
            f"{result.limit:.0f}."
        )
    else:
        headline = f"Overcrowded: {result.forecast:.0f} expected, over the limit of {result.limit:.0f}."
    risk = "—" if result.probability is None else f"{result.probability:.0%}"
    figures = dbc.Row(
        [
            dbc.Col(_figure("Forecast attendance", f"{result.forecast:.0f}", f"interval {interval}", "fit-forecast")),
            dbc.Col(_figure("Fill rate", f"{result.fill_rate:.0%}", f"of {result.capacity} seats", "fit-fill")),
            dbc.Col(
                _figure(
                    "Overcrowding risk",
                    risk,
                    f"alert from {result.threshold:.0%}" if result.threshold is not None else "no model in production",
                    "fit-risk",
                )
            ),
        ],
        className="g-3 mb-2",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Alert(headline, color=VERDICT_COLOURS[verdict], id="fit-verdict", className="mb-3"),
                figures,
                _better_rooms(result),
            ]
        ),
        id=f"fit-answer-{q.venue_code}",
    )


def _better_rooms(result: live.FitAnswer):
    if not result.better_rooms:
        if result.verdict == "fits":
            return None
        return html.P(
            "No free room of a fitting type holds the upper end of the interval at that time.", id="fit-rooms"
        )
    rows = [
        html.Tr(
            [
                html.Td(r["venue_code"]),
                html.Td(VENUE_TYPE_LABELS.get(r["venue_type"], r["venue_type"])),
                html.Td(f"{r['capacity']} (safe {r['safe_capacity']})"),
                html.Td(
                    "same building" if r["metres"] == 0 else f"{r['metres']} m, {walking_minutes(r['metres'])} min"
                ),
            ]
        )
        for r in result.better_rooms
    ]
    why = "bigger" if result.upper > result.limit else "smaller"
    return html.Div(
        [
            html.H3(f"Free rooms that fit better ({why}, free at that time)", className="h6"),
            dbc.Table(
                [html.Thead(html.Tr([html.Th(h) for h in ("Room", "Type", "Seats", "Walk")])), html.Tbody(rows)],
                size="sm",
                id="fit-rooms",
            ),
        ]
    )


def _figure(label: str, value: str, hint: str, id_: str) -> html.Div:
    return html.Div(
        [html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value", id=id_), html.Small(hint)],
        className="kpi-card p-2 border rounded h-100",
    )
