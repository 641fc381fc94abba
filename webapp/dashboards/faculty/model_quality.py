"""Model quality: the production model's figures beside simple baselines, curves, per-group errors, rules."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from core.models import ModelVersion
from ml.at_risk import store
from ml.at_risk.recommend import ANY_SEGMENT
from webapp.dashboards.faculty import data

METRICS = (
    ("accuracy", "Accuracy"),
    ("precision", "Precision (fail)"),
    ("recall", "Recall (fail)"),
    ("f1", "F1 (fail)"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier (lower is better)"),
)
BASELINE_NAMES = {"majority": "Majority class", "latest_grade": "Latest grade below pass mark"}


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
                "Risk band × segment → what to do. Edit an action and press Save: the at-risk list uses it at once.",
                className="text-muted small",
            ),
            dag.AgGrid(
                id="rules-grid",
                columnDefs=[
                    {"field": "risk_band", "headerName": "Band", "width": 110},
                    {"field": "segment", "headerName": "Segment (* = any other)", "width": 220},
                    {"field": "action", "headerName": "Action", "flex": 1, "editable": True},
                ],
                rowData=_rules_rows(),
                defaultColDef={"resizable": True},
                style={"height": "360px"},
            ),
            dbc.Button("Save rules", id="rules-save", color="primary", size="sm", className="mt-2"),
            html.Div(id="rules-message", className="mt-2"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(Output("model-quality", "children"), Input("checkpoint", "value"))
    def quality(checkpoint: str):
        version = data.production_version()
        detail = version.metrics.get("detail", {}).get("checkpoints", {}).get(checkpoint)
        if not detail:
            return dbc.Alert(f"No evaluation stored for checkpoint {checkpoint}.", color="warning")
        return _quality(detail)

    @app.callback(
        Output("rules-message", "children"),
        Input("rules-save", "n_clicks"),
        State("rules-grid", "rowData"),
        prevent_initial_call=True,
    )
    def save_rules(n_clicks, rows: list[dict]):
        if not n_clicks:
            return no_update
        current = {(r["risk_band"], r["segment"]): r["action"] for r in _rules_rows()}
        changed = [r for r in rows if current.get((r["risk_band"], r["segment"])) != r["action"]]
        try:
            updated = sum(
                store.save_rule(r["risk_band"], r["segment"], r["action"] or "", current_user.email) for r in changed
            )
        except ValueError as exc:
            return dbc.Alert(f"Not saved: {exc}.", color="danger")
        return dbc.Alert(f"Saved {len(changed)} rule(s); {updated} stored recommendations updated.", color="success")


def _quality(detail: dict) -> html.Div:
    chosen = detail["chosen"]
    model_figures = detail["candidates"][chosen]
    baselines = detail.get("baselines", {})
    header = [html.Th("Metric"), html.Th(f"Model ({chosen.replace('_', ' ')})")] + [
        html.Th(BASELINE_NAMES.get(name, name)) for name in baselines
    ]
    rows = [
        html.Tr(
            [html.Td(label), html.Td(_fmt(model_figures.get(key)))]
            + [html.Td(_fmt(figures.get(key))) for figures in baselines.values()]
        )
        for key, label in METRICS
    ]
    verdict_colour = "success" if detail.get("beats_baseline") else "warning"
    return html.Div(
        [
            dbc.Alert(detail.get("sentence", ""), color=verdict_colour, id="model-verdict"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Table(
                                [html.Thead(html.Tr(header)), html.Tbody(rows)], size="sm", className="table-metrics"
                            ),
                            html.P(
                                f"Alert threshold {detail.get('deployed_threshold', detail['threshold']):.2f} "
                                "on P(fail), chosen on training data for 80 % recall of failing students.",
                                className="small text-muted",
                            ),
                            _confusion(model_figures.get("confusion", {})),
                        ],
                        md=5,
                    ),
                    dbc.Col(dcc.Graph(figure=_curves(detail["curves"]), config={"displayModeBar": False}), md=7),
                ]
            ),
            html.H3("Per group", className="h6 mt-3"),
            _groups(detail.get("groups", {})),
        ]
    )


def _confusion(confusion: dict) -> dbc.Table:
    cell = lambda key: html.Td(f"{confusion.get(key, 0):,}")  # noqa: E731
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(""), html.Th("Predicted pass"), html.Th("Predicted fail")])),
            html.Tbody(
                [
                    html.Tr([html.Th("Passed"), cell("tn"), cell("fp")]),
                    html.Tr([html.Th("Failed"), cell("fn"), cell("tp")]),
                ]
            ),
        ],
        size="sm",
        bordered=True,
        className="w-auto",
        id="confusion-matrix",
    )


def _curves(curves: dict) -> go.Figure:
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=3, subplot_titles=("ROC", "Precision–recall", "Calibration"))
    roc, pr = curves.get("roc", {}), curves.get("pr", {})
    figure.add_trace(go.Scatter(x=roc.get("fpr"), y=roc.get("tpr"), name="ROC"), 1, 1)
    figure.add_trace(go.Scatter(x=pr.get("recall"), y=pr.get("precision"), name="PR"), 1, 2)
    calibration = curves.get("calibration", [])
    figure.add_trace(
        go.Scatter(
            x=[b["mean_predicted"] for b in calibration],
            y=[b["fraction_fail"] for b in calibration],
            mode="lines+markers",
            name="calibration",
        ),
        1,
        3,
    )
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], line={"dash": "dot", "color": "grey"}, showlegend=False), 1, 3)
    figure.update_layout(
        height=320, showlegend=False, template="plotly_white", margin={"l": 30, "r": 10, "t": 40, "b": 30}
    )
    return figure


def _groups(groups: dict) -> dbc.Table:
    header = html.Tr([html.Th(h) for h in ("Group", "Students", "Fail rate", "Recall", "Precision", "F1", "ROC-AUC")])
    rows = [
        html.Tr(
            [
                html.Td(f"{attribute}: {value}"),
                html.Td(f"{figures.get('n', 0):,}"),
                html.Td(_fmt(figures.get("fail_rate"))),
                html.Td(_fmt(figures.get("recall"))),
                html.Td(_fmt(figures.get("precision"))),
                html.Td(_fmt(figures.get("f1"))),
                html.Td(_fmt(figures.get("roc_auc"))),
            ]
        )
        for attribute, values in groups.items()
        for value, figures in values.items()
    ]
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", className="table-metrics", id="group-metrics")


def _rules_rows() -> list[dict]:
    version = data.production_version()
    model_rules = version.params.get("rules") if version else None
    rules = store.effective_rules(model_rules)
    return [
        {"risk_band": band, "segment": segment, "action": action}
        for band, actions in rules.items()
        for segment, action in sorted(actions.items(), key=lambda item: (item[0] == ANY_SEGMENT, item[0]))
    ]


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"
