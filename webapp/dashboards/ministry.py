"""Ministry view (/ministry/): school enrollment forecasts from the School Census.

The census data and the enrollment model arrive with the ministry capability; until then the page says so.
"""

from __future__ import annotations

from dash import html
from flask import Flask

from webapp.dashboards.components import empty_state, make_dash


def mount(server: Flask) -> None:
    make_dash(server, "/ministry/", "Ministry", layout)


def layout() -> html.Div:
    return html.Div(
        [
            html.H1("Ministry", className="h3"),
            empty_state(
                "No census data yet",
                "Enrollment forecasts per school and education stage appear here once School Census years are "
                "loaded (flask --app wsgi census refresh) and the enrollment model is trained.",
            ),
        ]
    )
