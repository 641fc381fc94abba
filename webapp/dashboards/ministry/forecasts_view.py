"""Forecasts: national -> UF -> municipality -> school, history and next year's forecast with its interval by
stage, the schools that grow or shrink most, and capacity (students per teacher and per class next year).

Every callback reads prepared rows (`ml.enrollment.store`): a few indexed queries, whatever the scale.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from core.csv_export import to_csv
from ml.census.geography import UF_BY_CODE
from ml.enrollment import store
from webapp.dashboards.components import CallbackInputError, kpi_card, labelled
from webapp.dashboards.ministry import data

GRAPH_CONFIG = {"displayModeBar": False}
STAGE_COLOURS = {"model": "#0d6efd", "history": "#212529", "cohort": "#fd7e14"}


def layout(version, years: tuple[int, int]) -> html.Div:
    uf_options = [{"label": "All Brazil", "value": ""}] + [
        {"label": f"{UF_BY_CODE[code].sigla} · {UF_BY_CODE[code].name}", "value": code}
        for code, _ in store.ufs(version.id)
        if code in UF_BY_CODE
    ]
    return html.Div(
        [
            dbc.Row(
                [
                    labelled("UF", dcc.Dropdown(id="ministry-uf", options=uf_options, value=""), md=3),
                    labelled("Municipality", dcc.Dropdown(id="ministry-municipality", options=[]), md=3),
                    labelled("School", dcc.Dropdown(id="ministry-school", options=[]), md=3),
                    labelled(
                        "Stage",
                        dcc.Dropdown(
                            id="ministry-stage", options=data.stage_options(), value=data.TOTAL, clearable=False
                        ),
                        md=3,
                    ),
                ],
                className="g-3 mb-3",
            ),
            html.Div(id="ministry-kpis", className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(dcc.Graph(id="ministry-history", config=GRAPH_CONFIG), md=7),
                    dbc.Col(html.Div(id="ministry-stages"), md=5),
                ]
            ),
            html.H2("Schools with the largest forecast change", className="h5 mt-3"),
            dbc.Row(
                [
                    dbc.Col([html.H3("Growth", className="h6"), html.Div(id="ministry-growth")], md=6),
                    dbc.Col([html.H3("Decline", className="h6"), html.Div(id="ministry-decline")], md=6),
                ]
            ),
            html.Div(
                [
                    dbc.Button(
                        "Download the selection's forecasts (CSV)",
                        id="ministry-csv-button",
                        size="sm",
                        color="secondary",
                        outline=True,
                    ),
                    dcc.Download(id="ministry-csv"),
                ],
                className="mb-3",
            ),
            html.H2("Capacity next year", className="h5 mt-3"),
            html.P(
                f"Next year's forecast students over this year's ({years[0]}) teachers and classes in the stage: "
                "where classes fill up first if nothing changes.",
                className="text-muted small",
            ),
            html.Div(id="ministry-capacity"),
            html.Div(id="ministry-school-panel", className="mt-4"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("ministry-municipality", "options"),
        Output("ministry-municipality", "value"),
        Input("ministry-uf", "value"),
    )
    def municipality_options(uf):
        version = data.production_version()
        where = data.area(version.id, uf, None)
        if where.level == "country":
            return [], None
        return [{"label": name, "value": code} for code, name in store.municipalities(version.id, where.co_uf)], None

    @app.callback(
        Output("ministry-school", "options"),
        Output("ministry-school", "value"),
        Input("ministry-uf", "value"),
        Input("ministry-municipality", "value"),
    )
    def school_options(uf, municipality):
        version = data.production_version()
        where = data.area(version.id, uf, municipality)
        if where.level != "municipality":
            return [], None
        schools = store.schools_in(version.id, where.co_municipio)
        return [{"label": f"{name} ({code})", "value": code} for code, name in schools], None

    @app.callback(
        Output("ministry-kpis", "children"),
        Output("ministry-history", "figure"),
        Output("ministry-stages", "children"),
        Input("ministry-uf", "value"),
        Input("ministry-municipality", "value"),
        Input("ministry-stage", "value"),
    )
    def area_view(uf, municipality, stage):
        version = data.production_version()
        where, stage = data.area(version.id, uf, municipality), data.stage(stage)
        series = store.area_series(version.id, where.level, where.code, stage)
        year = store.forecast_year(version.id)
        stages = store.area_stages(version.id, where.level, where.code, (year - 1, year))
        name = stages["name"].iloc[0] if len(stages) else ""
        figure = history_figure(series, f"{name}: {data.stage_label(stage)}")
        return _kpis(series, year), figure, _stage_table(stages, year)

    @app.callback(
        Output("ministry-growth", "children"),
        Output("ministry-decline", "children"),
        Output("ministry-capacity", "children"),
        Input("ministry-uf", "value"),
        Input("ministry-municipality", "value"),
        Input("ministry-stage", "value"),
    )
    def school_lists(uf, municipality, stage):
        version = data.production_version()
        where, stage = data.area(version.id, uf, municipality), data.stage(stage)
        within = {"co_uf": where.co_uf, "co_municipio": where.co_municipio}
        growth = store.movers(version.id, stage, growth=True, **within)
        decline = store.movers(version.id, stage, growth=False, **within)
        crowded = store.crowded(version.id, stage, **within)
        return (
            _movers_table(growth[growth["change"] > 0], "ministry-growth-table"),
            _movers_table(decline[decline["change"] < 0], "ministry-decline-table"),
            _capacity_table(crowded),
        )

    @app.callback(
        Output("ministry-csv", "data"),
        Input("ministry-csv-button", "n_clicks"),
        Input("ministry-uf", "value"),
        Input("ministry-municipality", "value"),
        Input("ministry-stage", "value"),
        prevent_initial_call=True,
    )
    def download(n_clicks, uf, municipality, stage):
        from dash import ctx, no_update

        if ctx.triggered_id != "ministry-csv-button" or not n_clicks:
            return no_update
        version = data.production_version()
        where, stage = data.area(version.id, uf, municipality), data.stage(stage)
        rows = store.movers(
            version.id, stage, co_uf=where.co_uf, co_municipio=where.co_municipio, limit=store.CSV_LIMIT
        )
        return {"content": to_csv(rows), "filename": f"enrollment_forecasts_{stage}_{where.level}_{where.code}.csv"}

    @app.callback(
        Output("ministry-school-panel", "children"),
        Input("ministry-uf", "value"),
        Input("ministry-municipality", "value"),
        Input("ministry-school", "value"),
    )
    def school_panel(uf, municipality, school):
        version = data.production_version()
        where = data.area(version.id, uf, municipality, school)
        if where.school is None:
            return None
        return _school_panel(version.id, where.school)


def history_figure(series, title: str) -> go.Figure:
    """The census counts year by year, then next year's forecast with its interval and cohort survival's."""
    counted = series[series["enrollment"].notna()]
    ahead = series[series["forecast"].notna()]
    figure = go.Figure(
        go.Scatter(
            x=counted["year"].tolist(),
            y=counted["enrollment"].tolist(),
            mode="lines+markers",
            name="census",
            line={"color": STAGE_COLOURS["history"]},
        )
    )
    if len(ahead) and len(counted):
        last = counted.iloc[-1]
        row = ahead.iloc[-1]
        figure.add_trace(
            go.Scatter(
                x=[last["year"], row["year"]],
                y=[last["enrollment"], row["forecast"]],
                mode="lines+markers",
                name="forecast",
                line={"dash": "dash", "color": STAGE_COLOURS["model"]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [0, row["upper"] - row["forecast"]],
                    "arrayminus": [0, row["forecast"] - row["lower"]],
                },
            )
        )
        figure.add_trace(
            go.Scatter(
                x=[row["year"]],
                y=[row["cohort"]],
                mode="markers",
                name="cohort survival",
                marker={"symbol": "x", "size": 10, "color": STAGE_COLOURS["cohort"]},
            )
        )
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=340,
        template="plotly_white",
        yaxis_title="Students",
        xaxis={"dtick": 1},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 10, "t": 40, "b": 40},
    )
    return figure


def _kpis(series, year: int) -> dbc.Row:
    counted = series[series["enrollment"].notna()]
    ahead = series[series["forecast"].notna()]
    if not len(counted) or not len(ahead):
        return dbc.Alert("No forecast for this selection (no school here had students in the stage).", color="light")
    last, row = counted.iloc[-1], ahead.iloc[-1]
    change = (row["forecast"] - last["enrollment"]) / last["enrollment"] if last["enrollment"] else None
    cards = [
        kpi_card(f"Students {int(last['year'])}", f"{last['enrollment']:,.0f}", "kpi-last"),
        kpi_card(
            f"Forecast {year}",
            f"{row['forecast']:,.0f}",
            "kpi-forecast",
            f"{row['lower']:,.0f} to {row['upper']:,.0f}, 80 % interval",
        ),
        kpi_card("Change", f"{change:+.1%}" if change is not None else "—", "kpi-change"),
        kpi_card(
            "Students per teacher next year",
            _per(row["forecast"], last["teachers"]),
            "kpi-per-teacher",
            f"{_per(last['enrollment'], last['teachers'])} this year",
        ),
        kpi_card(
            "Students per class next year",
            _per(row["forecast"], last["classes"]),
            "kpi-per-class",
            f"{_per(last['enrollment'], last['classes'])} this year",
        ),
    ]
    return dbc.Row([dbc.Col(card) for card in cards], className="g-2")


def _stage_table(stages, year: int) -> dbc.Table:
    now = stages[stages["year"] == year - 1].set_index("stage")
    ahead = stages[stages["year"] == year].set_index("stage")
    header = html.Tr(
        [
            html.Th(h)
            for h in ("Stage", f"{year - 1}", f"Forecast {year}", "80 % interval", "Change", "Per class next year")
        ]
    )
    rows = []
    for code in data.STAGE_CHOICES:
        if code not in ahead.index:
            continue
        counted = now["enrollment"].get(code)
        f = ahead.loc[code]
        change = (f["forecast"] - counted) / counted if counted else None
        classes = now["classes"].get(code)
        rows.append(
            html.Tr(
                [
                    html.Td(data.stage_label(code)),
                    html.Td(f"{counted:,.0f}" if counted is not None else "—"),
                    html.Td(f"{f['forecast']:,.0f}"),
                    html.Td(f"{f['lower']:,.0f}–{f['upper']:,.0f}"),
                    html.Td(f"{change:+.1%}" if change is not None else "—"),
                    html.Td(_per(f["forecast"], classes)),
                ]
            )
        )
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", className="table-metrics", id="stage-table")


def _movers_table(rows, id_: str):
    if rows.empty:
        return html.P("None in this selection.", className="text-muted small", id=id_)
    header = html.Tr([html.Th(h) for h in ("School", "Municipality", "This year", "Forecast", "Change")])
    body = [
        html.Tr(
            [
                html.Td(f"{r.name or r.co_entidade} ({r.co_entidade})"),
                html.Td(f"{r.municipality or ''} {r.uf or ''}"),
                html.Td(f"{r.last:,}"),
                html.Td(f"{r.forecast:,.0f} ({r.lower:,.0f}–{r.upper:,.0f})"),
                html.Td(f"{r.change:+,.0f}"),
            ]
        )
        for r in rows.itertuples()
    ]
    return dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", id=id_)


def _capacity_table(rows):
    if rows.empty:
        return html.P(
            "No school here reports classes in this stage.", className="text-muted small", id="ministry-capacity-table"
        )
    header = html.Tr(
        [
            html.Th(h)
            for h in (
                "School",
                "Municipality",
                "Forecast",
                "Classes now",
                "Per class next year",
                "Per teacher next year",
            )
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(f"{r.name or r.co_entidade} ({r.co_entidade})"),
                html.Td(f"{r.municipality or ''} {r.uf or ''}"),
                html.Td(f"{r.forecast:,.0f}"),
                html.Td(f"{r.classes:,.0f}" if r.classes == r.classes else "—"),
                html.Td(_per(r.forecast, r.classes)),
                html.Td(_per(r.forecast, r.teachers)),
            ]
        )
        for r in rows.itertuples()
    ]
    return dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", id="ministry-capacity-table")


def _school_panel(version_id: int, co_entidade: int) -> html.Div:
    found = store.school(co_entidade)
    forecasts = store.school_forecasts(version_id, co_entidade)
    if found is None or forecasts.empty:
        raise CallbackInputError(f"no forecast for school {co_entidade}")
    stages = [s for s in data.STAGE_CHOICES if s in set(forecasts["stage"]) and s != data.TOTAL]
    history = store.school_history(co_entidade, stages)
    figure = go.Figure(
        [
            go.Scatter(
                x=history["year"].tolist(), y=history[s].tolist(), mode="lines+markers", name=data.stage_label(s)
            )
            for s in stages
        ]
    )
    for s in stages:
        row = forecasts[forecasts["stage"] == s].iloc[0]
        figure.add_trace(
            go.Scatter(
                x=[row["year"]],
                y=[row["forecast"]],
                mode="markers",
                showlegend=False,
                name=f"{s} forecast",
                marker={"symbol": "diamond", "size": 9},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [row["upper"] - row["forecast"]],
                    "arrayminus": [row["forecast"] - row["lower"]],
                },
            )
        )
    figure.update_layout(
        height=320,
        template="plotly_white",
        yaxis_title="Students",
        xaxis={"dtick": 1},
        margin={"l": 60, "r": 10, "t": 20, "b": 40},
    )
    header = html.Tr([html.Th(h) for h in ("Stage", "This year", "Forecast", "80 % interval", "Why")])
    body = [
        html.Tr(
            [
                html.Td(data.stage_label(r.stage)),
                html.Td(f"{r.last:,}"),
                html.Td(f"{r.forecast:,.0f}"),
                html.Td(f"{r.lower:,.0f}–{r.upper:,.0f}"),
                html.Td(r.explanation or "the sum of its stages", className="small"),
            ]
        )
        for r in forecasts.set_index("stage").loc[[*stages, data.TOTAL]].reset_index().itertuples()
    ]
    return html.Div(
        [
            html.H2(f"{found.name} ({found.co_entidade}) · {found.municipality} {found.uf}", className="h5"),
            dcc.Graph(figure=figure, config=GRAPH_CONFIG),
            dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", id="school-forecasts"),
            html.P(
                "Why: the baseline the model starts from and the largest SHAP contributions of the model's "
                "correction, in students.",
                className="text-muted small",
            ),
        ],
        id="school-detail",
    )


def _per(students, count) -> str:
    return f"{students / count:.1f}" if count and count == count and students == students else "—"
