"""Model quality: the production model's figures beside simple baselines, curves, per-group errors, rules."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from core.models import ModelVersion
from jobs import queue, tasks
from ml.at_risk import store
from ml.at_risk.labels import label_and_unit
from ml.at_risk.recommend import ANY_SEGMENT
from webapp.dashboards.components import (
    CallbackInputError,
    binary_confusion,
    callback_choice,
    classification_curves,
    fmt,
    group_table,
    metrics_table,
    verdict,
)
from webapp.dashboards.faculty import data

METRICS = (
    ("accuracy", "Accuracy (at the alert threshold)"),
    ("accuracy_at_05", "Accuracy (at 0.5)"),
    ("precision", "Precision (fail)"),
    ("recall", "Recall (fail)"),
    ("f1", "F1 (fail)"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier (lower is better)"),
)
BASELINE_NAMES = {"majority": "Majority class", "latest_grade": "Latest grade below pass mark"}
GROUP_COLUMNS = (
    ("n", "Students"),
    ("positive_rate", "Fail rate"),
    ("recall", "Recall"),
    ("precision", "Precision"),
    ("f1", "F1"),
    ("roc_auc", "ROC-AUC"),
)
GRAPH_CONFIG = {"displayModeBar": False}


def layout(version: ModelVersion) -> html.Div:
    return html.Div(
        [
            html.P(
                f"Production model v{version.version}, trained {version.created_at:%Y-%m-%d} on "
                f"{version.data_summary.get('rows', '?')} past enrollments; evaluated on the latest past term "
                f"({version.metrics.get('detail', {}).get('evaluation_term', '?')}), which it never saw.",
                className="text-muted",
            ),
            html.Div(id="model-quality"),
            html.H2("Recommendation rules", className="h5 mt-4"),
            html.P(
                'Risk band × segment → what to do; "*" is any segment the band does not name. Admins edit an '
                "action and press Save; the stored list is then rescored.",
                className="text-muted small",
            ),
            dag.AgGrid(
                id="rules-grid",
                columnDefs=[
                    {"field": "risk_band", "headerName": "Band", "width": 110},
                    {"field": "segment", "headerName": "Segment (* = any other)", "width": 220},
                    {"field": "action", "headerName": "Action", "flex": 1, "editable": _is_admin()},
                ],
                rowData=_rules_rows(),
                defaultColDef={"resizable": True},
                style={"height": "360px"},
            ),
            dbc.Button(
                "Save rules",
                id="rules-save",
                color="primary",
                size="sm",
                className="mt-2",
                disabled=not _is_admin(),
            ),
            html.Div(id="rules-message", className="mt-2"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(Output("model-quality", "children"), Input("checkpoint", "value"))
    def quality(checkpoint: str):
        version = data.production_version()
        stored = version.metrics.get("detail", {}).get("checkpoints", {})
        detail = stored.get(callback_choice(checkpoint, list(stored), "checkpoint"))
        return _quality(detail, version.metrics.get("detail", {}).get("left_out", {}))

    @app.callback(
        Output("rules-message", "children"),
        Input("rules-save", "n_clicks"),
        State("rules-grid", "rowData"),
        prevent_initial_call=True,
    )
    def save_rules(n_clicks, rows: list[dict]):
        if not n_clicks:
            return no_update
        if not _is_admin():
            raise CallbackInputError("recommendation rules are edited by admins; faculty see them here")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise CallbackInputError("the rules table arrived malformed")
        current = {(r["risk_band"], r["segment"]): r["action"] for r in _rules_rows()}
        changed = [r for r in rows if current.get((r.get("risk_band"), r.get("segment"))) != r.get("action")]
        if not changed:
            return dbc.Alert("No rule changed.", color="secondary")
        try:
            for r in changed:
                store.save_rule(
                    str(r.get("risk_band")), str(r.get("segment")), r.get("action") or "", current_user.email
                )
        except ValueError as exc:
            return dbc.Alert(f"Not saved: {exc}.", color="danger")
        return dbc.Alert(f"Saved {len(changed)} rule(s). {republish_note(current_user.email)}", color="success")


def republish_note(requested_by: str) -> str:
    """Queue the at-risk list's republish and say when it will show the change."""
    try:
        run = tasks.request_publish("at_risk", requested_by, "recommendation rules changed")
    except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
        return f"The stored list could not be rescored now ({exc}); an admin can republish at_risk."
    if run.kind == "publish at_risk":
        return f"The stored list is being rescored (job {run.id}); it shows the change in a minute."
    return f"The stored list is rescored once {run.kind} (job {run.id}) finishes."


def _quality(detail: dict, left_out: dict) -> html.Div:
    chosen = detail["chosen"]
    model_figures = detail["candidates"][chosen]
    baselines = detail.get("baselines", {})
    recall = model_figures.get("recall")
    return html.Div(
        [
            verdict(detail.get("sentence", ""), bool(detail.get("beats_baseline"))),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            metrics_table(
                                model_figures,
                                baselines,
                                METRICS,
                                model_label=f"Model ({chosen.replace('_', ' ')})",
                                baseline_labels=BASELINE_NAMES,
                            ),
                            html.P(
                                f"{model_figures.get('n', 0):,} enrollments evaluated"
                                + (
                                    f" ({detail['withdrawn_left_out']:,} who had withdrawn by then left out)"
                                    if detail.get("withdrawn_left_out")
                                    else ""
                                )
                                + f". Alert threshold {detail.get('deployed_threshold', detail['threshold']):.2f} "
                                "on P(fail), chosen on training data for a recall target of 80 % of failing "
                                f"students; measured recall on the evaluation term: {fmt(recall)}.",
                                className="small text-muted",
                                id="threshold-note",
                            ),
                            binary_confusion(model_figures.get("confusion", {}), "pass", "fail"),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        dcc.Graph(figure=classification_curves(detail["curves"], "failing"), config=GRAPH_CONFIG),
                        md=7,
                    ),
                ]
            ),
            html.H3("Per group", className="h6 mt-3"),
            group_table(detail.get("groups", {}), GROUP_COLUMNS),
            html.P(
                "Fields this model leaves out: "
                + "; ".join(f"{label_and_unit(f)[0]} ({why})" for f, why in left_out.items()),
                className="small text-muted",
                id="left-out-fields",
            )
            if left_out
            else None,
        ]
    )


def _rules_rows() -> list[dict]:
    version = data.production_version()
    model_rules = version.params.get("rules") if version else None
    rules = store.effective_rules(model_rules)
    return [
        {"risk_band": band, "segment": segment, "action": action}
        for band, actions in rules.items()
        for segment, action in sorted(actions.items(), key=lambda item: (item[0] == ANY_SEGMENT, item[0]))
    ]


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.may("admin")
