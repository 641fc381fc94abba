"""Model quality: both facilities models beside their simple baselines on the test weeks they never trained on,
and (for an admin) the overcrowding limit."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from core.models import ModelVersion
from jobs import queue, tasks
from ml.overcrowding import limit
from webapp.dashboards.components import (
    binary_confusion,
    class_report_table,
    classification_curves,
    fmt,
    group_table,
    metrics_table,
    residuals_figure,
    verdict,
)

REGRESSION_METRICS = (
    ("mae", "MAE (students)"),
    ("rmse", "RMSE (students)"),
    ("r2", "R²"),
    ("wape", "WAPE"),
    ("bias", "Bias (students; + = over-forecast)"),
    ("interval_coverage", "Interval coverage"),
    ("interval_width", "Interval width (students)"),
)
CLASSIFICATION_METRICS = (
    ("accuracy", "Accuracy"),
    ("precision", "Precision (overcrowded)"),
    ("recall", "Recall (overcrowded)"),
    ("f1", "F1 (overcrowded)"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier (lower is better)"),
)
REGRESSION_GROUP_COLUMNS = (
    ("n", "Sessions"),
    ("mae", "MAE"),
    ("wape", "WAPE"),
    ("bias", "Bias"),
    ("interval_coverage", "Coverage"),
)
CLASSIFICATION_GROUP_COLUMNS = (
    ("n", "Sessions"),
    ("positive_rate", "Overcrowded share"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
)
GRAPH_CONFIG = {"displayModeBar": False}


def layout(occupancy: ModelVersion | None, overcrowding: ModelVersion | None) -> html.Div:
    return html.Div(
        [
            html.H2("Attendance forecasts (occupancy)", className="h5"),
            occupancy_quality(occupancy) if occupancy else _none("occupancy"),
            html.H2("Overcrowding risk", className="h5 mt-4"),
            overcrowding_quality(overcrowding) if overcrowding else _none("overcrowding"),
            _limit_setting(overcrowding),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("limit-message", "children"),
        Input("limit-save", "n_clicks"),
        State("limit-share", "value"),
        prevent_initial_call=True,
    )
    def save_limit(n_clicks, percent):
        if not n_clicks:
            return no_update
        if current_user.role != "admin":
            return dbc.Alert("Only an admin may change the overcrowding limit.", color="danger")
        try:
            share = limit.set_share(float(percent) / 100 if percent not in (None, "") else None, current_user.email)
        except (TypeError, ValueError) as exc:
            low, high = (f"{v:.0%}" for v in limit.SHARE_RANGE)
            return dbc.Alert(f"Not saved: enter a share from {low} to {high} of safe capacity ({exc}).", color="danger")
        try:
            run = tasks.enqueue_retrain("overcrowding", current_user.email)
            queued = f"Retraining overcrowding with it (job {run.id})."
        except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
            queued = f"Retrain overcrowding from the admin page to use it ({exc})."
        return dbc.Alert(f"Saved: a session counts as overcrowded above {share:.0%} of safe capacity. {queued}",
                         color="success")  # fmt: skip


def occupancy_quality(version: ModelVersion) -> html.Div:
    detail = version.metrics.get("detail", {})
    split = detail.get("split", {})
    later = detail.get("later_weeks") or {}
    return html.Div(
        [
            _trained_on(version, split),
            verdict(detail.get("sentence", ""), bool(detail.get("beats_baseline")), id_="occupancy-verdict"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            _beside_baselines(detail, REGRESSION_METRICS, "occupancy-metrics"),
                            html.P(
                                f"Coming week: {_percent(detail.get('model', {}).get('interval_coverage'))} of actual "
                                f"attendances fell inside the {detail.get('level', 0.9):.0%} intervals; weeks further "
                                f"ahead: {_percent(later.get('interval_coverage'))} (WAPE {fmt(later.get('wape'))}).",
                                className="small text-muted",
                                id="occupancy-coverage",
                            ),
                            _candidates_table(
                                detail,
                                (("mae", "MAE"), ("wape", "WAPE"), ("r2", "R²"), ("interval_coverage", "Coverage")),
                                "occupancy-candidates",
                            ),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        dcc.Graph(
                            figure=residuals_figure(detail.get("residuals", {}), unit="students"),
                            config=GRAPH_CONFIG,
                            id="occupancy-residuals",
                        ),
                        md=6,
                    ),
                ]
            ),
            html.H3("Per group", className="h6 mt-2"),
            group_table(detail.get("groups", {}), REGRESSION_GROUP_COLUMNS, id_="occupancy-groups"),
            _features(version),
        ]
    )


def overcrowding_quality(version: ModelVersion) -> html.Div:
    detail = version.metrics.get("detail", {})
    model = detail.get("model", {})
    negative, positive = detail.get("class_labels", ("fits", "overcrowded"))
    rule = detail.get("best_baseline", "")
    return html.Div(
        [
            _trained_on(version, detail.get("split", {})),
            verdict(detail.get("sentence", ""), bool(detail.get("beats_baseline")), id_="overcrowding-verdict"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            _beside_baselines(detail, CLASSIFICATION_METRICS, "overcrowding-metrics"),
                            html.P(
                                f"Overcrowded: measured attendance above {detail.get('share', 1.0):.0%} of safe "
                                f"capacity. Alert threshold {fmt(detail.get('threshold'))} on the probability, "
                                "chosen on the calibration weeks for the best F1.",
                                className="small text-muted",
                            ),
                            html.H3("Model: confusion matrix", className="h6"),
                            binary_confusion(
                                model.get("confusion", {}), negative, positive, id_="overcrowding-confusion"
                            ),
                            html.H3("Rule: confusion matrix", className="h6"),
                            binary_confusion(
                                detail.get("baselines", {}).get(rule, {}).get("confusion", {}),
                                negative,
                                positive,
                                id_="overcrowding-rule-confusion",
                            ),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            html.H3("Classification report (model)", className="h6"),
                            class_report_table(detail["class_report"], id_="overcrowding-report")
                            if detail.get("class_report")
                            else None,
                            _candidates_table(
                                detail,
                                (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"), ("pr_auc", "PR-AUC")),
                                "overcrowding-candidates",
                            ),
                        ],
                        md=6,
                    ),
                ]
            ),
            dcc.Graph(
                figure=classification_curves(detail.get("curves", {}), "overcrowded"),
                config=GRAPH_CONFIG,
                id="overcrowding-curves",
            ),
            html.H3("Per room type", className="h6 mt-2"),
            group_table(detail.get("groups", {}), CLASSIFICATION_GROUP_COLUMNS, id_="overcrowding-groups"),
        ]
    )


def _trained_on(version: ModelVersion, split: dict) -> html.P:
    summary = version.data_summary
    sources = summary.get("target_sources", {})
    measured = ", ".join(f"{name} {n:,}" for name, n in sources.items() if n)
    sensors = version.params.get("sensors") or []
    signals = f"; sensor history used: {', '.join(s.replace('_last', '') for s in sensors)}" if sensors else ""
    return html.P(
        f"v{version.version}, trained {version.created_at:%Y-%m-%d} on {summary.get('measured_rows', 0):,} measured "
        f"sessions ({measured}{signals}). Trained on {split.get('train', '?')}, calibrated on "
        f"{split.get('calibration', '?')}, tested on {split.get('test', '?')}, in time order.",
        className="text-muted small",
    )


def _beside_baselines(detail: dict, metrics, id_: str) -> dbc.Table:
    """The chosen candidate's test-week figures beside each baseline's."""
    chosen = detail.get("chosen", "")
    return metrics_table(
        detail.get("model", {}),
        detail.get("baselines", {}),
        metrics,
        model_label=f"Model ({detail.get('candidate_labels', {}).get(chosen, chosen)})",
        baseline_labels=detail.get("baseline_labels", {}),
        id_=id_,
    )


def _candidates_table(detail: dict, columns, id_: str) -> dbc.Table:
    """Every candidate's test-week figures, the chosen one marked."""
    chosen, labels = detail.get("chosen", ""), detail.get("candidate_labels", {})
    header = html.Tr([html.Th("Candidate"), *[html.Th(h) for _, h in columns]])
    rows = [
        html.Tr(
            [html.Td(labels.get(name, name) + (" (chosen)" if name == chosen else ""))]
            + [html.Td(fmt(figures.get(key))) for key, _ in columns]
        )
        for name, figures in detail.get("candidates", {}).items()
    ]
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", className="table-metrics", id=id_)


def _features(version: ModelVersion) -> html.Details:
    labels = version.params.get("feature_labels") or version.params.get("features") or []
    return html.Details(
        [
            html.Summary("What the model reads (known before each session)"),
            html.P(", ".join(labels), className="small"),
        ],
        className="mt-2",
    )


def _limit_setting(overcrowding: ModelVersion | None) -> html.Div:
    admin = getattr(current_user, "role", None) == "admin"
    current = limit.current_share()
    trained = overcrowding.params.get("share") if overcrowding else None
    note = f" The model in production learnt {trained:.0%}." if trained is not None and trained != current else ""
    return html.Div(
        [
            html.H3("Overcrowding limit", className="h6 mt-4"),
            html.P(
                f"A session counts as overcrowded above {current:.0%} of its room's safe capacity.{note}"
                + ("" if admin else " An admin can change it."),
                className="small text-muted",
            ),
            dbc.InputGroup(
                [
                    dbc.Input(
                        id="limit-share",
                        type="number",
                        min=limit.SHARE_RANGE[0] * 100,
                        max=limit.SHARE_RANGE[1] * 100,
                        step=1,
                        value=round(current * 100),
                        disabled=not admin,
                    ),
                    dbc.InputGroupText("% of safe capacity"),
                    dbc.Button("Save and retrain", id="limit-save", disabled=not admin, color="secondary"),
                ],
                size="sm",
                className="w-auto",
            ),
            html.Div(id="limit-message", className="mt-2"),
        ]
    )


def _none(task: str) -> dbc.Alert:
    return dbc.Alert(f"No {task} model is in production yet.", color="secondary")


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"
