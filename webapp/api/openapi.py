"""The OpenAPI 3.1 document of API v1, built from the routes Flask actually has."""

from __future__ import annotations

from flask import current_app

# Route summaries; a route missing here still appears, so the document never hides an endpoint.
SUMMARIES = {
    "api.me": "The signed-in user",
    "api.models": "Model registry versions (admin); ?task= filters",
    "api.retrain": "Queue retraining of a task (admin); returns the job run",
    "api.job": "A job run with live progress (admin)",
    "api.openapi": "This document",
    "api.at_risk": "Stored at-risk predictions (faculty); ?term=&course=&checkpoint=&limit=",
    "api.score_at_risk": (
        "Score records (faculty): a JSON record or list (fast), or a CSV/Excel file; JSON, or CSV with Accept: text/csv"
    ),
    "api.score_engagement": "Engagement of the faces in one image (faculty): multipart `file`; boxes, probabilities",
    "api.import_records": "Import academic records (faculty): file + optional mapping; ?dry_run=1 validates only",
}


def document() -> dict:
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = {
                "summary": SUMMARIES.get(rule.endpoint, rule.endpoint),
                "operationId": rule.endpoint.removeprefix("api."),
                "parameters": [
                    {"name": arg, "in": "path", "required": True, "schema": {"type": "string"}}
                    for arg in sorted(rule.arguments)
                ],
                "responses": {
                    "200": {"description": "OK"},
                    "401": {"description": "Not signed in"},
                    "403": {"description": "Role may not"},
                },
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Aula API", "version": "1"},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
