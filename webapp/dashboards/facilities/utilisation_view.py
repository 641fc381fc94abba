"""Utilisation: the week's heatmap of rooms x weekday/slot, the term's trend and the rooms that stand half empty."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from ml.data.campus import VENUE_TYPE_LABELS
from ml.occupancy import store, utilisation
from ml.occupancy.store import Horizon
from webapp.dashboards.components import CallbackInputError, labelled
from webapp.dashboards.facilities import data

ALL_WEEKS = "all"
GRAPH_CONFIG = {"displayModeBar": False}
MAX_ROOMS_AT_ONCE = 40  # more rooms than this: the heatmap opens on one building


def layout(horizon: Horizon) -> html.Div:
    buildings = data.buildings()
    observed = [{"label": f"Week {w}", "value": str(w)} for w in range(1, horizon.as_of + 1)]
    forecast = [{"label": f"Week {w} (forecast)", "value": f"f{w}"} for w in data.forecast_weeks()]
    many = len(utilisation.measured_sessions(horizon.term_code)["venue_code"].unique()) > MAX_ROOMS_AT_ONCE
    return html.Div(
        [
            dbc.Row(
                [
                    labelled(
                        "Building",
                        dcc.Dropdown(
                            id="util-building",
                            options=[{"label": "All buildings", "value": ""}, *buildings],
                            value=buildings[0]["value"] if many and buildings else "",
                            clearable=False,
                        ),
                        md=4,
                    ),
                    labelled(
                        "Week",
                        dcc.Dropdown(
                            id="util-week",
                            options=[{"label": "All observed weeks (mean)", "value": ALL_WEEKS}] + observed + forecast,
                            value=ALL_WEEKS,
                            clearable=False,
                        ),
                        md=4,
                    ),
                ],
                className="g-3 mb-2",
            ),
            dcc.Loading(dcc.Graph(id="util-heatmap", config=GRAPH_CONFIG)),
            dbc.Row(
                [
                    dbc.Col(dcc.Graph(id="util-trend", config=GRAPH_CONFIG), md=7),
                    dbc.Col(
                        [
                            html.H2("Under-used rooms", className="h6 mt-2"),
                            html.P(
                                f"Sections whose sessions fill less than {utilisation.UNDER_USED_FILL:.0%} of their "
                                "room's seats on average this term, emptiest first, with the size of room that would "
                                "do (90 % of their sessions fit in it).",
                                className="small text-muted",
                            ),
                            html.Div(id="util-under-used"),
                        ],
                        md=5,
                    ),
                ],
                className="mt-2",
            ),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("util-heatmap", "figure"),
        Output("util-trend", "figure"),
        Output("util-under-used", "children"),
        Input("util-building", "value"),
        Input("util-week", "value"),
    )
    def refresh(building: str | None, week: str | None):
        horizon = data.horizon()
        if horizon is None:
            raise CallbackInputError("there is no campus timetable yet")
        if building and building not in {b["value"] for b in data.buildings()}:
            raise CallbackInputError(f"unknown building {building!r}")
        sessions = utilisation.measured_sessions(horizon.term_code)
        if building:
            sessions = sessions[sessions["building_code"] == building]
        cells, title = _cells(sessions, week, building, horizon)
        return heatmap_figure(cells, title), trend_figure(sessions, horizon, building), _under_used(sessions)


def _cells(sessions, week: str | None, building: str | None, horizon: Horizon):
    """The heatmap's table and title for the chosen week (observed, all observed, or a forecast week)."""
    if week in (None, "", ALL_WEEKS):
        return utilisation.heatmap(sessions), f"Mean fill of each session, weeks 1-{horizon.as_of} (measured)"
    if week.startswith("f"):
        number = _week_number(week[1:])
        stored = data.forecasts(number)
        if building:
            stored = stored[stored["building_code"] == building]
        forecast = stored.assign(fill=stored["forecast"] / stored["capacity"], week=number)
        return utilisation.heatmap(forecast), f"Forecast fill of each session, week {number}"
    number = _week_number(week)
    return utilisation.heatmap(sessions, week=number), f"Fill of each session, week {number} (measured)"


def heatmap_figure(cells: pd.DataFrame, title: str) -> go.Figure:
    percent = cells.to_numpy(dtype=float) * 100
    text = np.where(
        np.isnan(percent), "free", np.char.add(np.round(np.nan_to_num(percent)).astype(int).astype(str), " %")
    )
    figure = go.Figure(
        go.Heatmap(
            z=percent,
            x=list(cells.columns),
            y=list(cells.index),
            text=text,
            hovertemplate="%{y} · %{x}: %{text} of seats<extra></extra>",
            # Blues up to a full room (100 of 110), then orange to red: over capacity stands out.
            colorscale=[[0, "#f1f5f9"], [0.4, "#9ecae1"], [0.85, "#08519c"], [0.9, "#fd8d3c"], [1, "#d7301f"]],
            zmin=0,
            zmax=110,
            colorbar={"title": {"text": "% of seats"}},
            xgap=1,
            ygap=1,
        )
    )
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=max(260, 60 + 18 * len(cells.index)),
        template="plotly_white",
        margin={"l": 70, "r": 10, "t": 40, "b": 60},
        xaxis={"tickangle": -60, "title": "Weekday and start time"},
        yaxis={"title": "Room", "autorange": "reversed"},
    )
    return figure


def trend_figure(sessions: pd.DataFrame, horizon: Horizon, building: str | None) -> go.Figure:
    figure = go.Figure()
    table = utilisation.trend(sessions)
    for kind, rows in table.groupby("venue_type", sort=False):
        label = VENUE_TYPE_LABELS.get(kind, kind)
        width = 3 if kind == "all rooms" else 1.5
        figure.add_trace(
            go.Scatter(x=rows["week"], y=rows["fill"] * 100, mode="lines+markers", name=label, line={"width": width})
        )
    version = data.occupancy_version()
    if version is not None:
        totals = store.weekly_forecast_totals(version.id, horizon.term_code, building or None)
        if len(totals):
            figure.add_trace(
                go.Scatter(
                    x=totals["week"],
                    y=totals["attendance"] / totals["capacity"] * 100,
                    mode="lines+markers",
                    line={"dash": "dash", "width": 3},
                    name="all rooms (forecast)",
                )
            )
    figure.update_layout(
        title={"text": "Fill over the term: attendance as % of seats", "font": {"size": 14}},
        height=340,
        template="plotly_white",
        xaxis_title="Week of term",
        yaxis_title="% of seats",
        margin={"l": 50, "r": 10, "t": 40, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _under_used(sessions) -> dbc.Table | html.P:
    bookings = utilisation.under_used(sessions)
    if bookings.empty:
        return html.P("No booking is that empty.", className="small", id="under-used-none")
    header = html.Tr([html.Th(h) for h in ("Room", "Section", "Seats", "Mean fill", "Attendance", "Would do")])
    body = [
        html.Tr(
            [
                html.Td(b.venue_code),
                html.Td(b.section_code),
                html.Td(f"{int(b.capacity):,}"),
                html.Td(f"{b.mean_fill:.0%}"),
                html.Td(f"{b.mean_attendance:.0f}"),
                html.Td(f"{int(np.ceil(b.p90_attendance)):,} seats"),
            ]
        )
        for b in bookings.head(20).itertuples()
    ]
    more = f"The 20 emptiest of {len(bookings):,}." if len(bookings) > 20 else ""
    return html.Div(
        [dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", id="under-used-table"), html.Small(more)]
    )


def _week_number(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise CallbackInputError(f"unknown week {text!r}") from None
