"""Census data: the years loaded, the last refreshes, and (for admins) a refresh queued on the census queue with
live progress; when it ends the forecasts are rewritten from the new years (`jobs.census.republish_forecasts`)."""

from __future__ import annotations

import click
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html, no_update
from flask_login import current_user

from core.models import CensusRefresh, CensusYear
from jobs import census, queue
from webapp.cli_census import parse_years
from webapp.dashboards.components import CallbackInputError, job_progress

JOB = "census-job"
SOURCE_HINT = "URL or path with {year}; empty: INEP's official download address"


def layout() -> html.Div:
    years = CensusYear.loaded()
    last = CensusRefresh.last_finished()
    default_years = f"{years[-1].year + 1}" if years else "2019-2023"
    return html.Div(
        [
            html.P(
                (
                    f"{len(years)} census years loaded ({years[0].year}-{years[-1].year}); "
                    if years
                    else "No census year loaded yet; "
                )
                + (f"last successful refresh {last:%Y-%m-%d %H:%M} UTC." if last else "no refresh has succeeded yet."),
                id="census-summary",
            ),
            _years_table(years),
            html.H2("Recent refreshes", className="h6 mt-3"),
            _refreshes_table(CensusRefresh.latest(12)),
            _refresh_form(default_years)
            if _is_admin()
            else html.P("An admin can refresh the census here.", className="text-muted small"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output(f"{JOB}-run", "data"),
        Output("census-refresh-message", "children"),
        Input("census-refresh", "n_clicks"),
        State("census-years", "value"),
        State("census-source", "value"),
        prevent_initial_call=True,
    )
    def refresh(n_clicks, years, source):
        if not n_clicks:
            return no_update, no_update
        if not _is_admin():
            raise CallbackInputError("only an admin may refresh the census")
        try:
            wanted = parse_years(str(years or ""))
        except click.BadParameter as exc:
            return no_update, dbc.Alert(f"Not queued: {exc.message}", color="danger")
        source = (source or "").strip() or None
        try:
            run = census.enqueue_census_refresh(wanted, source, current_user.email)
        except (queue.QueueUnavailableError, queue.JobAlreadyRunningError, ValueError) as exc:
            return no_update, dbc.Alert(f"Not queued: {exc}", color="warning")
        return run.id, dbc.Alert(f"Queued {run.kind} (job {run.id}).", color="info")

    @app.callback(Output("census-refresh-result", "children"), Input(f"{JOB}-done", "data"), prevent_initial_call=True)
    def finished(done):
        if not done:
            return no_update
        if done.get("error"):
            return dbc.Alert(f"The refresh failed: {done['error']}", color="danger")
        result = done.get("result") or {}
        loaded = ", ".join(str(year) for year in result.get("loaded", {})) or "none"
        return dbc.Alert(
            f"Loaded: {loaded}. Forecasts: {result.get('forecasts', '')}. Reload the page to see them.", color="success"
        )


def _refresh_form(default_years: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Refresh the census", className="h6"),
                dbc.Row(
                    [
                        dbc.Col(dbc.Input(id="census-years", value=default_years, placeholder="2019-2023"), md=3),
                        dbc.Col(dbc.Input(id="census-source", placeholder=SOURCE_HINT), md=6),
                        dbc.Col(dbc.Button("Refresh", id="census-refresh", color="primary"), md=3),
                    ],
                    className="g-2",
                ),
                html.Div(id="census-refresh-message", className="mt-2"),
                job_progress(JOB),
                html.Div(id="census-refresh-result"),
            ]
        ),
        className="mt-3",
    )


def _years_table(years: list[CensusYear]) -> dbc.Table:
    header = html.Tr([html.Th(h) for h in ("Year", "Schools listed", "Active", "INEP md5", "Loaded")])
    rows = [
        html.Tr(
            [
                html.Td(y.year),
                html.Td(f"{y.rows:,}"),
                html.Td(f"{y.active_schools:,}"),
                html.Td(y.md5_check),
                html.Td(f"{y.loaded_at:%Y-%m-%d %H:%M}"),
            ]
        )
        for y in years
    ]
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", id="census-years-table")


def _refreshes_table(refreshes: list[CensusRefresh]) -> dbc.Table:
    header = html.Tr([html.Th(h) for h in ("Year", "Status", "Rows", "MB", "Requested by", "Finished", "Error")])
    rows = [
        html.Tr(
            [
                html.Td(r.year),
                html.Td(r.status),
                html.Td(f"{r.rows:,}" if r.rows else "—"),
                html.Td(f"{r.bytes / 1e6:.1f}" if r.bytes else "—"),
                html.Td(r.requested_by),
                html.Td(f"{r.finished_at:%Y-%m-%d %H:%M}" if r.finished_at else "—"),
                html.Td(r.error or "", className="small"),
            ]
        )
        for r in refreshes
    ]
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", id="census-refreshes-table")


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.may("admin")
