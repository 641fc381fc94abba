"""`flask --app wsgi campus import FILE --kind ... [--mapping M.json] [--dry-run]`."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from core import db
from core.models import ClassSession, ImportBatch, Venue
from ml.data.campus_import import campus_mapping

VENUES = "room,building,type,seats\nC-1,C,lecture hall,90\nC-2,C,seminar room,30\nC-3,C,?,20\n"


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=["campus", "import", *args])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_dry_run_reports_every_problem_and_writes_nothing(app, tmp_path):
    path = tmp_path / "rooms.csv"
    path.write_text(VENUES)
    result = invoke(app, str(path), "--kind", "venues", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would import 2 of 3 rows" in result.output and "Nothing was written" in result.output
    assert "row 4, column 'type': '?' is not a recognised room type" in result.output
    assert count(Venue) == 0 and count(ImportBatch) == 0


def test_import_stores_the_good_rows_and_lists_the_bad(app, tmp_path):
    path = tmp_path / "rooms.csv"
    path.write_text(VENUES)
    result = invoke(app, str(path), "--kind", "venues")
    assert result.exit_code == 0, result.output
    assert "imported 2 of 3 rows (batch" in result.output
    assert count(Venue) == 2 and db.session.scalar(select(ImportBatch.kind)) == "venues"


def test_a_saved_mapping_file_is_the_mapping(app, tmp_path):
    invoke(app, str(_write(tmp_path, "rooms.csv", VENUES)), "--kind", "venues")
    text = "Turma;Curso;Inscritos;Espaço;Dia;Início\nX1-01;X1;40;C-1;Mon;10:00\n"
    mapping = campus_mapping(
        "timetable",
        {"Turma": "section_code", "Curso": "course_code", "Inscritos": "registered", "Espaço": "venue_code",
         "Dia": "weekday", "Início": "slot"},
        default_term="2026-1",
    )  # fmt: skip
    saved = _write(tmp_path, "mapping.json", json.dumps(mapping.to_dict()))
    result = invoke(app, str(_write(tmp_path, "t.csv", text)), "--kind", "timetable", "--mapping", str(saved))
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(ClassSession.section_code)) == "X1-01"


def test_nothing_importable_exits_non_zero(app, tmp_path):
    bad = _write(tmp_path, "rooms.csv", "room,building,type,seats\nC-9,C,lab,lots\n")
    result = invoke(app, str(bad), "--kind", "venues")
    assert result.exit_code == 1 and "nothing imported" in result.output and "'lots' is not a number" in result.output
    unmappable = _write(tmp_path, "t.csv", "a,b\n1,2\n")
    result = invoke(app, str(unmappable), "--kind", "timetable")
    assert result.exit_code != 0 and "section_code" in result.output
    broken = _write(tmp_path, "m.json", "{not json")
    result = invoke(app, str(bad), "--kind", "venues", "--mapping", str(broken))
    assert result.exit_code != 0 and "is not JSON" in result.output
    assert count(Venue) == 0


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path
