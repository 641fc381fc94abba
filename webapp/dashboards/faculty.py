"""Faculty view (/faculty/): students at risk of failing, early."""

from __future__ import annotations

from dash import html
from flask import Flask

from webapp.dashboards.components import empty_state, make_dash


def mount(server: Flask) -> None:
    make_dash(server, "/faculty/", "Faculty", layout)


def layout() -> html.Div:
    return html.Div([html.H1("Faculty", className="h3"), empty_state("No at-risk model yet", "Run demo seed.")])
