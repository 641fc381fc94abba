"""Shared Dash pieces: the app factory every audience uses, the navbar, KPI cards, empty states."""

from __future__ import annotations

import threading
from collections.abc import Callable

import dash_bootstrap_components as dbc
from dash import Dash, dcc, html
from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from webapp.auth import visible_sections

STYLESHEETS = ["/static/vendor/bootstrap.min.css", "/static/css/aula.css"]


class _ThreadSafeDash(Dash):
    """Dash whose first-request setup finishes before any other thread's request is served.

    Dash marks its setup done before doing it (plotly/dash#3971), so under gunicorn's threaded workers the
    requests that arrive with the first one fail: "... is not a registered library", 500.
    """

    def __init__(self, *args, **kwargs):
        self._setup_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _setup_server(self) -> None:
        with self._setup_lock:
            super()._setup_server()


def make_dash(server: Flask, prefix: str, title: str, body: Callable[[], html.Div]) -> Dash:
    """A Dash app at `prefix` whose layout is the shared navbar plus `body()`, built per page load."""
    app = _ThreadSafeDash(
        __name__,
        server=server,
        url_base_pathname=prefix,
        title=f"{title} · Aula",
        external_stylesheets=STYLESHEETS,
        suppress_callback_exceptions=True,
        serve_locally=True,  # the machine may have no internet; every asset comes from this server
        update_title=None,
    )
    app.layout = lambda: html.Div([navbar(), dbc.Container(body(), fluid=True, className="py-3")])
    server.extensions.setdefault("dash_apps", {})[prefix] = app
    return app


def navbar() -> dbc.Navbar:
    brand = html.A("Aula", href="/", className="navbar-brand fw-semibold")
    if not current_user.is_authenticated:  # Dash validates the layout once outside any user's request
        return dbc.Navbar(dbc.Container([brand], fluid=True), color="primary", dark=True)
    links = [
        dbc.NavItem(dbc.NavLink(label, href=path, external_link=True)) for label, path in visible_sections(current_user)
    ]
    sign_out = html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Button("Sign out", className="btn btn-outline-light btn-sm", type="submit"),
        ],
        method="POST",
        action="/logout",
        className="d-inline",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                brand,
                dbc.Nav(links, className="me-auto", navbar=True),
                html.Span(f"{current_user.email} · {current_user.role}", className="navbar-text text-white-50 me-3"),
                sign_out,
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
    )


def kpi_card(label: str, value: str, id_: str | None = None, hint: str = "") -> dbc.Card:
    value_props = {"id": id_} if id_ else {}
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(label, className="kpi-label"),
                html.Div(value, className="kpi-value", **value_props),
                html.Small(hint, className="text-muted") if hint else None,
            ]
        ),
        className="kpi-card h-100",
    )


def empty_state(title: str, text: str) -> dbc.Alert:
    return dbc.Alert([html.H2(title, className="h5"), html.P(text, className="mb-0")], color="secondary")


def upload_area(id_: str, max_bytes: int) -> dcc.Upload:
    """A drop zone for one CSV/Excel file."""
    return dcc.Upload(
        id=id_,
        children=html.Div(["Drop a file here or ", html.A("choose one")]),
        className="border border-2 border-secondary-subtle rounded p-4 text-center mb-3",
        max_size=max_bytes,
        accept=".csv,.txt,.tsv,.xlsx",
    )


def row_errors_table(errors: list, id_: str, limit: int = 200) -> dbc.Table:
    """The rows left out of an upload: file row number, column, problem."""
    header = html.Thead(html.Tr([html.Th("Row"), html.Th("Column"), html.Th("Problem")]))
    rows = [html.Tr([html.Td(e.row), html.Td(e.column), html.Td(e.problem)]) for e in errors[:limit]]
    return dbc.Table([header, html.Tbody(rows)], size="sm", id=id_)
