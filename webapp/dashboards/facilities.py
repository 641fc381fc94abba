"""Facilities view (/facilities/): attendance forecasts, overcrowding, venue utilisation.

The campus data and models arrive with the facilities capability; until then the page says so.
"""

from __future__ import annotations

from dash import html
from flask import Flask

from webapp.dashboards.components import empty_state, make_dash


def mount(server: Flask) -> None:
    make_dash(server, "/facilities/", "Facilities", layout)


def layout() -> html.Div:
    return html.Div(
        [
            html.H1("Facilities", className="h3"),
            empty_state(
                "No campus data yet",
                "Attendance forecasts, overcrowding risk and venue utilisation appear here once venues, class "
                "sessions and attendance observations are loaded and the occupancy models are trained.",
            ),
        ]
    )
