"""One Dash app per audience, mounted on the Flask server under its own prefix."""

from __future__ import annotations

from flask import Flask


def mount_dashboards(app: Flask) -> None:
    from webapp.dashboards import facilities, faculty, ministry

    for audience in (faculty, facilities, ministry):
        audience.mount(app)
