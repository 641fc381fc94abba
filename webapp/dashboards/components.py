"""Shared Dash pieces: the app factory every audience uses, the navbar, KPI cards, empty states."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, dcc, html
from flask import Flask, jsonify
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from webapp.auth import visible_sections

STYLESHEETS = ["/static/vendor/bootstrap.min.css", "/static/css/aula.css"]


class CallbackInputError(ValueError):
    """A callback received a value it cannot use (unknown id, wrong type): answered 400 with the message,
    never a 500. Raise it from any callback that validates its inputs."""


def callback_int(value: object, what: str) -> int:
    """`value` as an id, or CallbackInputError naming what was expected."""
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CallbackInputError(f"{what} must be a number, not {value!r}") from None
    if number != value and not (isinstance(value, str) and value.strip().isdigit()):
        raise CallbackInputError(f"{what} must be a whole number, not {value!r}")
    return number


def callback_choice(value: object, choices, what: str) -> str:
    """`value` if it is one of `choices`, else CallbackInputError listing them."""
    if value not in choices:
        raise CallbackInputError(f"{what} must be one of {', '.join(map(str, choices))}, not {value!r}")
    return value  # type: ignore[return-value]


def _install_callback_errors(server: Flask) -> None:
    if server.extensions.get("aula_callback_errors"):
        return
    server.extensions["aula_callback_errors"] = True

    @server.errorhandler(CallbackInputError)
    def _bad_callback_input(error: CallbackInputError):
        return jsonify(error=str(error)), 400


class _ThreadSafeDash(Dash):
    """Dash whose first-request setup finishes before any other thread's request is served.

    Dash marks its setup done before doing it (plotly/dash#3971), so under gunicorn's threaded workers the
    requests that arrive with the first one fail: "... is not a registered library", 500.
    """

    def __init__(self, *args, **kwargs):
        self._setup_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _setup_server(self) -> None:
        with self._setup_lock:
            super()._setup_server()


def make_dash(server: Flask, prefix: str, title: str, body: Callable[[], html.Div]) -> Dash:
    """A Dash app at `prefix` whose layout is the shared navbar plus `body()`, built per page load."""
    app = _ThreadSafeDash(
        __name__,
        server=server,
        url_base_pathname=prefix,
        title=f"{title} · Aula",
        external_stylesheets=STYLESHEETS,
        suppress_callback_exceptions=True,
        serve_locally=True,  # the machine may have no internet; every asset comes from this server
        update_title=None,
    )
    app.layout = lambda: html.Div([navbar(), dbc.Container(body(), fluid=True, className="py-3")])
    server.extensions.setdefault("dash_apps", {})[prefix] = app
    _install_callback_errors(server)
    return app


def navbar() -> dbc.Navbar:
    brand = html.A("Aula", href="/", className="navbar-brand fw-semibold")
    if not current_user.is_authenticated:  # Dash validates the layout once outside any user's request
        return dbc.Navbar(dbc.Container([brand], fluid=True), color="primary", dark=True)
    links = [
        dbc.NavItem(dbc.NavLink(label, href=path, external_link=True)) for label, path in visible_sections(current_user)
    ]
    sign_out = html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Button("Sign out", className="btn btn-outline-light btn-sm", type="submit"),
        ],
        method="POST",
        action="/logout",
        className="d-inline",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                brand,
                dbc.Nav(links, className="me-auto", navbar=True),
                html.Span(f"{current_user.email} · {current_user.role}", className="navbar-text text-white-50 me-3"),
                sign_out,
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
    )


def kpi_card(label: str, value: str, id_: str | None = None, hint: str = "") -> dbc.Card:
    value_props = {"id": id_} if id_ else {}
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(label, className="kpi-label"),
                html.Div(value, className="kpi-value", **value_props),
                html.Small(hint, className="text-muted") if hint else None,
            ]
        ),
        className="kpi-card h-100",
    )


def empty_state(title: str, text: str) -> dbc.Alert:
    return dbc.Alert([html.H2(title, className="h5"), html.P(text, className="mb-0")], color="secondary")


def labelled(label: str, control, md: int = 2) -> dbc.Col:
    """A form control with its label above it, as a column of a `dbc.Row` of controls."""
    return dbc.Col([dbc.Label(label, className="small fw-semibold mb-1"), control], md=md)


def upload_area(id_: str, max_bytes: int, accept: str = ".csv,.txt,.tsv,.xlsx", multiple: bool = False) -> html.Div:
    """A drop zone; a file above `max_bytes` is refused in the browser with a message beside the zone
    (assets/upload_limit.js), instead of nothing happening."""
    return html.Div(
        [
            dcc.Upload(
                id=id_,
                children=html.Div(
                    [f"Drop {'files' if multiple else 'a file'} here or ", html.A("choose")]
                    + [html.Small(f" (up to {max_bytes // 2**20} MB)", className="text-muted")]
                ),
                className="border border-2 border-secondary-subtle rounded p-4 text-center mb-2",
                max_size=max_bytes,
                accept=accept,
                multiple=multiple,
            ),
            html.Div(className="upload-zone-message alert alert-danger d-none", role="alert", id=f"{id_}-limit"),
        ],
        **{"data-max-bytes": str(max_bytes)},
        className="mb-3",
    )


def row_errors_table(errors: list, id_: str, limit: int = 200) -> dbc.Table:
    """The rows left out of an upload: file row number, column, problem."""
    header = html.Thead(html.Tr([html.Th("Row"), html.Th("Column"), html.Th("Problem")]))
    entries = [e if isinstance(e, dict) else {"row": e.row, "column": e.column, "problem": e.problem} for e in errors]
    rows = [html.Tr([html.Td(e["row"]), html.Td(e["column"]), html.Td(e["problem"])]) for e in entries[:limit]]
    return dbc.Table([header, html.Tbody(rows)], size="sm", id=id_)


# --- model quality: the same widgets for every task's "Model quality" tab ------------------------


def model_badge(version, id_: str = "model-badge") -> html.Span:
    """The production version, flagged wherever it is shown when it does not beat its simple baseline."""
    badge = dbc.Badge(f"{version.task} model v{version.version}", color="info", className="ms-2", id=id_)
    if version.metrics.get("beats_baseline"):
        return html.Span(badge)
    warning = dbc.Badge(
        "no better than the simple baseline",
        color="warning",
        text_color="dark",
        className="ms-1",
        title="Its evaluation does not show it beating the simple rule; see Model quality.",
        id=f"{id_}-baseline",
    )
    return html.Span([badge, warning])


def verdict(sentence: str, good: bool, id_: str = "model-verdict") -> dbc.Alert:
    """The one-sentence verdict on a model, green only when it beats its baseline."""
    return dbc.Alert(sentence, color="success" if good else "warning", id=id_)


def metrics_table(
    model: dict,
    baselines: dict[str, dict],
    metrics: Sequence[tuple[str, str]],
    *,
    model_label: str = "Model",
    baseline_labels: dict[str, str] | None = None,
    id_: str = "metrics-table",
) -> dbc.Table:
    """Each metric for the model beside every simple baseline on the same evaluation data."""
    labels = baseline_labels or {}
    header = [html.Th("Metric"), html.Th(model_label)] + [html.Th(labels.get(name, name)) for name in baselines]
    rows = [
        html.Tr(
            [html.Td(label), html.Td(fmt(model.get(key)))]
            + [html.Td(fmt(figures.get(key))) for figures in baselines.values()]
        )
        for key, label in metrics
    ]
    return dbc.Table([html.Thead(html.Tr(header)), html.Tbody(rows)], size="sm", className="table-metrics", id=id_)


def confusion_matrix(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], id_: str = "confusion-matrix"
) -> dbc.Table:
    """Rows: the true class; columns: the predicted class."""
    header = html.Tr([html.Th("")] + [html.Th(f"Predicted {label}") for label in labels])
    body = [
        html.Tr([html.Th(str(label))] + [html.Td(f"{int(n):,}") for n in row])
        for label, row in zip(labels, matrix, strict=True)
    ]
    return dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", bordered=True, className="w-auto", id=id_)


def binary_confusion(confusion: dict, negative: str, positive: str, id_: str = "confusion-matrix") -> dbc.Table:
    """`confusion_matrix` of a binary task's {"tn", "fp", "fn", "tp"}."""
    matrix = [[confusion.get("tn", 0), confusion.get("fp", 0)], [confusion.get("fn", 0), confusion.get("tp", 0)]]
    return confusion_matrix(matrix, [negative, positive], id_=id_)


def class_report_table(report: dict, id_: str = "class-report") -> dbc.Table:
    """scikit-learn's classification report: per class, then the macro and weighted averages."""
    header = html.Tr([html.Th(h) for h in ("Class", "Precision", "Recall", "F1", "Support")])
    rows = [
        html.Tr(
            [
                html.Td(label),
                html.Td(fmt(f["precision"])),
                html.Td(fmt(f["recall"])),
                html.Td(fmt(f["f1"])),
                html.Td(f"{f['support']:,}"),
            ]
        )
        for label, f in report["per_class"].items()
    ]
    for name in ("macro", "weighted"):
        f = report[name]
        rows.append(
            html.Tr(
                [html.Td(f"{name} average"), html.Td(fmt(f["precision"])), html.Td(fmt(f["recall"])),
                 html.Td(fmt(f["f1"])), html.Td(f"{report['n']:,}")],
                className="table-light",
            )
        )  # fmt: skip
    rows.append(html.Tr([html.Td("accuracy"), html.Td(""), html.Td(""), html.Td(fmt(report["accuracy"])), html.Td("")]))
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", className="table-metrics", id=id_)


def classification_curves(curves: dict, positive: str = "positive") -> go.Figure:
    """ROC, precision-recall and calibration side by side, with axis titles."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=3, subplot_titles=("ROC", "Precision–recall", "Calibration"))
    roc, pr = curves.get("roc") or {}, curves.get("pr") or {}
    figure.add_trace(go.Scatter(x=roc.get("fpr"), y=roc.get("tpr"), name="ROC"), 1, 1)
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], line={"dash": "dot", "color": "grey"}, name="chance"), 1, 1)
    figure.add_trace(go.Scatter(x=pr.get("recall"), y=pr.get("precision"), name="PR"), 1, 2)
    calibration = curves.get("calibration") or []
    figure.add_trace(
        go.Scatter(
            x=[b["mean_predicted"] for b in calibration],
            y=[b["fraction_positive"] for b in calibration],
            mode="lines+markers",
            name="calibration",
        ),
        1,
        3,
    )
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], line={"dash": "dot", "color": "grey"}, name="perfect"), 1, 3)
    axes = (
        ("False positive rate", "True positive rate (recall)"),
        ("Recall", "Precision"),
        ("Predicted probability", f"Observed share {positive}"),
    )
    for col, (x_title, y_title) in enumerate(axes, start=1):
        figure.update_xaxes(title_text=x_title, range=[0, 1], row=1, col=col)
        figure.update_yaxes(title_text=y_title, range=[0, 1.02], row=1, col=col)
    figure.update_layout(
        height=340, showlegend=False, template="plotly_white", margin={"l": 50, "r": 10, "t": 40, "b": 50}
    )
    return figure


def residuals_figure(sample: dict, unit: str = "") -> go.Figure:
    """Predicted against actual values (a residual sample), with the line of perfect forecasts."""
    predicted, actual = sample.get("predicted") or [], sample.get("actual") or []
    top = max([*predicted, *actual, 1])
    figure = go.Figure(
        [
            go.Scattergl(x=predicted, y=actual, mode="markers", marker={"size": 5, "opacity": 0.5}, name="sessions"),
            go.Scatter(x=[0, top], y=[0, top], line={"dash": "dot", "color": "grey"}, name="perfect"),
        ]
    )
    suffix = f" ({unit})" if unit else ""
    figure.update_layout(
        height=340,
        showlegend=False,
        template="plotly_white",
        xaxis_title=f"Forecast{suffix}",
        yaxis_title=f"Actual{suffix}",
        margin={"l": 50, "r": 10, "t": 20, "b": 50},
    )
    return figure


def group_table(groups: dict, columns: Sequence[tuple[str, str]], id_: str = "group-metrics") -> dbc.Table:
    """Figures per level of each grouping (e.g. sex, age band, stage): `columns` are (key, heading)."""
    header = html.Tr([html.Th("Group")] + [html.Th(heading) for _, heading in columns])
    rows = [
        html.Tr([html.Td(f"{attribute}: {value}")] + [html.Td(fmt(figures.get(key))) for key, _ in columns])
        for attribute, values in groups.items()
        for value, figures in values.items()
    ]
    return dbc.Table([html.Thead(header), html.Tbody(rows)], size="sm", className="table-metrics", id=id_)


def fmt(value) -> str:
    """A figure for a table: counts with thousands separators, shares and scores with 3 decimals."""
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.3f}"


# --- background jobs started from a view ------------------------------------------------------


def job_progress(id_: str) -> html.Div:
    """Live progress of a job a view queued: put the run id in `<id>-run`; `<id>-done` receives
    {"kind", "result", "error"} when it ends. Register its poller with `register_job_progress`."""
    return html.Div(
        [
            dcc.Store(id=f"{id_}-run"),
            dcc.Store(id=f"{id_}-done"),
            dcc.Interval(id=f"{id_}-tick", interval=1000, disabled=True),
            html.Div(id=f"{id_}-status"),
        ]
    )


def register_job_progress(app: Dash, id_: str) -> None:
    from dash import Input, Output, no_update

    from core.db import session
    from core.models import JobRun
    from jobs import queue

    @app.callback(
        Output(f"{id_}-status", "children"),
        Output(f"{id_}-tick", "disabled"),
        Output(f"{id_}-done", "data"),
        Input(f"{id_}-run", "data"),
        Input(f"{id_}-tick", "n_intervals"),
        prevent_initial_call=True,
    )
    def poll(run_id, _ticks):
        if not run_id:
            return None, True, no_update
        run = session.get(JobRun, callback_int(run_id, "job run"))
        if run is None or not (current_user.may("admin") or run.requested_by == current_user.email):
            raise CallbackInputError(f"no job run {run_id} of yours")
        queue.reconcile()
        session.refresh(run)
        percent, message = queue.live_progress(run)
        if run.is_open:
            bar = dbc.Progress(value=percent, label=f"{percent} %", striped=True, animated=True, className="mb-1")
            return html.Div([bar, html.Small(f"{run.kind}: {message}", className="text-muted")]), False, no_update
        done = {"kind": (run.params or {}).get("step"), "result": run.result, "error": run.error}
        return None, True, done
