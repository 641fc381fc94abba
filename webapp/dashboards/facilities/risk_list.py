"""Overcrowding risk: the sessions of a forecast week, riskiest first, with forecast, interval and probability."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from core.csv_export import to_csv
from ml.data.campus import VENUE_TYPE_LABELS
from ml.occupancy.store import Horizon
from webapp.dashboards.components import CallbackInputError, callback_int, kpi_card, labelled
from webapp.dashboards.facilities import data

STATUSES = ("over the limit", "may overcrowd", "fits")
GRID_COLUMNS = [
    {"field": "when", "headerName": "When", "width": 110, "pinned": "left"},
    {"field": "section_code", "headerName": "Section", "width": 130, "pinned": "left"},
    {"field": "venue_code", "headerName": "Room", "width": 100},
    {"field": "room_type", "headerName": "Type", "width": 120},
    {"field": "capacity", "headerName": "Seats", "width": 90, "filter": "agNumberColumnFilter"},
    {"field": "limit", "headerName": "Limit", "width": 90, "filter": "agNumberColumnFilter"},
    {"field": "registered", "headerName": "Registered", "width": 110, "filter": "agNumberColumnFilter"},
    {"field": "forecast", "headerName": "Forecast", "width": 100, "filter": "agNumberColumnFilter"},
    {"field": "interval", "headerName": "Interval", "width": 110},
    {"field": "fill_pct", "headerName": "Fill %", "width": 90, "filter": "agNumberColumnFilter"},
    {"field": "probability_pct", "headerName": "Risk %", "width": 95, "sort": "desc", "filter": "agNumberColumnFilter"},
    {"field": "status", "headerName": "Status", "width": 140},
]
EXPORT_COLUMNS = {
    "when": "when",
    "section_code": "section",
    "course_code": "course",
    "venue_code": "room",
    "building_code": "building",
    "room_type": "room_type",
    "capacity": "seats",
    "safe_capacity": "safe_capacity",
    "limit": "limit",
    "registered": "registered",
    "forecast": "forecast",
    "lower": "lower",
    "upper": "upper",
    "fill_pct": "fill_pct",
    "probability_pct": "overcrowding_risk_pct",
    "status": "status",
}


def layout(horizon: Horizon) -> html.Div:
    weeks = data.forecast_weeks()
    return html.Div(
        [
            dbc.Row(
                [
                    labelled(
                        "Week",
                        dcc.Dropdown(
                            id="risk-week",
                            options=[{"label": f"Week {w}", "value": w} for w in weeks],
                            value=weeks[0] if weeks else None,
                            clearable=False,
                        ),
                        md=3,
                    ),
                    labelled(
                        "Building",
                        dcc.Dropdown(
                            id="risk-building",
                            options=[{"label": "All buildings", "value": ""}, *data.buildings()],
                            value="",
                            clearable=False,
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Checklist(
                            id="risk-only",
                            options=[{"label": "Only sessions at risk", "value": "only"}],
                            value=["only"],
                            switch=True,
                            className="mt-4",
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Button("Export CSV", id="risk-export", color="secondary", size="sm", className="mt-4"),
                        md=3,
                        className="text-end",
                    ),
                ],
                className="g-3 mb-2",
            ),
            dbc.Row(id="risk-kpis", className="g-3 mb-2"),
            html.Small(id="risk-note", className="text-muted d-block mb-1"),
            dag.AgGrid(
                id="risk-grid",
                columnDefs=GRID_COLUMNS,
                rowData=[],
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                dashGridOptions={
                    "pagination": True,
                    "paginationPageSize": 20,
                    "localeText": {"noRowsToShow": "No session of this week is at risk of overcrowding."},
                },
                style={"height": "560px"},
            ),
            dcc.Download(id="risk-download"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("risk-grid", "rowData"),
        Output("risk-kpis", "children"),
        Output("risk-note", "children"),
        Input("risk-week", "value"),
        Input("risk-building", "value"),
        Input("risk-only", "value"),
    )
    def refresh(week, building: str | None, only: list | None):
        if week is None:
            return [], [], "No forecast is stored yet: the occupancy model publishes them when it is trained."
        rows = risk_rows(_week(week), building or None)
        at_risk = rows[rows["status"] != "fits"]
        shown = at_risk if only else rows
        threshold = data.alert_threshold()
        note = (
            f"At risk: the forecast or the upper end of its {_level()} interval is above the limit "
            f"({data.limit_share():.0%} of safe capacity)"
            + (f", or the overcrowding model's risk is at least {threshold:.0%}" if threshold is not None else "")
            + ". Rooms are where each session meets now."
        )
        kpis = [
            dbc.Col(kpi_card("Sessions this week", f"{len(rows):,}"), md=3),
            dbc.Col(kpi_card("At risk", f"{len(at_risk):,}", id_="risk-count"), md=3),
            dbc.Col(kpi_card("Over the limit (forecast)", f"{int((rows['status'] == STATUSES[0]).sum()):,}"), md=3),
            dbc.Col(kpi_card("Forecast attendance", f"{rows['forecast'].sum():,.0f}"), md=3),
        ]
        return shown.to_dict("records"), kpis, note

    @app.callback(
        Output("risk-download", "data"),
        Input("risk-export", "n_clicks"),
        State("risk-week", "value"),
        State("risk-building", "value"),
        prevent_initial_call=True,
    )
    def export(n_clicks, week, building: str | None):
        if not n_clicks or week is None:
            return no_update
        week = _week(week)
        rows = risk_rows(week, building or None)
        frame = rows[list(EXPORT_COLUMNS)].rename(columns=EXPORT_COLUMNS)
        return {"content": to_csv(frame), "filename": f"overcrowding-risk-week-{week}.csv", "type": "text/csv"}


def risk_rows(week: int, building: str | None = None) -> pd.DataFrame:
    """The week's stored forecasts with the limit, fill, status and display fields, riskiest first."""
    stored = data.forecasts(week)
    if building:
        stored = stored[stored["building_code"] == building]
    share, threshold = data.limit_share(), data.alert_threshold()
    limit = share * stored["safe_capacity"].astype(float)
    probability = stored["probability"].astype(float)
    flagged = (stored["upper"] > limit) | (probability >= threshold if threshold is not None else False)
    status = np.where(stored["forecast"] > limit, STATUSES[0], np.where(flagged, STATUSES[1], STATUSES[2]))
    rows = stored.assign(
        when=[data.when(d, s) for d, s in zip(stored["weekday"], stored["slot"], strict=True)],
        room_type=stored["venue_type"].map(VENUE_TYPE_LABELS),
        limit=np.floor(limit).astype(int),
        forecast=stored["forecast"].round().astype(int),
        lower=stored["lower"].round().astype(int),
        upper=stored["upper"].round().astype(int),
        fill_pct=(stored["forecast"] / stored["capacity"] * 100).round(0),
        probability_pct=(probability * 100).round(1),
        status=status,
    )
    rows["interval"] = rows["lower"].astype(str) + "–" + rows["upper"].astype(str)
    order = np.argsort(
        -(rows["probability_pct"].fillna(-1).to_numpy() + 1000 * (rows["status"] != "fits")), kind="stable"
    )
    return rows.iloc[order].reset_index(drop=True)


def _week(value) -> int:
    week = callback_int(value, "week")
    if week not in data.forecast_weeks():
        raise CallbackInputError(f"no forecast is stored for week {week}")
    return week


def _level() -> str:
    version = data.occupancy_version()
    level = version.params.get("level") if version else None
    return f"{level:.0%}" if level else "prediction"
