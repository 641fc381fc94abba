"""Imports without clicking: the CLI and the API run the same mapping, checks and report as the UI; what an
import declares (weeks, term dates, pass marks) reaches the stored records and the model."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import func, select

from core import db
from core.models import Course, Enrollment, ImportBatch, JobRun, RecordField, Term
from ml.data.academic import generate_academic
from ml.data.academic_import import academic_mapping
from ml.data.academic_sql import known_weeks, load_records, term_order
from tests.conftest import csrf_token

HEADER = "matricula;disciplina;semestre;inicio;faltas w8;G1;G3;Bolsista;Resultado\n"


def export(rows: list[str]) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("latin-1")


def mapping() -> dict:
    fields = {"matricula": "student_id", "disciplina": "course_code", "semestre": "term_code",
              "inicio": "term_start", "faltas w8": "absences", "G1": "grade_p1", "G3": "final_grade",
              "Resultado": "passed"}  # fmt: skip
    return academic_mapping(
        fields, extra=["Bolsista"], scales={"grade_p1": 20, "final_grade": 20}, weeks={"Bolsista": 0},
        pass_values=["Aprovado por média"], withdrawn_values=["Trancado"],
    ).to_dict()  # fmt: skip


ROWS = [
    "A1;MAT101;Fall 2024;2024-09-02;2;12;14;sim;Aprovado por média",
    "A2;MAT101;Spring 2024;2024-02-05;9;6;7;nao;Reprovado",
    "A3;MAT101;Spring 2025;2025-02-03;3;;;nao;Trancado",
    "A4;MAT101;Spring 2025;2025-02-03;x;10;11;sim;Aprovado",
]


@pytest.fixture
def files(tmp_path):
    data, preset = tmp_path / "export.csv", tmp_path / "mapping.json"
    data.write_bytes(export(ROWS))
    preset.write_text(json.dumps(mapping()))
    return data, preset


def enrollments() -> int:
    return db.session.scalar(select(func.count()).select_from(Enrollment))


def test_cli_dry_run_reports_and_stores_nothing(app, files):
    data, preset = files
    result = app.test_cli_runner().invoke(args=["records", "import", str(data), "--mapping", str(preset), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would import 3 of 4 rows" in result.output and "row 5, faltas w8: 'x' is not a number" in result.output
    assert enrollments() == 0 and db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_cli_import_stores_the_rows_the_calendar_and_the_declared_weeks(app, files):
    data, preset = files
    result = app.test_cli_runner().invoke(args=["records", "import", str(data), "--mapping", str(preset), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["rows_valid"] == 3 and report["batch"]
    assert enrollments() == 3
    # Terms by their dates, never by sorting their codes ("Fall 2024" sorts before "Spring 2024").
    assert term_order() == ["Spring 2024", "Fall 2024", "Spring 2025"]
    assert db.session.scalar(select(Term.start_date).where(Term.code == "Fall 2024")).isoformat() == "2024-09-02"
    assert db.session.get(RecordField, "x_bolsista").known_at_week == 0 and known_weeks()["x_bolsista"] == 0
    records = load_records()
    withdrawn = records[records["student_id"] == "A3"].iloc[0]
    assert bool(withdrawn["withdrawn"]) and not bool(withdrawn["passed"])
    assert records.loc[records["student_id"] == "A1", "grade_p1"].iloc[0] == 60.0


def test_cli_exits_non_zero_when_nothing_can_be_imported(app, files, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("only one column\n1\n")
    result = app.test_cli_runner().invoke(args=["records", "import", str(broken)])
    assert result.exit_code != 0 and "Only one column was found" in result.output
    _, preset = files
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_bytes(export(["A1;MAT101;Fall 2024;2024-09-02;x;12;14;sim;Aprovado"]))
    result = app.test_cli_runner().invoke(args=["records", "import", str(bad_rows), "--mapping", str(preset)])
    assert result.exit_code == 1 and "imported 0 of 1 rows" in result.output and enrollments() == 0


def test_api_import_runs_the_same_path_and_reports_per_row(signed_in, files):
    faculty = signed_in("faculty")
    data, preset = files
    headers = {"X-CSRFToken": csrf_token(faculty)}
    dry = faculty.post(
        "/api/v1/records/import?dry_run=1",
        data={"file": (io.BytesIO(data.read_bytes()), "export.csv"), "mapping": preset.read_text()},
        headers=headers,
    )
    assert dry.status_code == 200 and dry.get_json()["dry_run"] is True and enrollments() == 0
    assert dry.get_json()["errors"] == [{"row": 5, "column": "faltas w8", "problem": "'x' is not a number"}]
    done = faculty.post(
        "/api/v1/records/import",
        data={"file": (io.BytesIO(data.read_bytes()), "export.csv"), "mapping": preset.read_text()},
        headers=headers,
    )
    assert done.status_code == 200 and done.get_json()["rows_valid"] == 3 and enrollments() == 3
    assert faculty.post("/api/v1/records/import", data=b"\x00\x01", headers=headers).status_code == 400


def test_api_import_of_current_records_queues_the_republish(signed_in):
    faculty = signed_in("faculty")
    body = "student id;course;term;attendance\nB1;MAT101;2025-2;80\n"
    response = faculty.post(
        "/api/v1/records/import", data=body, headers={"Content-Type": "text/csv", "X-CSRFToken": csrf_token(faculty)}
    )
    report = response.get_json()
    assert response.status_code == 200 and report["rows_current"] == 1
    run = db.session.get(JobRun, report["republish_job"])
    assert run.kind == "publish at_risk" and run.status == "queued"


def test_a_column_declared_before_the_term_is_used_from_the_first_checkpoint(app):
    """A pre-term extra column, dated at import, feeds the week-4 model."""
    from ml.at_risk.model import train
    from ml.data.academic_sql import declare_weeks, save_records, save_reference

    data = generate_academic(n_students=300, n_courses=10, n_terms=4, seed=4)
    records = data.records()
    records["x_scholarship"] = (records["student_id"].str[-1].astype(int) % 3 == 0).astype(float)
    save_reference(terms=data.terms, courses=data.courses, students=data.students)
    save_records(records)
    declare_weeks({"x_scholarship": 0}, declared_by="test")
    db.session.commit()
    records = load_records(with_ids=False)
    assert "x_scholarship" in records.columns
    result = train(records, known_weeks=known_weeks(), candidates=("logistic_regression",))
    assert "x_scholarship" in result.model.fields("week_4")


def test_a_course_pass_mark_column_updates_the_course(app):
    body = "student id;course;term;attendance w8;pass mark\nC1;BIO101;2025-2;80;60\n"
    from ml.data.academic_import import import_records

    outcome = import_records(body.encode(), "marks.csv", uploaded_by="t")
    assert outcome.batch_id and db.session.scalar(select(Course.pass_mark).where(Course.code == "BIO101")) == 60.0


def test_a_large_workbook_is_read_and_imported_by_jobs_with_progress(signed_in, app, monkeypatch):
    from tests.integration.dash_client import call, dash_app_at
    from tests.integration.jobs_for_tests import run_queued_jobs
    from tests.integration.test_faculty_dashboard import upload_payload
    from webapp.dashboards.faculty import records_import

    monkeypatch.setattr(records_import, "INLINE_BYTES", 1)  # every file goes through the job here
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["matricula", "disciplina", "semestre", "frequencia w8"])
    for i in range(50):
        sheet.append([f"X{i}", "MAT101", "2025-2", 70 + i % 30])
    buffer = io.BytesIO()
    workbook.save(buffer)
    faculty = signed_in("faculty")
    dash_app = dash_app_at(app, "/faculty/")
    contents = upload_payload("").replace("text/csv", "application/octet-stream").split(",")[0] + ","
    contents += __import__("base64").b64encode(buffer.getvalue()).decode()
    status, body = call(faculty, dash_app, "/faculty/", "import-mapping.children",
                        {"import-upload.contents": contents, "import-upload.filename": "big.xlsx"})  # fmt: skip
    assert status == 200
    run_id = body["response"]["import-job-run"]["data"]
    file_info = body["response"]["import-file"]["data"]
    run_queued_jobs()
    status, body = call(faculty, dash_app, "/faculty/", "import-job-status.children",
                        {"import-job-run.data": run_id, "import-job-tick.n_intervals": 1})  # fmt: skip
    done = body["response"]["import-job-done"]["data"]
    assert done["kind"] == "read" and done["result"]["rows"] == 50 and done["error"] is None
    status, body = call(faculty, dash_app, "/faculty/", "import-file.data",
                        {"import-job-done.data": done, "import-file.data": file_info},
                        trigger="import-job-done.data")  # fmt: skip
    assert status == 200 and "frequencia w8" in str(body["response"]["import-mapping"]["children"])
