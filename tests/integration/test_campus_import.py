"""Importing a campus's own files: venues, timetables and observations as campuses keep them (head counts, survey
bins, sensors alone), every bad row reported with its row, column and reason, the good ones stored together."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from core import db
from core.models import AttendanceObservation, ClassSession, ImportBatch, Term, Venue
from ml.data import campus_sql
from ml.data.campus_import import (
    CampusImport,
    MappingError,
    campus_mapping,
    import_campus,
    import_file,
    read_table,
    suggest_mapping,
)

TERM = "2026-1"


@pytest.fixture
def campus_db(migrated):
    db.bind(migrated)
    yield
    db.session.remove()


def run(kind: str, text: str, fields: dict[str, str] | None = None, *, dry_run=False, **options) -> CampusImport:
    frame = read_table(text.encode(), f"{kind}.csv")
    fields = fields if fields is not None else suggest_mapping(kind, frame.columns)
    mapping = campus_mapping(kind, fields, **options)
    return import_campus(kind, frame, mapping, filename=f"{kind}.csv", uploaded_by="test", dry_run=dry_run)


def problems(report: CampusImport) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.problem) for e in report.errors]


VENUES = (
    "Sala;Prédio;Tipo;Capacidade;Lotação máxima;Acessível\n"
    "A-101;A;Anfiteatro;120;100;sim\n"
    "A-102;A;sala de aula;40;;não\n"
    "L-1;L;laboratório;30;30;sim\n"
)


@pytest.fixture
def venues(campus_db):
    report = run("venues", VENUES)
    assert report.n_valid == 3, problems(report)
    return report


TIMETABLE = (
    "turma;disciplina;nivel;matriculados;sala;dia;horario\n"
    "MAT1-01;MAT1;1;110;A-101;segunda;08:00\n"
    "MAT1-01;MAT1;1;110;A-101;quarta;8h\n"
    "BIO2-01;BIO2;2;25;A-102;Tue;10:00-12:00\n"
    "LAB3-01;LAB3;3;20;L-1;Thu;14:00\n"
)


@pytest.fixture
def timetable(venues):
    report = run("timetable", TIMETABLE, default_term=TERM)
    assert report.n_valid == 4, problems(report)
    return report


def test_venues_in_a_portuguese_export_are_recognised_and_stored(venues):
    assert venues.stored and not venues.errors
    stored = campus_sql.load_venues().set_index("venue_code")
    assert stored.loc["A-101", ["venue_type", "capacity", "safe_capacity"]].tolist() == ["lecture_hall", 120, 100]
    assert stored.loc["A-102", "safe_capacity"] == 40 and not stored.loc["A-102", "accessible"]  # blank: seats
    assert stored.loc["L-1", "venue_type"] == "lab"
    batch = db.session.get(ImportBatch, venues.batch_id)
    assert (batch.kind, batch.rows_total, batch.rows_valid) == ("venues", 3, 3)


def test_bad_venue_rows_are_reported_and_the_good_ones_kept(campus_db):
    text = (
        "room,building,type,capacity,safe capacity\n"
        "B-1,B,lecture hall,100,120\n"  # safe above seats
        "B-2,B,kitchen,30,\n"  # unknown type
        "B-3,B,lab,2.5,\n"  # half a seat
        "B-4,B,seminar,abc,\n"
        "B-5,B,seminar,25,20\n"
        "B-5,B,seminar,25,20\n"
    )
    report = run("venues", text)
    found = {(row, column): problem for row, column, problem in problems(report)}
    assert report.n_valid == 1 and report.stored
    assert "above the capacity 100" in found[(2, "safe capacity")]
    assert "'kitchen' is not a recognised room type" in found[(3, "type")]
    assert "not a whole number" in found[(4, "capacity")]
    assert "'abc' is not a number" in found[(5, "capacity")]
    assert "duplicate of row 6" in found[(7, "room")]
    assert list(campus_sql.load_venues()["venue_code"]) == ["B-5"]


def test_a_timetable_names_its_days_and_times_as_people_write_them(timetable):
    stored = campus_sql.load_timetable(TERM).sort_values(["section_code", "weekday"])
    assert list(zip(stored["section_code"], stored["weekday"], stored["slot"], strict=True)) == [
        ("BIO2-01", 1, 1),
        ("LAB3-01", 3, 3),
        ("MAT1-01", 0, 0),
        ("MAT1-01", 2, 0),
    ]
    assert stored.set_index("section_code").loc["BIO2-01", "needs_type"] == "seminar_room"  # the room's own type


def test_a_double_booking_is_reported_per_row_never_an_integrity_error(timetable):
    text = (
        "turma;disciplina;matriculados;sala;dia;horario\n"
        "HIS1-01;HIS1;30;A-101;segunda;08:00\n"  # MAT1-01 holds A-101 then
        "ART1-01;ART1;20;A-102;Fri;16:00\n"
        "ART2-01;ART2;20;A-102;Fri;16:00\n"  # two rows of this file in one room at once
        "GEO1-01;GEO1;20;Z-9;Fri;16:00\n"  # no such room
    )
    report = run("timetable", text, default_term=TERM)
    found = problems(report)
    assert report.n_valid == 0 and not report.stored
    assert (2, "sala", "double booking: A-101 on Mon 08:00 is also booked for MAT1-01") in found
    assert any(row == 3 and "also booked for ART2-01" in p for row, _, p in found)
    assert any(row == 4 and "also booked for ART1-01" in p for row, _, p in found)
    assert (5, "sala", "room Z-9 is not stored; import it with the venues first") in found
    assert db.session.scalar(select(func.count()).select_from(ClassSession)) == 4


def test_moving_a_section_into_a_room_another_row_frees_is_not_a_double_booking(timetable):
    text = (
        "turma;disciplina;matriculados;sala;dia;horario\n"
        "BIO2-01;BIO2;25;L-1;Tue;10:00\n"  # leaves A-102 ...
        "HIS1-01;HIS1;30;A-102;Tue;10:00\n"  # ... which this section takes
    )
    report = run("timetable", text, default_term=TERM)
    assert report.n_valid == 2, problems(report)
    rooms = campus_sql.load_timetable(TERM).set_index("section_code")["venue_code"]
    assert rooms["BIO2-01"] == "L-1" and rooms["HIS1-01"] == "A-102"


def test_a_timetable_without_a_term_or_days_cannot_be_mapped(venues):
    with pytest.raises(MappingError) as refused:
        run("timetable", "turma;disciplina;matriculados;sala\nX-01;X;10;A-101\n")
    text = " ".join(refused.value.problems)
    assert "term_code" in text and "weekday" in text and "slot" in text


def test_numbered_weekdays_need_the_mapping_to_say_what_they_mean(venues):
    text = "turma;disciplina;matriculados;sala;dia;horario\nQUI1-01;QUI1;30;A-101;2;10:00\n"
    guessed = run("timetable", text, default_term=TERM)
    assert guessed.n_valid == 0 and "'2' is not a recognised weekday" in guessed.errors[0].problem
    brazil = {"weekday": {"Mon": ["2"], "Tue": ["3"]}}
    told = run("timetable", text, default_term=TERM, values=brazil)
    assert told.n_valid == 1 and campus_sql.load_timetable(TERM)["weekday"].tolist() == [0]


OBSERVATION_HEADER = "turma;dia;horario;semana"


def test_head_counts_surveys_and_sensors_each_import_on_their_own(timetable):
    counts = run("observations", f"{OBSERVATION_HEADER};presentes\nMAT1-01;segunda;08:00;1;95\n", default_term=TERM)
    surveys = run(
        "observations", f"{OBSERVATION_HEADER};survey\nBIO2-01;Tue;10:00;1;75%\n", default_term=TERM
    )  # share of the room seen full
    sensors = run(
        "observations",
        f"{OBSERVATION_HEADER};wifi avg;wifi max;co2\nLAB3-01;Thu;14:00;1;18,5;24;1150\n",
        default_term=TERM,
    )
    reports = (counts, surveys, sensors)
    assert [r.n_valid for r in reports] == [1, 1, 1], [problems(r) for r in reports]
    stored = campus_sql.load_observations([TERM]).set_index("section_code")
    assert stored.loc["MAT1-01", "head_count"] == 95 and pd.isna(stored.loc["MAT1-01", "survey_pct"])
    assert stored.loc["BIO2-01", "survey_pct"] == 75 and pd.isna(stored.loc["BIO2-01", "head_count"])
    assert stored.loc["LAB3-01", ["wifi_avg", "wifi_max", "co2_ppm"]].tolist() == [18.5, 24, 1150]
    assert stored.loc["MAT1-01", "venue_code"] == "A-101"  # met in its timetabled room


def test_bad_observation_rows_say_what_is_wrong(timetable):
    text = (
        f"{OBSERVATION_HEADER};presentes;survey;wifi avg;wifi max\n"
        "MAT1-01;segunda;08:00;2;;40;;\n"  # survey share off the bins
        "MAT1-01;quarta;08:00;2;;;30;20\n"  # max below average
        "XYZ-01;segunda;08:00;2;50;;;\n"  # no such session
        "BIO2-01;Tue;10:00;2;;;;\n"  # nothing measured
        "BIO2-01;Tue;10:00;99;20;;;\n"  # week out of range
        "LAB3-01;Thu;14:00;2;-3;;;\n"  # negative count
        "LAB3-01;Thu;14:00;3;17;;;\n"
    )
    report = run("observations", text, default_term=TERM)
    found = {row: (column, problem) for row, column, problem in problems(report)}
    assert report.n_valid == 1
    assert found[2] == ("survey", "survey share 40 % is not one of the bins 0 %, 25 %, 50 %, 75 %, 100 %")
    assert found[3] == ("wifi max", "Wi-Fi maximum 20 is below the average 30")
    assert "no class session XYZ-01 on Mon 08:00 in term 2026-1; import the timetable first" in found[4][1]
    assert "no measurement in this row" in found[5][1]
    assert found[6][0] == "semana" and "above 53" in found[6][1]
    assert found[7][0] == "presentes" and "negative" in found[7][1]


def test_an_observation_file_with_no_measurement_column_cannot_be_mapped(timetable):
    with pytest.raises(MappingError, match="Map at least one measurement"):
        run("observations", f"{OBSERVATION_HEADER}\nMAT1-01;segunda;08:00;1\n", default_term=TERM)


def test_dates_give_the_week_of_term_from_its_start(timetable):
    term = db.session.scalar(select(Term).where(Term.code == TERM))
    term.start_date = pd.Timestamp("2026-03-02").date()
    db.session.commit()
    lines = [
        "turma;dia;horario;data;presentes",
        "MAT1-01;segunda;08:00;16/03/2026;90",
        "MAT1-01;segunda;08:00;2026-02-01;90",
    ]
    text = "\n".join(lines) + "\n"
    report = run("observations", text, default_term=TERM)
    assert report.n_valid == 1 and "before the term's first week" in report.errors[0].problem
    assert db.session.scalar(select(AttendanceObservation.week)) == 3


def test_a_dry_run_checks_everything_and_writes_nothing(venues):
    report = run("timetable", TIMETABLE, default_term=TERM, dry_run=True)
    assert report.n_valid == 4 and not report.stored and "would import 4 of 4 rows" in report.summary()
    assert db.session.scalar(select(func.count()).select_from(ClassSession)) == 0
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 1  # the venues' batch only


def test_excel_files_import_like_csv(campus_db):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Room", "Building", "Type", "Seats"])
    sheet.append(["X-1", "X", "Lecture hall", 200])
    data = io.BytesIO()
    book.save(data)
    report = import_file("venues", data.getvalue(), "rooms.xlsx", uploaded_by="test")
    assert report.n_valid == 1 and db.session.scalar(select(Venue.capacity).where(Venue.code == "X-1")) == 200
