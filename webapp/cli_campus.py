"""`flask --app wsgi campus import FILE --kind venues|timetable|observations [--mapping M.json] [--dry-run]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ml.data.campus_import import KINDS

campus_cli = AppGroup("campus", help="Campus venues, timetable and attendance observations.")
SHOWN_ERRORS = 50


@campus_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A mapping saved from the Import tab (JSON); default: the columns' suggested fields.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
def campus_import_command(file: Path, kind: str, mapping_file: Path | None, dry_run: bool) -> None:
    """Import a CSV or Excel file; every bad row is listed. Exits 1 when no row could be imported."""
    from ml.data.campus_import import (
        CampusImportConflict,
        ColumnMapping,
        ImportFormatError,
        MappingError,
        import_file,
    )
    from webapp.dashboards.facilities.data import republish_after_import

    try:
        mapping = ColumnMapping.from_dict(json.loads(mapping_file.read_text())) if mapping_file else None
        report = import_file(kind, file.read_bytes(), file.name, mapping, uploaded_by="cli", dry_run=dry_run)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{mapping_file} is not JSON: {exc}") from exc
    except (ImportFormatError, MappingError, CampusImportConflict, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary() + (" Nothing was written (dry run)." if dry_run and report.n_valid else ""))
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
    for error in report.errors[:SHOWN_ERRORS]:
        click.echo(f"row {error.row}, column {error.column!r}: {error.problem}", err=True)
    if report.n_errors > SHOWN_ERRORS:
        click.echo(f"... and {report.n_errors - SHOWN_ERRORS:,} more problems", err=True)
    if report.stored:
        note = republish_after_import(report, "cli")
        if note:
            click.echo(note)
    if not report.n_valid:
        sys.exit(1)
