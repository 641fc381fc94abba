"""The faculty view's callbacks, called over HTTP as the browser calls them, on a small trained dataset."""

from __future__ import annotations

import base64
import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from core import db
from core.models import Enrollment, ImportBatch, Intervention, ModelVersion, RiskPrediction
from ml import lifecycle
from ml.at_risk import store
from ml.data.academic import generate_academic
from ml.data.academic_sql import load_records, save_generated
from tests.conftest import csrf_token, empty_tables
from tests.integration.dash_client import call, dash_app_at
from tests.integration.jobs_for_tests import run_queued_jobs

pytestmark = pytest.mark.shared_data
PREFIX = "/faculty/"


@pytest.fixture(scope="module")
def trained(app):
    data = generate_academic(n_students=500, n_courses=16, n_terms=4, seed=3)
    save_generated(data)
    outcome = lifecycle.retrain("at_risk", requested_by="test")
    yield {"data": data, "version": outcome.version, "term": store.current_term().code}
    empty_tables()


@pytest.fixture(scope="module")
def faculty(app, trained):
    from core.models import User
    from tests.conftest import sign_in

    User.create("lecturer@test.example", "faculty", "correct-horse-battery")
    db.session.commit()
    client = app.test_client()
    assert sign_in(client, "lecturer@test.example").status_code == 302
    return client


def refresh(app, faculty, trained, course: str = "", checkpoint: str = "midterm"):
    status, body = call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "risk-grid.rowData",
        {"term.value": trained["term"], "course.value": course, "checkpoint.value": checkpoint},
    )
    assert status == 200, body
    return body["response"]


def test_retraining_published_predictions_for_every_checkpoint(trained):
    version = ModelVersion.production("at_risk")
    assert version.id == trained["version"].id
    checkpoints = db.session.scalars(
        select(RiskPrediction.checkpoint).where(RiskPrediction.model_version_id == version.id).distinct()
    )
    assert set(checkpoints) == {"week_4", "week_8", "midterm"}


def test_at_risk_list_is_sorted_riskiest_first_with_reasons(app, faculty, trained):
    response = refresh(app, faculty, trained)
    rows = response["risk-grid"]["rowData"]
    risks = [row["risk_pct"] for row in rows]
    assert risks == sorted(risks, reverse=True) and len(rows) > 100
    assert all(row["reasons"] and row["recommendation"] and row["segment"] for row in rows[:20])
    assert "course median" in rows[0]["reasons"]


def test_course_filter_shows_only_that_course(app, faculty, trained):
    course = trained["data"].enrollments.query("term_code == @trained['term']")["course_code"].iloc[0]
    rows = refresh(app, faculty, trained, course=course)["risk-grid"]["rowData"]
    assert rows and {row["course_code"] for row in rows} == {course}
    current = trained["data"].enrollments.query("term_code == @trained['term']")
    expected = int(((current["course_code"] == course) & ~current["withdrawn"]).sum())  # withdrawn: left out
    assert len(rows) == expected


def test_kpis_count_the_whole_selection(app, faculty, trained):
    response = refresh(app, faculty, trained)
    kpis = str(response["kpis"]["children"])
    current = trained["data"].enrollments.query("term_code == @trained['term'] and not withdrawn")
    students, enrollments = current["student_id"].nunique(), len(current)
    assert students < enrollments  # the KPI counts both, each where it belongs
    assert f"'{students:,}'" in kpis and f"in {enrollments:,} enrollments" in kpis


def test_earlier_checkpoint_changes_the_scores(app, faculty, trained):
    late = refresh(app, faculty, trained, checkpoint="midterm")["risk-grid"]["rowData"]
    early = refresh(app, faculty, trained, checkpoint="week_4")["risk-grid"]["rowData"]
    by_id = {row["enrollment_id"]: row["risk_pct"] for row in early}
    assert any(by_id.get(row["enrollment_id"]) != row["risk_pct"] for row in late[:50])


def test_student_panel_shows_history_and_reasons(app, faculty, trained):
    row = refresh(app, faculty, trained)["risk-grid"]["rowData"][0]
    status, body = call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "student-panel.children",
        {"selected-enrollment.data": row["enrollment_id"], "risk-grid.selectedRows": [row]},
    )
    assert status == 200
    response = body["response"]
    panel = str(response["student-panel"]["children"])
    assert response["student-panel-canvas"]["is_open"] is True  # opens beside the list, titled
    assert row["student_id"] in response["student-panel-canvas"]["title"]
    assert "Earlier courses" in panel and row["reasons"].split("; ")[0] in panel


def intervene(app, faculty, enrollment_id, n_clicks, note="Agreed on a study plan", action="tutoring"):
    return call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "intervention-message.children",
        {
            "intervention-save.n_clicks": n_clicks,
            "selected-enrollment.data": enrollment_id,
            "intervention-action.value": action,
            "intervention-date.date": "2026-11-02",
            "intervention-note.value": note,
        },
    )


def test_intervention_is_recorded_and_listed(app, faculty, trained):
    enrollment_id = refresh(app, faculty, trained)["risk-grid"]["rowData"][1]["enrollment_id"]
    status, body = intervene(app, faculty, enrollment_id, n_clicks=1)
    assert status == 200 and "recorded" in str(body["response"]["intervention-message"])
    listed = store.interventions(enrollment_id=enrollment_id)
    assert list(listed["action"]) == ["tutoring"] and listed["outcome"].iloc[0] == "term open"
    assert listed["created_by"].iloc[0] == "lecturer@test.example"


def test_creating_the_form_records_nothing(app, faculty, trained):
    before = db.session.scalar(select(func.count()).select_from(Intervention))
    enrollment_id = refresh(app, faculty, trained)["risk-grid"]["rowData"][2]["enrollment_id"]
    intervene(app, faculty, enrollment_id, n_clicks=None)
    assert db.session.scalar(select(func.count()).select_from(Intervention)) == before


def test_intervention_with_an_unknown_action_is_refused(app, faculty, trained):
    enrollment_id = refresh(app, faculty, trained)["risk-grid"]["rowData"][3]["enrollment_id"]
    _, body = intervene(app, faculty, enrollment_id, n_clicks=1, action="detention")
    assert "action must be one of" in str(body["response"]["intervention-message"])
    assert store.interventions(enrollment_id=enrollment_id).empty


def test_model_quality_compares_with_baselines(app, faculty, trained):
    status, body = call(
        faculty, dash_app_at(app, PREFIX), PREFIX, "model-quality.children", {"checkpoint.value": "midterm"}
    )
    text = str(body["response"]["model-quality"]["children"])
    assert status == 200
    assert "Majority class" in text and "Latest grade below pass mark" in text and "simple rule" in text
    assert "Accuracy (at 0.5)" in text and "measured recall on the evaluation term" in text
    assert "enrollments evaluated" in text


def high_risk_prediction(trained) -> RiskPrediction:
    return db.session.scalar(
        select(RiskPrediction)
        .where(RiskPrediction.model_version_id == trained["version"].id, RiskPrediction.checkpoint == "midterm")
        .where(RiskPrediction.risk_band == "high")
        .order_by(RiskPrediction.probability.desc())
    )


def test_faculty_see_the_rules_but_only_admins_edit_them(app, faculty, trained):
    target = high_risk_prediction(trained)
    rows = [{"risk_band": "high", "segment": target.segment, "action": "Tell nobody."}]
    status, body = call(
        faculty, dash_app_at(app, PREFIX), PREFIX, "rules-message.children",
        {"rules-save.n_clicks": 1, "rules-grid.rowData": rows},
    )  # fmt: skip
    assert status == 400 and "edited by admins" in body["error"]


@pytest.fixture(scope="module")
def admin(app, trained):
    from core.models import User
    from tests.conftest import sign_in

    User.create("dean@test.example", "admin", "correct-horse-battery")
    db.session.commit()
    client = app.test_client()
    assert sign_in(client, "dean@test.example").status_code == 302
    return client


def test_saving_the_any_segment_rule_keeps_the_segment_rules_of_its_band(app, admin, trained):
    target = high_risk_prediction(trained)
    specific = store.effective_rules(trained["version"].params["rules"])["high"][target.segment]
    rows = [{"risk_band": "high", "segment": "*", "action": "Meet today."}]
    _, body = call(admin, dash_app_at(app, PREFIX), PREFIX, "rules-message.children",
                   {"rules-save.n_clicks": 1, "rules-grid.rowData": rows})  # fmt: skip
    assert "Saved 1 rule" in str(body["response"])
    run_queued_jobs()
    stored = set(db.session.scalars(
        select(RiskPrediction.recommendation).where(RiskPrediction.risk_band == "high",
                                                     RiskPrediction.segment == target.segment)
    ))  # fmt: skip
    assert stored == {specific}


def test_edited_rule_applies_to_stored_predictions_and_what_if(app, admin, faculty, trained):
    target = high_risk_prediction(trained)
    rows = [{"risk_band": "high", "segment": target.segment, "action": "Call the student today."}]
    _, body = call(
        admin,
        dash_app_at(app, PREFIX),
        PREFIX,
        "rules-message.children",
        {"rules-save.n_clicks": 1, "rules-grid.rowData": rows},
    )
    assert "Saved 1 rule" in str(body["response"]) and "being rescored" in str(body["response"])
    run_queued_jobs()  # the republish the save queued
    db.session.expire_all()
    same_kind = db.session.scalars(
        select(RiskPrediction.recommendation).where(
            RiskPrediction.risk_band == "high", RiskPrediction.segment == target.segment
        )
    ).all()
    assert same_kind and set(same_kind) == {"Call the student today."}

    from webapp.dashboards.faculty.what_if import EDITABLE

    recorded = load_records(enrollments=[target.enrollment_id]).iloc[0]  # unchanged values: the stored band
    values = [({"type": "what-if", "field": name}, None if pd.isna(recorded[name]) else float(recorded[name]))
              for name in EDITABLE]  # fmt: skip
    status, body = call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "what-if-result.children",
        {
            "what-if.value": values,
            "checkpoint.value": "midterm",
            "selected-enrollment.data": target.enrollment_id,
        },
    )
    assert status == 200, body
    result = str(body["response"])
    assert "Fail risk" in result and "Call the student today." in result


def upload_payload(text: str, encoding: str = "utf-8") -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode(encoding)).decode()


def current_term_csv(trained, rows: int = 40) -> str:
    records = trained["data"].records().query("is_current").head(rows)
    columns = ["student_id", "course_code", "attendance_w4", "attendance_w8", "quiz_1", "quiz_2", "midterm"]
    return records[columns].to_csv(index=False, sep=";")


def test_batch_scoring_scores_valid_rows_and_lists_bad_ones(app, faculty, trained):
    text = current_term_csv(trained) + "S999999;MAT101;abc;50;60;70;80\n"
    status, body = call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "batch-result.children",
        {
            "batch-upload.contents": upload_payload(text),
            "batch-upload.filename": "week9.csv",
            "checkpoint.value": "midterm",
        },
    )
    response = body["response"]
    result = str(response["batch-result"]["children"])
    assert status == 200 and "Scored 40 of 41 rows" in result
    assert "'abc' is not a number" in result
    assert response["batch-token"]["data"] and response["batch-download-button"]["disabled"] is False


def test_batch_scoring_of_a_broken_file_says_why(app, faculty, trained):
    status, body = call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "batch-result.children",
        {"batch-upload.contents": upload_payload("just one column\n1\n2\n"), "batch-upload.filename": "x.csv"},
    )
    assert status == 200 and "separator" in str(body["response"]["batch-result"]).lower()


def import_file(app, faculty, text: str, fields: dict[str, str], filename: str = "records.csv", **options):
    dash_app = dash_app_at(app, PREFIX)
    status, body = call(
        faculty,
        dash_app,
        PREFIX,
        "import-mapping.children",
        {"import-upload.contents": upload_payload(text, "latin-1"), "import-upload.filename": filename},
    )
    assert status == 200
    file_info = body["response"]["import-file"]["data"]
    pairs = [({"type": "import-field", "column": column}, field) for column, field in fields.items()]
    scales, weeks = options.get("scales", {}), options.get("weeks", {})
    scale_pairs = [({"type": "import-scale", "column": column}, scales.get(column)) for column in fields]
    week_pairs = [({"type": "import-week", "column": column}, weeks.get(column, "default")) for column in fields]
    week_pairs = [(i, _week_or_default(fields[i["column"]], w)) for i, w in week_pairs]
    outcomes = options.get("outcomes", {})
    outcome_pairs = [({"type": "import-outcome", "value": v}, code) for v, code in outcomes.items()]
    button = "import-validate" if options.get("dry_run") else "import-run"
    return call(
        faculty,
        dash_app,
        PREFIX,
        "import-report.children",
        {
            f"{button}.n_clicks": 1,
            "import-file.data": file_info,
            "import-field.value": pairs,
            "import-field.id": [(i, i) for i, _ in pairs],
            "import-scale.value": scale_pairs,
            "import-week.value": week_pairs,
            "import-outcome.value": outcome_pairs,
            "import-outcome.id": [(i, i) for i, _ in outcome_pairs],
            "import-default-term.value": options.get("default_term"),
            "import-pass-mark.value": 50,
            "import-save-as.value": options.get("save_as"),
        },
        changed=[f"{button}.n_clicks"],
    )


def _week_or_default(field: str, week):
    """The week a column is declared known from, as the form holds it (the field's own unless given)."""
    from ml.data.academic_import import ACADEMIC
    from webapp.dashboards.faculty.records_import import UNDATED

    if week != "default":
        return week
    known = ACADEMIC.field(field).known_at_week if field in ACADEMIC.names else None
    return UNDATED if known is None else str(known)


def test_import_keeps_valid_rows_and_reports_bad_ones(app, faculty, trained):
    text = (
        "matricula;disciplina;semestre;faltas;G1;G2;G3\n"
        "A1;MAT101;2023-1;4;12;13;14\nA2;MAT101;2023-1;x;9;8;7\nA3;MAT101;2023-1;2;25;10;9\n"
    )
    fields = {"matricula": "student_id", "disciplina": "course_code", "semestre": "term_code", "faltas": "absences",
              "G1": "grade_p1", "G2": "grade_p2", "G3": "final_grade"}  # fmt: skip
    before = db.session.scalar(select(func.count()).select_from(Enrollment))
    status, body = import_file(app, faculty, text, fields, save_as="Secretaria", scales={"G1": 20, "G2": 20, "G3": 20})
    report = str(body["response"]["import-report"]["children"])
    assert status == 200 and "Imported 1 of 3 rows" in report
    assert "'x' is not a number" in report and "above" in report
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == before + 1
    batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert (batch.rows_total, batch.rows_valid, batch.rows_invalid) == (3, 1, 2)
    stored = db.session.scalar(select(Enrollment).where(Enrollment.import_batch_id == batch.id))
    assert (stored.grade_p1, stored.final_grade, stored.passed) == (60.0, 70.0, True)  # 0-20 grades rescaled


def test_import_without_a_student_column_writes_nothing(app, faculty, trained):
    before = db.session.scalar(select(func.count()).select_from(Enrollment))
    _, body = import_file(app, faculty, "a;b\n1;2\n", {"a": "course_code", "b": "absences"})
    assert "Nothing imported" in str(body["response"]) and "student_id" in str(body["response"])
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == before


def test_api_lists_stored_predictions(faculty, trained):
    body = faculty.get("/api/v1/at-risk?checkpoint=week_8&limit=5").get_json()
    assert body["checkpoint"] == "week_8" and len(body["rows"]) == 5
    assert body["rows"][0]["risk_pct"] >= body["rows"][-1]["risk_pct"]


def test_api_scores_a_csv_body_with_a_bearer_token(app, trained):
    from core.models import ApiToken, User

    _, plain = ApiToken.issue(User.by_email("lecturer@test.example"), "batch script")
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}", "Content-Type": "text/csv"}
    response = client.post("/api/v1/at-risk/score", data=current_term_csv(trained, 25), headers=headers)
    body = response.get_json()
    assert response.status_code == 200 and body["rows_scored"] == 25 and body["rows_invalid"] == 0
    assert {"probability", "segment", "recommendation", "reasons"} <= set(body["rows"][0])
    as_csv = client.post(
        "/api/v1/at-risk/score", data=current_term_csv(trained, 5), headers={**headers, "Accept": "text/csv"}
    )
    assert as_csv.mimetype == "text/csv" and as_csv.get_data(as_text=True).count("\n") == 6


def test_api_rejects_an_unreadable_file_with_the_reason(app, faculty, trained):
    response = faculty.post(
        "/api/v1/at-risk/score",
        data=b"\x00\x01\x02binary",
        headers={"Content-Type": "text/csv", "X-CSRFToken": csrf_token(faculty)},
    )
    assert response.status_code == 400 and response.get_json()["error"]


def test_saved_mapping_is_offered_and_reapplied(app, faculty, trained):
    from core.models import MappingPreset
    from ml.data.academic_import import academic_mapping
    from webapp.dashboards.faculty.records_import import EXTRA, IGNORE

    mapping = academic_mapping({"RA": "student_id", "Disc": "course_code", "Faltas": "absences"}, extra=["Turma"])
    db.session.add(MappingPreset(kind="academic", name="SIGAA export", mapping=mapping.to_dict(), created_by="t"))
    db.session.commit()
    preset_id = db.session.scalar(select(MappingPreset.id).where(MappingPreset.name == "SIGAA export"))
    columns = ["RA", "Disc", "Faltas", "Turma", "Obs"]
    ids = [{"type": "import-field", "column": c} for c in columns]
    status, body = call(
        faculty,
        dash_app_at(app, PREFIX),
        PREFIX,
        "import-field.value",
        {"import-preset.value": preset_id, "import-field.id": [(i, i) for i in ids]},
    )
    assert status == 200
    chosen = {json.loads(key)["column"]: value["value"] for key, value in body["response"].items()}
    assert chosen == {"RA": "student_id", "Disc": "course_code", "Faltas": "absences", "Turma": EXTRA, "Obs": IGNORE}


FORMULA = '=HYPERLINK("http://evil.example","x")'


def test_every_csv_export_defuses_formula_cells(app, faculty, trained):
    """The at-risk list export, the batch-scoring download and the API's CSV answer (OWASP CSV injection)."""
    from core.models import Student

    text = current_term_csv(trained, 3).replace(trained["data"].records().query("is_current")["student_id"].iloc[0],
                                               FORMULA, 1)  # fmt: skip
    dash_app = dash_app_at(app, PREFIX)
    _, body = call(faculty, dash_app, PREFIX, "batch-result.children",
                   {"batch-upload.contents": upload_payload(text), "batch-upload.filename": "w.csv"})  # fmt: skip
    token = body["response"]["batch-token"]["data"]
    _, body = call(faculty, dash_app, PREFIX, "batch-download.data",
                   {"batch-download-button.n_clicks": 1, "batch-token.data": token})  # fmt: skip
    downloaded = base64.b64decode(body["response"]["batch-download"]["data"]["content"]).decode()
    assert f"'{FORMULA}" in downloaded.replace('""', '"')

    headers = {"Content-Type": "text/csv", "Accept": "text/csv", "X-CSRFToken": csrf_token(faculty)}
    api = faculty.post("/api/v1/at-risk/score", data=text, headers=headers)
    assert f"'{FORMULA}" in api.get_data(as_text=True).replace('""', '"')

    top = store.predictions(trained["version"].id, trained["term"], "midterm", limit=1)
    student = db.session.get(Enrollment, int(top["enrollment_id"].iloc[0])).student
    original, student.external_id = student.external_id, "@SUM(1+1)"
    db.session.commit()
    try:
        _, body = call(faculty, dash_app, PREFIX, "export-download.data",
                       {"export-csv.n_clicks": 1, "term.value": trained["term"], "course.value": "",
                        "checkpoint.value": "midterm"})  # fmt: skip
    finally:
        db.session.get(Student, student.id).external_id = original
        db.session.commit()
    exported = body["response"]["export-download"]["data"]
    assert "'@SUM(1+1)" in exported["content"]
    assert (
        exported["content"].count("\n") - 1
        == store.summary(trained["version"].id, trained["term"], "midterm")["enrollments"]
    )  # every row of the selection, not the ones on screen


def stored_prediction(trained, checkpoint: str = "midterm") -> RiskPrediction:
    return db.session.scalar(
        select(RiskPrediction)
        .where(RiskPrediction.model_version_id == trained["version"].id, RiskPrediction.checkpoint == checkpoint)
        .order_by(RiskPrediction.probability.desc())
    )


def test_json_scoring_answers_as_the_stored_list(faculty, trained):
    stored = stored_prediction(trained)
    record = store.scoring_record(stored.enrollment_id)
    response = faculty.post(
        "/api/v1/at-risk/score?checkpoint=midterm", json=record, headers={"X-CSRFToken": csrf_token(faculty)}
    )
    body = response.get_json()
    assert response.status_code == 200 and body["errors"] == []
    scored = body["results"][0]
    assert scored["probability"] == pytest.approx(stored.probability, abs=1e-4)
    assert (scored["risk_band"], scored["segment"], scored["checkpoint"]) == (
        stored.risk_band,
        stored.segment,
        "midterm",
    )
    assert len(scored["reasons"]) == 3 and scored["recommendation"]


def test_json_scoring_reports_each_bad_field_and_scores_the_rest(faculty, trained):
    good = store.scoring_record(stored_prediction(trained).enrollment_id)
    bad = {**good, "attendance_w8": 120, "favourite_colour": "blue"}
    headers = {"X-CSRFToken": csrf_token(faculty)}
    body = faculty.post("/api/v1/at-risk/score", json={"records": [good, bad]}, headers=headers).get_json()
    assert body["results"][0] is not None and body["results"][1] is None
    problems = {(e["record"], e["field"]): e["problem"] for e in body["errors"]}
    assert problems[(1, "attendance_w8")] == "attendance_w8 120 is above 100 %"
    assert problems[(1, "favourite_colour")].startswith("unknown field")
    only_bad = faculty.post("/api/v1/at-risk/score", json=[bad], headers=headers)
    assert only_bad.status_code == 400
    wrong_checkpoint = faculty.post("/api/v1/at-risk/score?checkpoint=week_99", json=good, headers=headers)
    assert wrong_checkpoint.status_code == 400 and "checkpoint must be one of" in wrong_checkpoint.get_json()["error"]


def test_what_if_rejects_a_value_outside_the_fields_range(app, faculty, trained):
    from webapp.dashboards.faculty.what_if import EDITABLE

    enrollment_id = stored_prediction(trained).enrollment_id
    values = [({"type": "what-if", "field": name}, 150 if name == "attendance_w8" else None) for name in EDITABLE]
    status, body = call(faculty, dash_app_at(app, PREFIX), PREFIX, "what-if-result.children",
                        {"what-if.value": values, "checkpoint.value": "midterm",
                         "selected-enrollment.data": enrollment_id})  # fmt: skip
    assert status == 200 and "attendance (weeks 1-8): attendance_w8 150 is above 100 %" in str(body["response"])


@pytest.mark.parametrize(
    ("output", "values"),
    [
        ("student-panel.children", {"selected-enrollment.data": "abc", "risk-grid.selectedRows": []}),
        ("student-panel.children", {"selected-enrollment.data": 99_999_999, "risk-grid.selectedRows": []}),
        ("model-quality.children", {"checkpoint.value": "week_99"}),
        (
            "what-if-result.children",
            {"what-if.value": [], "checkpoint.value": "midterm", "selected-enrollment.data": 99_999_999},
        ),
        ("what-if-result.children", {"what-if.value": [], "checkpoint.value": "nope", "selected-enrollment.data": 1}),
    ],
)
def test_callbacks_answer_unexpected_values_with_a_clear_400(app, faculty, trained, output, values):
    status, body = call(faculty, dash_app_at(app, PREFIX), PREFIX, output, values)
    assert status == 400 and body["error"]


def test_the_default_checkpoint_is_the_latest_the_current_week_has_reached():
    from datetime import date

    from core.models import Term

    checkpoints = {"week_4": 4, "week_8": 8, "midterm": 9}
    term = Term(code="T", start_date=date(2026, 9, 7))
    assert store.default_checkpoint(checkpoints, term, today=date(2026, 9, 10)) == "week_4"  # week 1: the first
    assert store.default_checkpoint(checkpoints, term, today=date(2026, 11, 3)) == "midterm"  # week 9 began 11-02
    assert store.default_checkpoint(checkpoints, term, today=date(2026, 10, 26)) == "week_8"  # week 8
    assert store.default_checkpoint(checkpoints, Term(code="T"), today=date(2026, 9, 10)) == "midterm"  # no dates


def test_the_term_selector_offers_the_terms_with_predictions(trained):
    assert store.terms_with_predictions(trained["version"].id) == [trained["term"]]
