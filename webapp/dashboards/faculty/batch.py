"""Batch scoring: upload current-term records, get the scored table on screen and as a CSV download."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from core.csv_export import to_csv
from ml.at_risk import store
from ml.at_risk.batch import score_upload
from ml.data.academic_import import ImportFormatError, MappingError
from webapp.dashboards.components import row_errors_table, upload_area
from webapp.uploads import files

KIND = "scored"
SHOWN_ROWS = 1000


def layout() -> html.Div:
    return html.Div(
        [
            html.P(
                "Upload this term's records (CSV or Excel: student id, course and any signals you have, e.g. "
                "attendance, quiz or midterm scores). Columns are recognised by name; rows with problems are "
                "listed and left out, every other row is scored.",
                className="text-muted",
            ),
            upload_area("batch-upload", files.MAX_UPLOAD_BYTES),
            dcc.Loading(html.Div(id="batch-result")),
            dcc.Store(id="batch-token"),
            dbc.Button("Download scored CSV", id="batch-download-button", color="secondary", disabled=True),
            dcc.Download(id="batch-download"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("batch-result", "children"),
        Output("batch-token", "data"),
        Output("batch-download-button", "disabled"),
        Input("batch-upload", "contents"),
        State("batch-upload", "filename"),
        State("checkpoint", "value"),
        prevent_initial_call=True,
    )
    def score(contents: str | None, filename: str | None, checkpoint: str):
        if not contents:
            return no_update, no_update, no_update
        try:
            raw = files.decode_dash_upload(contents)
            loaded, rules = store.production_model()
            result = score_upload(raw, filename or "upload.csv", loaded.model, checkpoint=checkpoint, rules=rules)
        except (ImportFormatError, MappingError, files.UploadError, LookupError) as exc:
            return dbc.Alert(f"{filename}: {exc}", color="danger"), None, True
        token = files.save(KIND, current_user.id, f"scored-{filename or 'upload'}.csv", to_csv(result.table).encode())
        return _result(result), token, False

    @app.callback(
        Output("batch-download", "data"),
        Input("batch-download-button", "n_clicks"),
        State("batch-token", "data"),
        prevent_initial_call=True,
    )
    def download(n_clicks, token: str | None):
        if not n_clicks:
            return no_update
        try:
            return dcc.send_file(str(files.path_of(KIND, current_user.id, token or "")))
        except files.UploadError:
            return no_update


def _result(result) -> html.Div:
    table = result.table
    summary = f"Scored {len(table):,} of {result.n_rows:,} rows; {int(table['at_risk'].sum()):,} at risk. " + (
        f"{result.n_invalid_rows:,} rows had problems and were left out (below)." if result.n_invalid_rows else ""
    )
    shown = table.head(SHOWN_ROWS).to_dict("records")
    return html.Div(
        [
            dbc.Alert(summary, color="warning" if result.n_invalid_rows else "success", id="batch-summary"),
            dag.AgGrid(
                id="batch-grid",
                columnDefs=[{"field": c} for c in table.columns],
                rowData=shown,
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                dashGridOptions={"pagination": True, "paginationPageSize": 20},
                style={"height": "460px"},
            ),
            html.Small(
                f"The first {SHOWN_ROWS:,} rows are shown; the download has all of them."
                if len(table) > SHOWN_ROWS
                else ""
            ),
            html.Div([html.H3("Rows left out", className="h6 mt-3"), row_errors_table(result.errors, "batch-errors")])
            if result.errors
            else None,
        ]
    )
