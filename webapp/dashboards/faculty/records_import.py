"""Import an institution's academic records: upload, map columns onto Aula's fields, validate, store."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from core.db import session
from core.models import MappingPreset
from ml.data.academic_fields import DEFAULT_PASS_MARK, SIGNALS_BY_NAME
from ml.data.academic_import import (
    ACADEMIC,
    CANONICAL_FIELDS,
    ColumnMapping,
    ImportFormatError,
    MappingError,
    academic_mapping,
    apply_mapping,
    read_table,
    suggest_mapping,
)
from ml.data.academic_sql import store_import
from webapp.dashboards.components import row_errors_table, upload_area
from webapp.dashboards.faculty.model_quality import republish_note
from webapp.uploads import files

KIND = "imports"
EXTRA, IGNORE = "__extra__", "__ignore__"
SCALABLE = {f.name: f.default_max or f.scale for f in ACADEMIC.fields if f.scalable}  # field -> default "out of"
FIELD_OPTIONS = [
    {"label": "(keep as an extra field)", "value": EXTRA},
    {"label": "(ignore)", "value": IGNORE},
] + [
    {"label": f"{name} — {SIGNALS_BY_NAME[name].label}" if name in SIGNALS_BY_NAME else name, "value": name}
    for name in CANONICAL_FIELDS
]


def layout() -> html.Div:
    return html.Div(
        [
            html.P(
                "Bring your institution's records (CSV, semicolon or comma separated, UTF-8 or Latin-1, or Excel). "
                "Past terms with a known result become training data for the next retraining; rows with problems "
                "are reported and left out, every valid row is kept.",
                className="text-muted",
            ),
            upload_area("import-upload", files.MAX_UPLOAD_BYTES),
            dcc.Store(id="import-file"),
            dcc.Loading(html.Div(id="import-mapping")),
            dcc.Loading(html.Div(id="import-report", className="mt-3")),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("import-mapping", "children"),
        Output("import-file", "data"),
        Input("import-upload", "contents"),
        State("import-upload", "filename"),
        prevent_initial_call=True,
    )
    def upload(contents: str | None, filename: str | None):
        if not contents:
            return no_update, no_update
        try:
            raw = files.decode_dash_upload(contents)
            frame = read_table(raw, filename or "upload.csv")
            token = files.save(KIND, current_user.id, filename or "upload.csv", raw)
        except (ImportFormatError, files.UploadError) as exc:
            return dbc.Alert(f"{filename}: {exc}", color="danger"), None
        return _mapping_form(list(frame.columns), len(frame), filename or ""), {"token": token, "filename": filename}

    @app.callback(
        Output({"type": "import-field", "column": ALL}, "value"),
        Input("import-preset", "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        prevent_initial_call=True,
    )
    def apply_preset(preset_id: int | None, ids: list[dict]):
        preset = session.get(MappingPreset, int(preset_id)) if preset_id else None
        if preset is None or preset.kind != ACADEMIC.kind:
            return no_update
        saved = ColumnMapping.from_dict(preset.mapping)
        return [saved.fields.get(i["column"], EXTRA if i["column"] in saved.extra else IGNORE) for i in ids]

    @app.callback(
        Output({"type": "import-scale", "column": ALL}, "value"),
        Output({"type": "import-scale", "column": ALL}, "disabled"),
        Input({"type": "import-field", "column": ALL}, "value"),
        State({"type": "import-scale", "column": ALL}, "value"),
        State("import-preset", "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        prevent_initial_call=True,
    )
    def scales_follow_fields(fields: list[str], current: list, preset_id: int | None, ids: list[dict]):
        """Each scalable field has its own "out of" (a 0-20 grade file does not make attendance 0-20): a column
        whose field changes gets that field's saved or default maximum; the others keep what was typed."""
        preset = session.get(MappingPreset, int(preset_id)) if preset_id else None
        saved = ColumnMapping.from_dict(preset.mapping).scales if preset and preset.kind == ACADEMIC.kind else {}
        changed = {i["column"] for i in (ctx.triggered_prop_ids or {}).values() if isinstance(i, dict)}
        values = [
            None
            if field not in SCALABLE
            else (saved.get(field, SCALABLE[field]) if i["column"] in changed or value in (None, "") else value)
            for field, value, i in zip(fields, current, ids, strict=True)
        ]
        return values, [field not in SCALABLE for field in fields]

    @app.callback(
        Output("import-report", "children"),
        Input("import-run", "n_clicks"),
        State("import-file", "data"),
        State({"type": "import-field", "column": ALL}, "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        State({"type": "import-scale", "column": ALL}, "value"),
        State("import-default-term", "value"),
        State("import-pass-mark", "value"),
        State("import-save-as", "value"),
        prevent_initial_call=True,
    )
    def run_import(n_clicks, file_info, fields, ids, scales, default_term, pass_mark, save_as):
        if not n_clicks:  # the button was just created with the mapping form, not pressed
            return no_update
        mapping = _mapping(ids, fields, scales, default_term, pass_mark)
        try:
            filename, raw = files.load(KIND, current_user.id, (file_info or {}).get("token", ""))
            result = apply_mapping(read_table(raw, filename), mapping)
        except (ImportFormatError, MappingError, files.UploadError) as exc:
            return dbc.Alert(f"Nothing imported: {exc}", color="danger")
        if result.n_valid_rows == 0:
            return _report(result, None, "Nothing imported: no row is valid.")
        try:
            batch = store_import(
                result.records,
                filename=filename,
                mapping=mapping.to_dict(),
                uploaded_by=current_user.email,
                n_rows=result.n_rows,
            )
        except SQLAlchemyError as exc:
            return dbc.Alert(f"Nothing imported: the database refused the rows ({type(exc).__name__}).", color="danger")
        if save_as and save_as.strip():
            MappingPreset.save(ACADEMIC.kind, save_as, mapping.to_dict(), current_user.email)
            session.commit()
        current = "passed" not in result.records or bool(result.records["passed"].isna().any())
        return _report(result, batch.id, None, republish_note(current_user.email) if current else "")


def _mapping_form(columns: list[str], n_rows: int, filename: str) -> html.Div:
    suggested = suggest_mapping(columns)
    presets = MappingPreset.for_kind(ACADEMIC.kind)
    rows = [
        dbc.Row(
            [
                dbc.Col(html.Code(column), md=4),
                dbc.Col(
                    dcc.Dropdown(
                        id={"type": "import-field", "column": column},
                        options=FIELD_OPTIONS,
                        value=suggested.get(column, EXTRA),
                        clearable=False,
                    ),
                    md=6,
                ),
                dbc.Col(
                    dbc.InputGroup(
                        [
                            dbc.InputGroupText("out of", className="small"),
                            dbc.Input(
                                id={"type": "import-scale", "column": column},
                                type="number",
                                min=0,
                                value=SCALABLE.get(suggested.get(column, "")),
                                disabled=suggested.get(column) not in SCALABLE,
                                size="sm",
                            ),
                        ],
                        size="sm",
                    ),
                    md=2,
                ),
            ],
            className="mb-1 align-items-center",
        )
        for column in columns
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Map the {len(columns)} columns of {filename} ({n_rows:,} rows)", className="h6"),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Dropdown(
                                id="import-preset",
                                options=[{"label": p.name, "value": p.id} for p in presets],
                                placeholder="Use a saved mapping…",
                            ),
                            md=6,
                        ),
                    ],
                    className="mb-3",
                ),
                *rows,
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Term (when the file has no term column)", className="small"),
                                dbc.Input(id="import-default-term", placeholder="e.g. 2025-2"),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Pass mark (0-100)", className="small"),
                                dbc.Input(id="import-pass-mark", type="number", value=50, min=0, max=100),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Save this mapping as", className="small"),
                                dbc.Input(id="import-save-as", placeholder="optional name"),
                            ],
                            md=3,
                        ),
                    ],
                    className="mt-3",
                ),
                dbc.Button("Validate and import", id="import-run", color="primary", className="mt-3"),
            ]
        )
    )


def _mapping(ids: list[dict], fields: list[str], scales: list, default_term, pass_mark) -> ColumnMapping:
    chosen = {i["column"]: f for i, f in zip(ids, fields, strict=True) if f not in (EXTRA, IGNORE)}
    declared = {
        field: float(scale)
        for field, scale in zip(fields, scales, strict=True)
        if field in SCALABLE and scale not in (None, "") and float(scale) != SCALABLE[field]
    }
    return academic_mapping(
        chosen,
        extra=[i["column"] for i, f in zip(ids, fields, strict=True) if f == EXTRA],
        scales=declared,
        default_term=(default_term or "").strip() or None,
        pass_mark=float(pass_mark if pass_mark is not None else DEFAULT_PASS_MARK),
    )


def _report(result, batch_id: int | None, failure: str | None, republished: str = "") -> html.Div:
    headline = failure or (
        f"Imported {result.n_valid_rows:,} of {result.n_rows:,} rows (batch {batch_id}). "
        + (f"{result.n_invalid_rows:,} rows had problems and were left out. " if result.n_invalid_rows else "")
        + (republished or "Retrain at_risk from the admin page to learn from them.")
    )
    colour = "danger" if failure else ("warning" if result.n_invalid_rows else "success")
    return html.Div(
        [
            dbc.Alert(headline, color=colour, id="import-summary"),
            row_errors_table(result.errors, "import-errors", limit=len(result.errors)) if result.errors else None,
            html.Small(f"The first {len(result.errors):,} of {result.n_errors:,} problems are listed.")
            if result.errors_truncated
            else None,
        ]
    )
