"""Model quality: the enrollment model beside both baselines, walk-forward, per stage, per size band, with its
interval coverage, and what drives it (global SHAP importance)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from webapp.dashboards.components import callback_choice, fmt, group_table, metrics_table, residuals_figure, verdict
from webapp.dashboards.ministry import data

METRICS = (
    ("mae", "MAE (students)"),
    ("rmse", "RMSE (students)"),
    ("wape", "WAPE"),
    ("r2", "R²"),
    ("bias", "Bias (students; + = over-forecast)"),
    ("interval_coverage", "Interval coverage (later test years)"),
)
SIZE_COLUMNS = (
    ("n", "School-years"),
    ("wape", "WAPE model"),
    ("cohort_survival_wape", "WAPE cohort survival"),
    ("same_as_last_year_wape", "WAPE same as last year"),
    ("mae", "MAE model"),
)
POOLED = "pooled"
GRAPH_CONFIG = {"displayModeBar": False}
COLOURS = {"model": "#0d6efd", "cohort_survival": "#fd7e14", "same_as_last_year": "#6c757d"}


def layout(version) -> html.Div:
    detail = version.metrics.get("detail", {})
    years = detail.get("test_years", [])
    stages = list(detail.get("stages", {}))
    options = [{"label": "All stages pooled", "value": POOLED}] + [
        {"label": data.stage_label(s), "value": s} for s in stages
    ]
    return html.Div(
        [
            html.P(
                f"enrollment v{version.version}, trained {version.created_at:%Y-%m-%d} on census years "
                f"{version.data_summary.get('first_year', '?')}-{detail.get('trained_through', '?')}. Walk-forward: "
                f"each of {', '.join(map(str, years))} was forecast by boosters fitted on the years before it only "
                "(expanding window). Figures are on student counts, beside both baselines on the same rows.",
                className="text-muted",
            ),
            verdict(detail.get("sentence", ""), bool(version.metrics.get("beats_baseline")), id_="enrollment-verdict"),
            _gate_table(detail.get("gate", {})),
            dbc.Row(
                dbc.Col(dcc.Dropdown(id="quality-stage", options=options, value=POOLED, clearable=False), md=4),
                className="my-3",
            ),
            html.Div(id="quality-detail"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(Output("quality-detail", "children"), Input("quality-stage", "value"))
    def stage_quality(stage):
        version = data.production_version()
        detail = version.metrics.get("detail", {})
        choice = callback_choice(stage, [POOLED, *detail.get("stages", {})], "stage")
        if choice == POOLED:
            return _pooled(detail)
        return _stage(choice, detail["stages"][choice], detail.get("baseline_labels", {}))


def _gate_table(gate: dict) -> dbc.Table:
    """Per stage: the model's WAPE, the best baseline's, the 95 % interval of the difference, the verdict."""
    header = html.Tr(
        [
            html.Th(h)
            for h in (
                "Stage",
                "WAPE model",
                "Best baseline",
                "WAPE baseline",
                "Difference (95 % interval)",
                "Beats it?",
            )
        ]
    )
    rows = []
    for stage, g in gate.get("groups", {}).items():
        difference = g.get("difference") or {}
        rows.append(
            html.Tr(
                [
                    html.Td(data.stage_label(stage)),
                    html.Td(fmt(g.get("model"))),
                    html.Td(g.get("baseline_name", "").replace("_", " ")),
                    html.Td(fmt(g.get("baseline"))),
                    html.Td(f"{fmt(difference.get('low'))} to {fmt(difference.get('high'))}"),
                    html.Td(
                        "yes" if g.get("beats_baseline") else "NO",
                        className="" if g.get("beats_baseline") else "text-danger fw-semibold",
                    ),
                ]
            )
        )
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", className="table-metrics", id="gate-table")


def _pooled(detail: dict) -> html.Div:
    pooled = detail.get("pooled", {})
    return html.Div(
        [
            metrics_table(
                pooled.get("model", {}),
                pooled.get("baselines", {}),
                METRICS,
                model_label="Model (LightGBM + XGBoost)",
                baseline_labels=detail.get("baseline_labels", {}),
                id_="quality-metrics",
            ),
            dcc.Graph(figure=walk_forward_figure(detail), config=GRAPH_CONFIG, id="walk-forward-chart"),
            html.H3("Per size of school (students in the stage last year)", className="h6 mt-3"),
            group_table({"size": detail.get("sizes", {})}, SIZE_COLUMNS, id_="size-table"),
        ]
    )


def _stage(stage: str, figures: dict, labels: dict) -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        [
                            metrics_table(
                                figures.get("model", {}),
                                figures.get("baselines", {}),
                                METRICS,
                                model_label="Model (LightGBM + XGBoost)",
                                baseline_labels=labels,
                                id_="quality-metrics",
                            ),
                            html.H3("Per size of school", className="h6 mt-3"),
                            group_table({"size": figures.get("sizes", {})}, SIZE_COLUMNS, id_="size-table"),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        dcc.Graph(
                            figure=residuals_figure(figures.get("residuals", {}), unit="students"), config=GRAPH_CONFIG
                        ),
                        md=6,
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(dcc.Graph(figure=stage_years_figure(figures), config=GRAPH_CONFIG), md=6),
                    dbc.Col(
                        dcc.Graph(
                            figure=importance_figure(figures.get("importance", [])),
                            config=GRAPH_CONFIG,
                            id="shap-importance",
                        ),
                        md=6,
                    ),
                ]
            ),
        ]
    )


def walk_forward_figure(detail: dict) -> go.Figure:
    """WAPE per stage and test year: the model's bars beside both baselines'."""
    figure = go.Figure()
    stages = detail.get("stages", {})
    for name in ("model", "cohort_survival", "same_as_last_year"):
        x, y = [], []
        for stage, figures in stages.items():
            for year, by_year in figures.get("by_year", {}).items():
                x.append(f"{stage} {year}")
                y.append((by_year.get(name) or {}).get("wape"))
        label = "model" if name == "model" else detail.get("baseline_labels", {}).get(name, name)
        figure.add_trace(go.Bar(x=x, y=y, name=label, marker_color=COLOURS[name]))
    figure.update_layout(
        barmode="group",
        height=360,
        template="plotly_white",
        yaxis_title="WAPE (lower is better)",
        title={"text": "Walk-forward WAPE per stage and test year", "font": {"size": 14}},
        legend={"orientation": "h", "y": -0.35},
        margin={"l": 60, "r": 10, "t": 40, "b": 90},
    )
    return figure


def stage_years_figure(figures: dict) -> go.Figure:
    """The stage's national total in each test year: counted, forecast by the model and by both baselines (schools
    open the year before; newcomers are not in these sums)."""
    years = sorted(figures.get("by_year", {}), key=int)
    by_year = figures.get("by_year", {})
    figure = go.Figure()
    for key, label, colour in (
        ("actual_total", "census", "#212529"),
        ("forecast_total", "model", COLOURS["model"]),
        ("cohort_survival_total", "cohort survival", COLOURS["cohort_survival"]),
        ("same_as_last_year_total", "same as last year", COLOURS["same_as_last_year"]),
    ):
        figure.add_trace(
            go.Scatter(
                x=years,
                y=[by_year[y].get(key) for y in years],
                mode="lines+markers",
                name=label,
                line={"color": colour},
            )
        )
    figure.update_layout(
        height=320,
        template="plotly_white",
        yaxis_title="Students (schools open the year before)",
        title={"text": "Test years, all schools summed", "font": {"size": 14}},
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 70, "r": 10, "t": 40, "b": 60},
    )
    return figure


def importance_figure(importance: list) -> go.Figure:
    """Global SHAP importance: mean |SHAP value| of each feature, in students."""
    top = list(reversed(importance[:12]))
    figure = go.Figure(
        go.Bar(x=[row[2] for row in top], y=[row[1] for row in top], orientation="h", marker_color=COLOURS["model"])
    )
    figure.update_layout(
        height=360,
        template="plotly_white",
        xaxis_title="Mean |SHAP value| (students)",
        title={"text": "What moves the model's correction (SHAP)", "font": {"size": 14}},
        margin={"l": 260, "r": 10, "t": 40, "b": 50},
    )
    return figure
