"""Import campus files: venues, the timetable or attendance observations; map columns, check, import, report."""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from core.db import session
from core.models import MappingPreset
from ml.data import campus_import
from ml.data.campus_import import (
    KINDS,
    SCHEMAS,
    CampusImportConflict,
    ColumnMapping,
    ImportFormatError,
    MappingError,
    campus_mapping,
    import_campus,
    read_table,
    suggest_mapping,
)
from webapp.dashboards.components import CallbackInputError, callback_choice, row_errors_table, upload_area
from webapp.dashboards.facilities import data
from webapp.uploads import files

UPLOAD_KIND = "campus"
IGNORE = "__ignore__"
KIND_LABELS = {
    "venues": "Venues (rooms and buildings)",
    "timetable": "Timetable (sections, rooms, weekday and time)",
    "observations": "Observations (head counts, surveys, Wi-Fi, CO2)",
}
# Numbered weekdays differ between countries: the person says which convention the file uses.
WEEKDAY_NUMBERS = {
    "names": ("Names only (Mon, segunda...)", {}),
    "iso": ("1 = Monday ... 7 = Sunday", {d: [str(i + 1)] for i, d in enumerate(campus_import.FULL_WEEKDAYS)}),
    "brazil": (
        "2 = Monday ... 6 = Friday (segunda = 2ª)",
        {d: [str(i + 2), f"{i + 2}a"] for i, d in enumerate(campus_import.FULL_WEEKDAYS[:5])},
    ),
    "zero": ("0 = Monday ... 6 = Sunday", {d: [str(i)] for i, d in enumerate(campus_import.FULL_WEEKDAYS)}),
}

# What the mapping form holds for `ui_mapping` (each column's field, the settings); the import and download read it.
MAPPING_FORM = (
    State({"type": "campus-field", "column": ALL}, "value"),
    State({"type": "campus-field", "column": ALL}, "id"),
    State("campus-default-term", "value"),
    State("campus-weekday-numbers", "value"),
    State("campus-survey-max", "value"),
)


def layout() -> html.Div:
    return html.Div(
        [
            html.P(
                "Bring your campus's own files (CSV or Excel): first the venues, then the timetable, then what was "
                "measured at each session -- head counts, survey shares, Wi-Fi devices or CO2, whichever you have. "
                "Rows with problems are listed and left out; every good row is kept.",
                className="text-muted",
            ),
            dbc.RadioItems(
                id="campus-kind",
                options=[{"label": KIND_LABELS[k], "value": k} for k in KINDS],
                value="venues",
                className="mb-2",
            ),
            upload_area("campus-upload", files.MAX_UPLOAD_BYTES),
            dcc.Store(id="campus-file"),
            dcc.Loading(html.Div(id="campus-mapping")),
            dcc.Loading(html.Div(id="campus-report", className="mt-3")),
            dcc.Download(id="campus-mapping-download"),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("campus-mapping", "children"),
        Output("campus-file", "data"),
        Input("campus-upload", "contents"),
        Input("campus-kind", "value"),
        State("campus-upload", "filename"),
        State("campus-file", "data"),
        prevent_initial_call=True,
    )
    def upload(contents: str | None, kind: str, filename: str | None, stored: dict | None):
        kind = callback_choice(kind, KINDS, "the import kind")
        try:
            if ctx.triggered_id == "campus-upload" and contents:
                raw = files.decode_dash_upload(contents)
                frame = read_table(raw, filename or "upload.csv")
                token = files.save(UPLOAD_KIND, current_user.id, filename or "upload.csv", raw)
                stored = {"token": token, "filename": filename or "upload.csv"}
            elif stored and stored.get("token"):
                name, raw = files.load(UPLOAD_KIND, current_user.id, str(stored["token"]))
                frame = read_table(raw, name)
            else:
                return no_update, no_update
        except (ImportFormatError, files.UploadError) as exc:
            return dbc.Alert(f"{filename}: {exc}", color="danger", id="campus-file-problem"), None
        return mapping_form(kind, list(frame.columns), len(frame), stored["filename"]), stored

    @app.callback(
        Output({"type": "campus-field", "column": ALL}, "value"),
        Input("campus-preset", "value"),
        State({"type": "campus-field", "column": ALL}, "id"),
        State("campus-kind", "value"),
        prevent_initial_call=True,
    )
    def apply_preset(preset_id, ids: list[dict], kind: str):
        preset = session.get(MappingPreset, int(preset_id)) if preset_id else None
        if preset is None or preset.kind != kind:
            return no_update
        saved = ColumnMapping.from_dict(preset.mapping)
        return [saved.fields.get(i["column"], IGNORE) for i in ids]

    @app.callback(
        Output("campus-report", "children"),
        Input("campus-run", "n_clicks"),
        State("campus-check-only", "value"),
        State("campus-kind", "value"),
        State("campus-file", "data"),
        *MAPPING_FORM,
        State("campus-save-as", "value"),
        prevent_initial_call=True,
    )
    def run(n_clicks, check_only, kind, file_info, fields, ids, default_term, numbers, survey_max, save_as):
        if not n_clicks:  # the button was just created with the form, not pressed
            return no_update
        kind = callback_choice(kind, KINDS, "the import kind")
        dry_run = bool(check_only)
        mapping = ui_mapping(kind, ids, fields, default_term, numbers, survey_max)
        try:
            filename, raw = files.load(UPLOAD_KIND, current_user.id, str((file_info or {}).get("token", "")))
            report = import_campus(
                kind, read_table(raw, filename), mapping, filename=filename, uploaded_by=current_user.email,
                dry_run=dry_run,
            )  # fmt: skip
        except (ImportFormatError, MappingError, files.UploadError, CampusImportConflict) as exc:
            return dbc.Alert(f"Nothing imported: {exc}", color="danger", id="campus-summary")
        except SQLAlchemyError as exc:
            session.rollback()
            return dbc.Alert(f"Nothing imported: the database refused the rows ({type(exc).__name__}).",
                             color="danger", id="campus-summary")  # fmt: skip
        if save_as and save_as.strip() and not dry_run:
            MappingPreset.save(kind, save_as, mapping.to_dict(), current_user.email)
            session.commit()
        return report_view(report, data.republish_after_import(report, current_user.email))

    @app.callback(
        Output("campus-mapping-download", "data"),
        Input("campus-download-mapping", "n_clicks"),
        State("campus-kind", "value"),
        *MAPPING_FORM,
        prevent_initial_call=True,
    )
    def download_mapping(n_clicks, kind, fields, ids, default_term, numbers, survey_max):
        if not n_clicks:
            return no_update
        kind = callback_choice(kind, KINDS, "the import kind")
        mapping = ui_mapping(kind, ids, fields, default_term, numbers, survey_max)
        text = json.dumps(mapping.to_dict(), indent=2)
        return {"content": text, "filename": f"{kind}-mapping.json", "type": "application/json"}


def mapping_form(kind: str, columns: list[str], n_rows: int, filename: str) -> dbc.Card:
    schema = SCHEMAS[kind]
    suggested = suggest_mapping(kind, columns)
    options = [{"label": "(ignore)", "value": IGNORE}] + [
        {"label": f"{f.name} — {f.label}" + (" (required)" if f.required else ""), "value": f.name}
        for f in schema.fields
    ]
    rows = [
        dbc.Row(
            [
                dbc.Col(html.Code(column), md=4),
                dbc.Col(
                    dcc.Dropdown(
                        id={"type": "campus-field", "column": column},
                        options=options,
                        value=suggested.get(column, IGNORE),
                        clearable=False,
                    ),
                    md=8,
                ),
            ],
            className="mb-1 align-items-center",
        )
        for column in columns
    ]
    has_days = kind in ("timetable", "observations")
    presets = MappingPreset.for_kind(kind)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Map the {len(columns)} columns of {filename} ({n_rows:,} rows) as {kind}", className="h6"),
                dcc.Dropdown(
                    id="campus-preset",
                    options=[{"label": p.name, "value": p.id} for p in presets],
                    placeholder="Use a saved mapping…",
                    className="mb-3",
                ),
                *rows,
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Term (when the file has no term column)", className="small"),
                                dbc.Input(id="campus-default-term", placeholder="e.g. 2025-2", disabled=not has_days),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Weekdays as numbers", className="small"),
                                dcc.Dropdown(
                                    id="campus-weekday-numbers",
                                    options=[{"label": label, "value": k} for k, (label, _) in WEEKDAY_NUMBERS.items()],
                                    value="names",
                                    clearable=False,
                                    disabled=not has_days,
                                ),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Survey shares are out of", className="small"),
                                dbc.Input(
                                    id="campus-survey-max",
                                    type="number",
                                    value=100,
                                    min=0,
                                    disabled=kind != "observations",
                                ),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Save this mapping as", className="small"),
                                dbc.Input(id="campus-save-as", placeholder="optional name"),
                            ],
                            md=4,
                        ),
                    ],
                    className="mt-3",
                ),
                dbc.Checklist(
                    id="campus-check-only",
                    options=[{"label": "Check only: report every problem, write nothing", "value": "yes"}],
                    value=[],
                    switch=True,
                    className="mt-3",
                ),
                html.Div(
                    [
                        dbc.Button("Check and import", id="campus-run", color="primary", className="me-2"),
                        dbc.Button("Download mapping (JSON, for the CLI)", id="campus-download-mapping", color="link"),
                    ],
                    className="mt-2",
                ),
            ]
        ),
        id="campus-mapping-form",
    )


def ui_mapping(
    kind: str, ids: object, fields: object, default_term: object, numbers: object, survey_max: object
) -> ColumnMapping:
    """The mapping the form describes (unexpected values from the browser are refused with a 400)."""
    if not isinstance(ids, list) or not isinstance(fields, list) or len(ids) != len(fields):
        raise CallbackInputError("the column mapping arrived malformed")
    names = set(SCHEMAS[kind].names)
    chosen = {}
    for i, field_name in zip(ids, fields, strict=True):
        if not isinstance(i, dict) or not isinstance(i.get("column"), str):
            raise CallbackInputError("the column mapping arrived malformed")
        if field_name != IGNORE:
            chosen[i["column"]] = callback_choice(field_name, names, f"the field for column {i['column']!r}")
    values = {}
    if kind in ("timetable", "observations"):
        numbering = callback_choice(numbers or "names", WEEKDAY_NUMBERS, "the weekday numbering")
        if WEEKDAY_NUMBERS[numbering][1]:
            values["weekday"] = WEEKDAY_NUMBERS[numbering][1]
    scales = {}
    if kind == "observations" and survey_max not in (None, "", 100):
        try:
            scales["survey_pct"] = float(survey_max)
        except (TypeError, ValueError):
            raise CallbackInputError("the survey maximum must be a number") from None
    term = default_term.strip() if isinstance(default_term, str) and default_term.strip() else None
    return campus_mapping(kind, chosen, default_term=term, values=values, scales=scales)


def report_view(report: campus_import.CampusImport, after: str = "") -> html.Div:
    colour = "danger" if not report.n_valid else ("warning" if report.n_invalid else "success")
    headline = report.summary() + (" Nothing was written (check only)." if report.dry_run and report.n_valid else "")
    return html.Div(
        [
            dbc.Alert(f"{headline} {after}".strip(), color=colour, id="campus-summary"),
            *[dbc.Alert(w, color="warning") for w in report.warnings],
            row_errors_table(report.errors, "campus-errors", limit=len(report.errors)) if report.errors else None,
            html.Small(f"The first {len(report.errors):,} of {report.n_errors:,} problems are listed.")
            if report.errors_truncated
            else None,
        ]
    )
