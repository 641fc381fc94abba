"""Call a Dash callback the way the browser does: POST /<prefix>/_dash-update-component."""

from __future__ import annotations

import json

from tests.conftest import csrf_token


def find_callback(dash_app, output: str, trigger: str | None = None) -> tuple[str, dict]:
    """The callback whose outputs include `output` ("component.property"); with `trigger`, the one of those whose
    inputs include it (several callbacks may write one output with allow_duplicate)."""
    for key, spec in dash_app.callback_map.items():
        inputs = [f"{d['id']}.{d['property']}" for d in spec["inputs"]]
        if output in [readable(name) for name in output_names(key)] and (trigger is None or trigger in inputs):
            return key, spec
    raise KeyError(f"no callback outputs {output}" + (f" when {trigger} changes" if trigger else ""))


def call(
    client,
    dash_app,
    prefix: str,
    output: str,
    values: dict,
    changed: list[str] | None = None,
    trigger: str | None = None,
) -> tuple[int, dict]:
    """POST a callback with `values` {"component.property": value} for its inputs and states; `changed` names the
    inputs that triggered it (default: every input), as `dash.ctx.triggered_id` sees them; `trigger` picks the
    callback by one of its inputs when several write `output`."""
    key, spec = find_callback(dash_app, output, trigger)

    def output(name: str) -> dict | list:
        id_, prop = name.rsplit(".", 1)
        if id_.startswith("{"):  # pattern-matching (ALL): one entry per concrete id given in values
            pattern = json.loads(id_)
            return [{"id": i, "property": prop} for i, _ in values.get(f"{pattern['type']}.id", [])]
        return {"id": id_, "property": prop}

    outputs = [output(name) for name in output_names(key)]

    def item(dependency: dict) -> dict | list:
        if dependency["id"].startswith("{"):  # pattern-matching (ALL): a list of (id dict, value) pairs
            pattern = json.loads(dependency["id"])
            pairs = values.get(f"{pattern['type']}.{dependency['property']}", [])
            return [{"id": i, "property": dependency["property"], "value": v} for i, v in pairs]
        return {**dependency, "value": values.get(f"{dependency['id']}.{dependency['property']}")}

    body = {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [item(d) for d in spec["inputs"]],
        "state": [item(d) for d in spec.get("state", [])],
        "changedPropIds": changed or [f"{d['id']}.{d['property']}" for d in spec["inputs"]],
    }
    response = client.post(f"{prefix}_dash-update-component", json=body, headers={"X-CSRFToken": csrf_token(client)})
    return response.status_code, (response.get_json(silent=True) or {})


def output_names(key: str) -> list[str]:
    """Dash keys a multi-output callback as "..a.prop...b.prop..", a single one as "a.prop"."""
    return key[2:-2].split("...") if key.startswith("..") else [key]


def readable(name: str) -> str:
    """'{"field":["ALL"],"type":"what-if"}.value' -> 'what-if.value'; "a.b@<hash>" (allow_duplicate) -> "a.b"."""
    id_, prop = name.split("@", 1)[0].rsplit(".", 1)
    return f"{json.loads(id_)['type']}.{prop}" if id_.startswith("{") else f"{id_}.{prop}"


def dash_app_at(flask_app, prefix: str):
    """The Dash app mounted at `prefix` (kept on the Flask app by the dashboards package)."""
    return flask_app.extensions["dash_apps"][prefix]
