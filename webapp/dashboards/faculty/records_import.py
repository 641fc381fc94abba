"""Import an institution's academic records: upload, map columns onto Aula's fields (with each field's scale and
the week from which it is known, and what each outcome value means), validate (a dry run), import.

Small files are read in the request; a workbook or a large file is read, and stored, by a queued job with live
progress, so no web worker is held for minutes.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user

from core.db import session
from core.models import MappingPreset
from jobs import queue, tasks
from ml.data.academic_fields import BEFORE_TERM, DEFAULT_PASS_MARK, END_OF_TERM, SIGNALS_BY_NAME
from ml.data.academic_import import (
    ACADEMIC,
    CANONICAL_FIELDS,
    OUTCOMES,
    ColumnMapping,
    ImportFormatError,
    MappingError,
    academic_mapping,
    describe_table,
    import_records,
    read_table,
    suggest_mapping,
)
from ml.data.import_engine import plain_text
from webapp.dashboards.components import (
    CallbackInputError,
    job_progress,
    row_errors_table,
    upload_area,
)
from webapp.dashboards.faculty.model_quality import republish_note
from webapp.uploads import files

KIND = "imports"
EXTRA, IGNORE = "__extra__", "__ignore__"
UNDATED = "none"
# Read in the request up to this size; a workbook (slow to parse) or anything larger goes to a job.
INLINE_BYTES = 2 * 2**20
SCALABLE = {f.name: f.default_max or f.scale for f in ACADEMIC.fields if f.scalable}  # field -> default "out of"
FIELD_OPTIONS = [
    {"label": "(keep as an extra field)", "value": EXTRA},
    {"label": "(ignore)", "value": IGNORE},
] + [
    {"label": f"{name} — {SIGNALS_BY_NAME[name].label}" if name in SIGNALS_BY_NAME else name, "value": name}
    for name in CANONICAL_FIELDS
]
WEEK_OPTIONS = (
    [{"label": "before the term", "value": str(BEFORE_TERM)}]
    + [{"label": f"from week {w}", "value": str(w)} for w in range(1, 21)]
    + [{"label": "end of the term", "value": str(END_OF_TERM)}, {"label": "not known (not used)", "value": UNDATED}]
)
OUTCOME_OPTIONS = [{"label": code, "value": code} for code in OUTCOMES] + [{"label": "unknown", "value": ""}]


def layout() -> html.Div:
    return html.Div(
        [
            html.P(
                "Bring your institution's records (CSV, semicolon or comma separated, UTF-8 or Latin-1, or Excel). "
                "Say what each column is, how it is scored and from which week it is known; validate to see every "
                "problem before anything is stored; import keeps the valid rows and reports the others. The same "
                "import runs from the command line (flask --app wsgi records import FILE --mapping M.json) and the "
                "API (POST /api/v1/records/import) with a mapping saved here.",
                className="text-muted",
            ),
            upload_area("import-upload", files.MAX_UPLOAD_BYTES),
            dcc.Store(id="import-file"),
            job_progress("import-job"),
            dcc.Loading(html.Div(id="import-mapping")),
            dcc.Loading(html.Div(id="import-report", className="mt-3")),
        ],
        className="pt-3",
    )


def register(app: Dash) -> None:
    @app.callback(
        Output("import-mapping", "children"),
        Output("import-file", "data"),
        Output("import-job-run", "data", allow_duplicate=True),
        Input("import-upload", "contents"),
        State("import-upload", "filename"),
        prevent_initial_call=True,
    )
    def upload(contents: str | None, filename: str | None):
        if not contents:
            return no_update, no_update, no_update
        filename = filename or "upload.csv"
        try:
            raw = files.decode_dash_upload(contents)
            token = files.save(KIND, current_user.id, filename, raw)
            if _needs_job(filename, raw):
                run = tasks.enqueue_upload_read(KIND, token, current_user.id, filename, current_user.email)
                return None, {"token": token, "filename": filename}, run.id
            summary = describe_table(read_table(raw, filename))
        except (ImportFormatError, files.UploadError) as exc:
            return dbc.Alert(f"{filename}: {exc}", color="danger"), None, no_update
        except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
            return dbc.Alert(f"{filename} could not be read in the background: {exc}", color="danger"), None, no_update
        return _mapping_form(summary, filename), {"token": token, "filename": filename, **summary}, no_update

    @app.callback(
        Output("import-mapping", "children", allow_duplicate=True),
        Output("import-file", "data", allow_duplicate=True),
        Input("import-job-done", "data"),
        State("import-file", "data"),
        prevent_initial_call=True,
    )
    def upload_read(done: dict | None, file_info: dict | None):
        """A file read by a job: its mapping form once the job has described it."""
        if not done or done.get("kind") != "read" or not file_info:
            return no_update, no_update
        if done.get("error"):
            return dbc.Alert(f"{file_info['filename']}: {done['error']}", color="danger"), None
        summary = done["result"]
        return _mapping_form(summary, file_info["filename"]), {**file_info, **summary}

    @app.callback(
        Output({"type": "import-field", "column": ALL}, "value"),
        Input("import-preset", "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        prevent_initial_call=True,
    )
    def apply_preset(preset_id, ids: list[dict]):
        saved = _preset(preset_id)
        if saved is None:
            return no_update
        return [saved.fields.get(i["column"], EXTRA if i["column"] in saved.extra else IGNORE) for i in ids]

    @app.callback(
        Output({"type": "import-scale", "column": ALL}, "value"),
        Output({"type": "import-scale", "column": ALL}, "disabled"),
        Output({"type": "import-week", "column": ALL}, "value"),
        Input({"type": "import-field", "column": ALL}, "value"),
        State({"type": "import-scale", "column": ALL}, "value"),
        State({"type": "import-week", "column": ALL}, "value"),
        State("import-preset", "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        prevent_initial_call=True,
    )
    def field_defaults(fields: list[str], scales: list, weeks: list, preset_id, ids: list[dict]):
        """A column whose field changes takes that field's own (or the saved mapping's) scale and week; each
        scalable field has its own "out of", so a 0-20 grade file does not make attendance 0-20."""
        saved = _preset(preset_id) or academic_mapping({})
        changed = {i["column"] for i in (ctx.triggered_prop_ids or {}).values() if isinstance(i, dict)}
        new_scales, new_weeks = [], []
        for field, scale, week, i in zip(fields, scales, weeks, ids, strict=True):
            fresh = i["column"] in changed
            if field in SCALABLE:
                new_scales.append(saved.scales.get(field, SCALABLE[field]) if fresh or scale in (None, "") else scale)
            else:
                new_scales.append(None)
            new_weeks.append(_week_value(_default_week(field, i["column"], saved)) if fresh else week)
        return new_scales, [field not in SCALABLE for field in fields], new_weeks

    @app.callback(
        Output("import-outcomes", "children"),
        Input({"type": "import-field", "column": ALL}, "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        State("import-file", "data"),
        State("import-preset", "value"),
    )
    def outcome_values(fields: list[str], ids: list[dict], file_info: dict | None, preset_id):
        """Which of the outcome column's values mean pass, fail and withdrawn (e.g. Distinction -> pass)."""
        column = next((i["column"] for i, f in zip(ids, fields, strict=True) if f == "passed"), None)
        if column is None or not file_info:
            return None
        values = (file_info.get("distinct") or {}).get(column)
        if values is None:
            return dbc.Alert(f"'{column}' has too many different values to list; say what they mean in a saved "
                             "mapping (values) or map a yes/no column instead.", color="warning")  # fmt: skip
        saved = _preset(preset_id)
        spelled = saved.values.get("passed", {}) if saved else {}
        return html.Div(
            [
                html.H3(f"What the values of '{column}' mean", className="h6 mt-3"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(value, className="small mb-0"),
                                dbc.Select(
                                    id={"type": "import-outcome", "value": value},
                                    options=OUTCOME_OPTIONS,
                                    value=_outcome_of(value, spelled),
                                    size="sm",
                                ),
                            ],
                            md=3,
                            className="mb-2",
                        )
                        for value in values
                    ]
                ),
            ]
        )

    @app.callback(
        Output("import-report", "children"),
        Output("import-job-run", "data", allow_duplicate=True),
        Input("import-validate", "n_clicks"),
        Input("import-run", "n_clicks"),
        State("import-file", "data"),
        State({"type": "import-field", "column": ALL}, "value"),
        State({"type": "import-field", "column": ALL}, "id"),
        State({"type": "import-scale", "column": ALL}, "value"),
        State({"type": "import-week", "column": ALL}, "value"),
        State({"type": "import-outcome", "value": ALL}, "value"),
        State({"type": "import-outcome", "value": ALL}, "id"),
        State("import-default-term", "value"),
        State("import-pass-mark", "value"),
        State("import-save-as", "value"),
        prevent_initial_call=True,
    )
    def run_import(validate, run, file_info, fields, ids, scales, weeks, outcomes, outcome_ids, term, mark, save_as):
        if not (validate or run) or ctx.triggered_id not in ("import-validate", "import-run"):
            return no_update, no_update  # the buttons were just created with the mapping form, not pressed
        dry_run = ctx.triggered_id == "import-validate"
        try:
            meanings = dict(zip([o["value"] for o in outcome_ids], outcomes, strict=True))
            mapping = _mapping(ids, fields, scales, weeks, meanings, term, mark)
        except (TypeError, ValueError) as exc:
            raise CallbackInputError(f"the mapping form arrived malformed: {exc}") from exc
        if save_as and save_as.strip():
            MappingPreset.save(ACADEMIC.kind, save_as, mapping.to_dict(), current_user.email)
            session.commit()
        token, filename = (file_info or {}).get("token", ""), (file_info or {}).get("filename", "upload.csv")
        if not dry_run and (file_info or {}).get("rows", 0) > tasks.INLINE_IMPORT_ROWS:
            try:
                run_row = tasks.enqueue_records_import(
                    KIND, token, current_user.id, mapping.to_dict(), current_user.email
                )
            except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
                return dbc.Alert(f"Nothing imported: {exc}", color="danger"), no_update
            return dbc.Alert(f"Importing {file_info['rows']:,} rows in the background (job {run_row.id}).",
                             color="info"), run_row.id  # fmt: skip
        try:
            filename, raw = files.load(KIND, current_user.id, token)
            outcome = import_records(raw, filename, mapping, uploaded_by=current_user.email, dry_run=dry_run)
        except (ImportFormatError, MappingError, files.UploadError) as exc:
            return dbc.Alert(f"Nothing imported: {exc}", color="danger"), no_update
        republished = republish_note(current_user.email) if outcome.batch_id and outcome.current_rows else ""
        return report(outcome.report(), republished), no_update

    @app.callback(
        Output("import-report", "children", allow_duplicate=True),
        Input("import-job-done", "data"),
        prevent_initial_call=True,
    )
    def imported_by_job(done: dict | None):
        if not done or done.get("kind") != "import":
            return no_update
        if done.get("error"):
            return dbc.Alert(f"Nothing imported: {done['error']}", color="danger")
        return report(done["result"], done["result"].get("republish", ""))


def report(summary: dict, republished: str = "") -> html.Div:
    """The per-row report of a validation or an import."""
    valid, total, invalid = summary["rows_valid"], summary["rows_in_file"], summary["rows_invalid"]
    if summary["dry_run"]:
        headline = f"Validated: {valid:,} of {total:,} rows can be imported; nothing was stored."
    elif summary["batch"] is None:
        headline = "Nothing imported: no row is valid."
    else:
        headline = f"Imported {valid:,} of {total:,} rows (batch {summary['batch']}). " + (
            republished or "Retrain at_risk from the admin page to learn from them."
        )
    if invalid:
        headline += f" {invalid:,} rows had problems and were left out (below)."
    colour = "danger" if not valid else "warning" if invalid or summary["warnings"] else "success"
    errors = summary["errors"]
    return html.Div(
        [
            dbc.Alert(headline, color=colour, id="import-summary"),
            dbc.Alert([html.Div(w) for w in summary["warnings"]], color="warning", id="import-warnings")
            if summary["warnings"]
            else None,
            row_errors_table(errors, "import-errors", limit=len(errors)) if errors else None,
            html.Small(f"The first {len(errors):,} of {summary['problems']:,} problems are listed.")
            if summary["errors_truncated"]
            else None,
        ]
    )


def _needs_job(filename: str, raw: bytes) -> bool:
    return (filename.lower().endswith((".xlsx", ".xlsm")) and len(raw) > INLINE_BYTES // 4) or len(raw) > INLINE_BYTES


def _preset(preset_id) -> ColumnMapping | None:
    if not preset_id:
        return None
    try:
        preset = session.get(MappingPreset, int(preset_id))
    except (TypeError, ValueError):
        raise CallbackInputError(f"no saved mapping {preset_id!r}") from None
    if preset is None or preset.kind != ACADEMIC.kind:
        return None
    return ColumnMapping.from_dict(preset.mapping)


def _default_week(field: str, column: str, saved: ColumnMapping) -> int | None:
    if field in (EXTRA, IGNORE):
        return saved.weeks.get(column)
    if field in saved.weeks:
        return saved.weeks[field]
    return ACADEMIC.field(field).known_at_week if field in ACADEMIC.names else None


def _week_value(week: int | None) -> str:
    return UNDATED if week is None else str(week)


def _outcome_of(value: str, spelled: dict[str, list[str]]) -> str:
    plain = plain_text(value)
    for code, spellings in spelled.items():
        if plain in {plain_text(s) for s in spellings}:
            return code
    for code, spellings in OUTCOMES.items():
        first = plain.split(maxsplit=1)[0] if plain else plain
        if plain in spellings or first in spellings:
            return code
    return ""


def _mapping_form(summary: dict, filename: str) -> dbc.Card:
    columns = summary["columns"]
    suggested = suggest_mapping(columns)
    presets = MappingPreset.for_kind(ACADEMIC.kind)
    header = dbc.Row(
        [dbc.Col(html.Small(h, className="fw-semibold"), md=m) for h, m in
         (("Column", 3), ("Aula field", 4), ("Scale", 2), ("Known", 3))],
        className="mb-1",
    )  # fmt: skip
    rows = [_column_row(column, suggested.get(column, EXTRA)) for column in columns]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Map the {len(columns)} columns of {filename} ({summary['rows']:,} rows)", className="h6"),
                dbc.Row(
                    dbc.Col(
                        dcc.Dropdown(
                            id="import-preset",
                            options=[{"label": p.name, "value": p.id} for p in presets],
                            placeholder="Use a saved mapping…",
                        ),
                        md=6,
                    ),
                    className="mb-3",
                ),
                header,
                *rows,
                html.Div(id="import-outcomes"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Term (when the file has no term column)", className="small"),
                                dbc.Input(id="import-default-term", placeholder="e.g. 2025-2"),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Pass mark (0-100) where the file has none", className="small"),
                                dbc.Input(
                                    id="import-pass-mark", type="number", value=DEFAULT_PASS_MARK, min=0, max=100
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Save this mapping as", className="small"),
                                dbc.Input(id="import-save-as", placeholder="optional name"),
                            ],
                            md=4,
                        ),
                    ],
                    className="mt-3",
                ),
                html.Div(
                    [
                        dbc.Button("Validate (store nothing)", id="import-validate", color="secondary"),
                        dbc.Button("Import", id="import-run", color="primary"),
                    ],
                    className="d-flex gap-2 mt-3",
                ),
            ]
        )
    )


def _column_row(column: str, field: str) -> dbc.Row:
    saved = academic_mapping({})
    return dbc.Row(
        [
            dbc.Col(html.Code(column), md=3),
            dbc.Col(
                dcc.Dropdown(
                    id={"type": "import-field", "column": column}, options=FIELD_OPTIONS, value=field, clearable=False
                ),
                md=4,
            ),
            dbc.Col(
                dbc.InputGroup(
                    [
                        dbc.InputGroupText("out of", className="small"),
                        dbc.Input(
                            id={"type": "import-scale", "column": column},
                            type="number",
                            min=0,
                            value=SCALABLE.get(field),
                            disabled=field not in SCALABLE,
                            size="sm",
                        ),
                    ],
                    size="sm",
                ),
                md=2,
            ),
            dbc.Col(
                dcc.Dropdown(
                    id={"type": "import-week", "column": column},
                    options=WEEK_OPTIONS,
                    value=_week_value(_default_week(field, column, saved)),
                    clearable=False,
                ),
                md=3,
            ),
        ],
        className="mb-1 align-items-center",
    )


def _mapping(
    ids: list[dict], fields: list[str], scales: list, weeks: list, outcomes: dict[str, str], term, pass_mark
) -> ColumnMapping:
    chosen = {i["column"]: f for i, f in zip(ids, fields, strict=True) if f not in (EXTRA, IGNORE)}
    extra = [i["column"] for i, f in zip(ids, fields, strict=True) if f == EXTRA]
    declared = {
        field: float(scale)
        for field, scale in zip(fields, scales, strict=True)
        if field in SCALABLE and scale not in (None, "") and float(scale) != SCALABLE[field]
    }
    dated: dict[str, int | None] = {}
    for i, field, week in zip(ids, fields, weeks, strict=True):
        value = None if week in (None, "", UNDATED) else int(week)
        key = field if field not in (EXTRA, IGNORE) else i["column"]
        if field == IGNORE:
            continue
        if field == EXTRA or value != (ACADEMIC.field(field).known_at_week if field in ACADEMIC.names else None):
            dated[key] = value
    return academic_mapping(
        chosen,
        extra=extra,
        scales=declared,
        pass_values=[v for v, code in outcomes.items() if code == "pass"],
        fail_values=[v for v, code in outcomes.items() if code == "fail"],
        withdrawn_values=[v for v, code in outcomes.items() if code == "withdrawn"],
        default_term=(term or "").strip() or None,
        pass_mark=float(pass_mark if pass_mark not in (None, "") else DEFAULT_PASS_MARK),
        weeks=dated,
    )
