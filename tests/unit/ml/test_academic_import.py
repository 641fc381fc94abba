"""Importing an institution's own academic records: reading files, suggesting and applying a mapping."""

from __future__ import annotations

import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ml.data.academic_fields import DEFAULT_PASS_MARK
from ml.data.academic_import import (
    ColumnMapping,
    ImportFormatError,
    MappingError,
    RowError,
    academic_mapping,
    apply_mapping,
    read_table,
    suggest_mapping,
)

UCI_HEADER = ["school", "sex", "age", "studytime", "failures", "absences", "G1", "G2", "G3"]


def table(rows: list[list[str]], header: list[str]) -> pd.DataFrame:
    """A frame as read_table returns it: text cells, missing for '', index = file row numbers."""
    data = "\n".join(";".join(row) for row in [header, *rows]).encode()
    return read_table(data, "upload.csv")


BASIC_HEADER = ["student", "matricula", "disciplina", "semestre", "faltas", "nota1", "nota final"]
BASIC_MAPPING = {
    "matricula": "student_id",
    "disciplina": "course_code",
    "semestre": "term_code",
    "faltas": "absences",
    "nota1": "grade_p1",
    "nota final": "final_grade",
}


def basic(rows: list[list[str]], **mapping_options) -> tuple[pd.DataFrame, ColumnMapping]:
    return table(rows, BASIC_HEADER), academic_mapping(fields=dict(BASIC_MAPPING), **mapping_options)


# --- read_table -----------------------------------------------------------------------------


def test_reads_semicolon_latin1_file_with_accents_and_decimal_commas():
    data = "Matrícula;Disciplina;Nota\n001;Cálculo I;7,5\n002;Física;8,0\n".encode("latin-1")

    frame = read_table(data, "notas.csv")

    assert list(frame.columns) == ["Matrícula", "Disciplina", "Nota"]
    assert frame["Disciplina"].tolist() == ["Cálculo I", "Física"]
    assert frame["Nota"].tolist() == ["7,5", "8,0"]
    assert frame.attrs["source_format"]["separator"] == ";"


def test_decimal_commas_do_not_fool_separator_detection():
    # Split on commas, every row has 2 fields, so csv.Sniffer alone answers ','.
    data = b"id;nome;nota (0,10)\nS1;Ana;7,5\nS2;Rui;8,0\n"

    frame = read_table(data, "notas.csv")

    assert list(frame.columns) == ["id", "nome", "nota (0,10)"]
    assert frame["nota (0,10)"].tolist() == ["7,5", "8,0"]


def test_reads_comma_file_with_utf8_bom():
    data = b"\xef\xbb\xbf" + "student_id,name\nS1,João\n".encode()

    frame = read_table(data, "export.csv")

    assert list(frame.columns) == ["student_id", "name"]
    assert frame["name"].tolist() == ["João"]


def test_reads_tab_separated_file():
    frame = read_table(b"id\tcourse\tterm\nS1\tMAT101\t2024.1\n", "export.tsv")

    assert frame.loc[2].tolist() == ["S1", "MAT101", "2024.1"]


def test_keeps_separators_and_quotes_inside_quoted_fields():
    data = b'id,name,comment\nS1,"Silva, Ana","said ""hi"", left"\nS2,"Costa, Rui",ok\n'

    frame = read_table(data, "export.csv")

    assert frame["name"].tolist() == ["Silva, Ana", "Costa, Rui"]
    assert frame["comment"].tolist() == ['said "hi", left', "ok"]


def test_reads_crlf_and_old_mac_cr_line_endings():
    crlf = read_table(b"id|course\r\nS1|MAT101\r\nS2|FIS202\r\n", "export.txt")
    cr_only = read_table(b"id,course\rS1,MAT101\rS2,FIS202\r", "export.csv")

    assert crlf["course"].tolist() == cr_only["course"].tolist() == ["MAT101", "FIS202"]
    assert crlf.index.tolist() == cr_only.index.tolist() == [2, 3]


def test_reads_utf16_unicode_text_export():
    frame = read_table("id\tnome\nS1\tJoão\n".encode("utf-16"), "export.txt")

    assert frame["nome"].tolist() == ["João"]


def test_cells_stay_text_stripped_and_blank_cells_are_missing():
    frame = read_table(b" id , score ,code\n007,  ,0012\n 8 ,1e3,\n", "export.csv")

    assert list(frame.columns) == ["id", "score", "code"]
    assert frame["id"].tolist() == ["007", "8"]  # no type guessing: leading zeros survive
    assert frame["score"].isna().tolist() == [True, False]
    assert frame["score"].iloc[1] == "1e3"
    assert pd.isna(frame["code"].iloc[1])
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in frame.dtypes)


def test_index_is_the_file_row_number_even_around_blank_lines():
    frame = read_table(b"id,course\nS1,A\n\n,\nS2,B\n", "export.csv")

    assert frame.index.name == "source_row"
    assert frame.index.tolist() == [2, 5]
    assert frame["id"].tolist() == ["S1", "S2"]


def test_reads_first_sheet_of_xlsx_as_text():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Student ID", " Course ", "Attendance", "G1", None])
    sheet.append([12345, " MAT101 ", 0.85, 7.5, None])
    sheet.append([None, None, None, None, None])
    sheet.append([12346.0, "FIS202", 1, 15, None])
    sheet["C2"].number_format = "0%"  # Excel shows 85 %, stores 0.85
    workbook.create_sheet("ignored").append(["other", "sheet"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    frame = read_table(buffer.getvalue(), "records.xlsx")

    assert list(frame.columns) == ["Student ID", "Course", "Attendance", "G1"]
    assert frame.index.tolist() == [2, 4]
    assert frame["Student ID"].tolist() == ["12345", "12346"]
    assert frame["Course"].tolist() == ["MAT101", "FIS202"]
    assert frame["Attendance"].tolist() == ["85%", "1"]
    assert frame["G1"].tolist() == ["7.5", "15"]


def test_single_column_file_raises_with_a_hint_about_separators():
    with pytest.raises(ImportFormatError, match=r"separators tried.*semicolon"):
        read_table(b"student_id\nS1\nS2\n", "ids.csv")


def test_empty_file_raises():
    with pytest.raises(ImportFormatError, match="empty"):
        read_table(b"", "empty.csv")
    with pytest.raises(ImportFormatError, match="empty"):
        read_table(b"\n \r\n", "blank.csv")


def test_header_without_rows_raises():
    with pytest.raises(ImportFormatError, match="no data rows"):
        read_table(b"id,course\n", "header-only.csv")


def test_duplicated_header_names_raise():
    with pytest.raises(ImportFormatError, match="'nota' appears twice \\(columns 2 and 3\\)"):
        read_table(b"id,nota, nota\nS1,1,2\n", "dup.csv")


def test_file_without_a_header_row_raises():
    with pytest.raises(ImportFormatError, match="looks like data"):
        read_table(b"1,7.5,8\n2,6,5\n", "no-header.csv")
    with pytest.raises(ImportFormatError, match="If that row is a title, delete it"):
        read_table(b"Notas 2024\nid,course\nS1,A\n", "title.csv")


def test_unsupported_extension_raises():
    with pytest.raises(ImportFormatError, match=r"'\.pdf' are not supported"):
        read_table(b"%PDF-1.7 ...", "report.pdf")
    with pytest.raises(ImportFormatError, match=r"\.xls\).*save it as \.xlsx"):
        read_table(b"\xd0\xcf\x11\xe0", "old.xls")


def test_binary_garbage_raises():
    garbage = bytes(np.random.default_rng(0).integers(0, 256, 4_000, dtype=np.uint8))

    with pytest.raises(ImportFormatError, match="binary data"):
        read_table(garbage, "records.csv")


def test_xlsx_that_is_not_a_workbook_raises():
    with pytest.raises(ImportFormatError, match="not a valid Excel workbook"):
        read_table(b"id,course\nS1,MAT101\n", "records.xlsx")
    with pytest.raises(ImportFormatError, match="not a valid Excel workbook"):
        read_table(b"PK\x03\x04 truncated zip", "records.xlsx")


def test_row_with_more_values_than_columns_raises_naming_the_row():
    with pytest.raises(ImportFormatError, match="Row 3 has 4 values"):
        read_table(b"id;course;term\nS1;A;1\nS2;B;1;extra\n", "records.csv")


def test_files_over_max_rows_raise():
    data = ("id,course\n" + "".join(f"S{i},A\n" for i in range(11))).encode()

    assert len(read_table(data, "records.csv", max_rows=11)) == 11
    with pytest.raises(ImportFormatError, match="more than 10 rows"):
        read_table(data, "records.csv", max_rows=10)


# --- suggest_mapping ------------------------------------------------------------------------


def test_suggests_fields_for_the_uci_student_performance_header():
    """UCI's `studytime` is an ordinal code (1-4) and its `absences` a whole-year total: neither is suggested as
    the week-8 signal they are not; `failures` (past class failures) is known before the term."""
    assert suggest_mapping(UCI_HEADER) == {
        "sex": "sex",
        "age": "age",
        "failures": "prior_failures",
        "G1": "grade_p1",
        "G2": "grade_p2",
        "G3": "final_grade",
    }


def test_suggests_fields_for_a_portuguese_header():
    header = ["Matrícula", "Disciplina", "Semestre", "Curso", "Frequência (%)", "Faltas"]
    header += ["Nota 1", "Nota Final", "Situação", "Observação"]

    # A file with final results: its plain attendance and absences are whole-term figures, not weeks 1-8.
    assert suggest_mapping(header) == {
        "Matrícula": "student_id",
        "Disciplina": "course_code",
        "Semestre": "term_code",
        "Curso": "programme",
        "Nota 1": "grade_p1",
        "Nota Final": "final_grade",
        "Situação": "passed",
    }


def test_plain_attendance_of_a_current_term_file_is_the_attendance_so_far():
    assert suggest_mapping(["Matrícula", "Disciplina", "Frequência (%)"])["Frequência (%)"] == "attendance_w8"


def test_suggestion_maps_each_field_from_one_column_only():
    suggestion = suggest_mapping(["Student Number", "student_id", "Attendance", "attendance_w8"])

    assert suggestion == {"student_id": "student_id", "attendance_w8": "attendance_w8"}


# --- ColumnMapping --------------------------------------------------------------------------


def test_mapping_survives_a_json_round_trip():
    mapping = academic_mapping(
        fields={"Matrícula": "student_id", "G1": "grade_p1"},
        extra=["Tutor"],
        scales={"grade_p1": 20.0},
        pass_values=["Aprovado por nota"],
        fail_values=["Trancado"],
        default_term="2024.1",
        pass_mark=60.0,
    )

    assert ColumnMapping.from_dict(json.loads(json.dumps(mapping.to_dict()))) == mapping


def test_malformed_saved_mapping_raises_mapping_error():
    with pytest.raises(MappingError, match="'fields' must map"):
        ColumnMapping.from_dict({"fields": ["student_id"]})
    with pytest.raises(MappingError, match="Unknown key 'feilds'"):
        ColumnMapping.from_dict({"feilds": {}})


# --- apply_mapping: the mapping itself ------------------------------------------------------


def test_mapping_without_student_id_raises_before_reading_rows():
    frame, mapping = basic([["x", "S1", "MAT", "2024.1", "1", "10", "12"]])
    del mapping.fields["matricula"]

    with pytest.raises(MappingError, match="Map a column to student_id") as raised:
        apply_mapping(frame, mapping)
    assert len(raised.value.problems) == 1


def test_mapping_level_problems_are_all_reported_together():
    frame, _ = basic([["x", "S1", "MAT", "2024.1", "1", "10", "12"]])
    mapping = academic_mapping(
        fields={
            "student": "student_id",
            "matricula": "student_id",
            "disciplina": "course",
            "nota final": "final_grade",
        }
    )

    with pytest.raises(MappingError) as raised:
        apply_mapping(frame, mapping)

    message = str(raised.value)
    assert "student_id is mapped from more than one column ('student', 'matricula')" in message
    assert "'course' (for column 'disciplina') is not a known field" in message
    assert "Map a column to term_code (term), or set a default term" in message
    assert "the final grade alone is the outcome" in message


# --- apply_mapping: rows --------------------------------------------------------------------


def test_valid_rows_are_all_kept_and_invalid_ones_excluded():
    frame, mapping = basic(
        [
            ["", "S1", "MAT", "2024.1", "1", "10", "12"],
            ["", "S2", "MAT", "2024.1", "x", "10", "12"],
            ["", "S3", "MAT", "2024.1", "0", "10", "12"],
        ]
    )

    result = apply_mapping(frame, mapping)

    assert result.records["student_id"].tolist() == ["S1", "S3"]
    assert result.records["source_row"].tolist() == [2, 4]
    assert (result.n_rows, result.n_invalid_rows, result.n_valid_rows) == (3, 1, 2)


def test_grades_on_a_declared_0_20_scale_are_rescaled_to_0_100():
    frame, mapping = basic([["", "S1", "MAT", "2024.1", "1", "15", "10"]], scales={"grade_p1": 20, "final_grade": 20})

    records = apply_mapping(frame, mapping).records

    assert records["grade_p1"].tolist() == [75.0]
    assert records["final_grade"].tolist() == [50.0]


def test_numbers_accept_decimal_commas_spaces_and_percent_signs():
    frame = table([["S1", "MAT", "1", "7,5", " 85 %"]], ["id", "course", "term", "quiz", "attendance"])
    fields = ["student_id", "course_code", "term_code", "quiz_1", "attendance_w8"]
    mapping = academic_mapping(fields=dict(zip(["id", "course", "term", "quiz", "attendance"], fields, strict=True)))

    records = apply_mapping(frame, mapping).records

    assert records["quiz_1"].tolist() == [7.5]
    assert records["attendance_w8"].tolist() == [85.0]


def test_bad_number_is_reported_with_file_row_and_source_column():
    frame, mapping = basic(
        [["", "S1", "MAT", "2024.1", "1", "10", "12"], [], ["", "S2", "MAT", "2024.1", "abc", "10", "12"]]
    )

    result = apply_mapping(frame, mapping)

    # Row 3 of the file is blank, so the bad row is row 4 as a spreadsheet numbers it.
    assert result.errors == [RowError(row=4, column="faltas", problem="'abc' is not a number")]


def test_thousands_separators_are_not_guessed():
    frame, mapping = basic([["", "S1", "MAT", "2024.1", "1.234,5", "10", "12"]])

    assert apply_mapping(frame, mapping).errors[0].problem == "'1.234,5' is not a number"


def test_out_of_range_values_are_reported():
    header = ["id", "course", "term", "attendance", "absences", "age", "quiz"]
    frame = table([["S1", "MAT", "1", "130", "-2", "7", "101"]], header)
    fields = ["student_id", "course_code", "term_code", "attendance_w8", "absences", "age", "quiz_1"]
    mapping = academic_mapping(fields=dict(zip(header, fields, strict=True)))

    problems = [error.problem for error in apply_mapping(frame, mapping).errors]

    assert problems == [
        "attendance 130 is above 100 %",
        "absences -2 is negative",
        "age 7 is below 10",
        "quiz 101 is above the maximum of 100; if this column uses another scale (e.g. 0-10 or 0-20), "
        "declare its maximum",
    ]


def test_prior_gpa_is_kept_on_a_0_4_scale():
    header = ["id", "course", "term", "absences", "cr"]
    frame = table([["S1", "MAT", "1", "0", "7,5"]], header)
    fields = dict(zip(header, ["student_id", "course_code", "term_code", "absences", "prior_gpa"], strict=True))

    undeclared = apply_mapping(frame, academic_mapping(fields=fields))
    declared = apply_mapping(frame, academic_mapping(fields=fields, scales={"prior_gpa": 10}))

    assert undeclared.errors[0].problem.startswith("cr 7,5 is above the maximum of 4")
    assert declared.records["prior_gpa"].tolist() == [3.0]


def test_duplicate_keys_are_reported_and_the_first_row_kept():
    frame, mapping = basic(
        [
            ["", "S1", "MAT", "2024.1", "1", "10", "12"],
            ["", "S2", "MAT", "2024.1", "1", "10", "12"],
            ["", "S1", "MAT", "2024.2", "1", "10", "12"],
            ["", "S1", "MAT", "2024.1", "3", "11", "13"],
        ]
    )

    result = apply_mapping(frame, mapping)

    assert result.errors == [
        RowError(row=5, column="matricula", problem="duplicate of row 2 (same student, course and term)")
    ]
    assert result.records["source_row"].tolist() == [2, 3, 4]


def test_a_row_with_two_problems_yields_two_errors_in_column_order():
    frame, mapping = basic([["", "", "MAT", "2024.1", "lots", "10", "12"]])

    result = apply_mapping(frame, mapping)

    assert [(e.row, e.column) for e in result.errors] == [(2, "matricula"), (2, "faltas")]
    assert result.errors[0].problem == "student ID is missing"
    assert result.n_invalid_rows == 1 and result.records.empty


def test_passed_is_derived_from_final_grade_when_no_outcome_column_is_mapped():
    frame, mapping = basic(
        [
            ["", "S1", "MAT", "2024.1", "1", "10", "12"],
            ["", "S2", "MAT", "2024.1", "1", "10", "9,5"],
            ["", "S3", "MAT", "2024.1", "1", "10", ""],
        ],
        scales={"final_grade": 20},
    )

    passed = apply_mapping(frame, mapping).records["passed"]

    assert DEFAULT_PASS_MARK == 50.0
    assert str(passed.dtype) == "boolean"
    assert passed.tolist() == [True, False, pd.NA]


def test_outcome_text_is_read_in_english_and_portuguese():
    outcomes = ["Aprovado", "reprovado por falta", "PASS", "0", "", "Trancado", "talvez"]
    rows = [[f"S{i}", "MAT", "1", "1", outcome] for i, outcome in enumerate(outcomes)]
    frame = table(rows, ["id", "course", "term", "absences", "result"])
    fields = {"id": "student_id", "course": "course_code", "term": "term_code", "absences": "absences"}
    mapping = academic_mapping(fields=fields | {"result": "passed"}, fail_values=["trancado"])

    result = apply_mapping(frame, mapping)

    assert result.records["passed"].tolist() == [True, False, True, False, pd.NA, False]
    assert [(e.row, e.column) for e in result.errors] == [(8, "result")]
    assert result.errors[0].problem.startswith("'talvez' is not a recognised outcome")


def test_records_follow_the_records_frame_contract():
    header = ["id", "course", "term", "sex", "age", "curso", "g1", "g3"]
    frame = table([["S1", "MAT", "2024.1", "Feminino", "19", "Eng", "7", "8"]], header)
    fields = ["student_id", "course_code", "term_code", "sex", "age", "programme", "grade_p1", "final_grade"]
    mapping = academic_mapping(
        fields=dict(zip(header, fields, strict=True)), scales={"grade_p1": 10, "final_grade": 10}
    )

    records = apply_mapping(frame, mapping).records

    assert list(records.columns) == [
        "student_id",
        "course_code",
        "term_code",
        "grade_p1",
        "age",
        "sex",
        "programme",
        "final_grade",
        "passed",
        "pass_mark",
        "source_row",
    ]
    assert records.iloc[0].to_dict() == {
        "student_id": "S1",
        "course_code": "MAT",
        "term_code": "2024.1",
        "grade_p1": 70.0,
        "age": 19.0,
        "sex": "F",
        "programme": "Eng",
        "final_grade": 80.0,
        "passed": True,
        "pass_mark": 50.0,
        "source_row": 2,
    }
    assert records["grade_p1"].dtype == float and records["age"].dtype == float
    assert pd.api.types.is_string_dtype(records["student_id"].dtype)


def test_extra_columns_become_x_fields_numeric_when_every_value_is_a_number():
    frame, mapping = basic(
        [["Ana", "S1", "MAT", "2024.1", "1", "10", "12"], ["Rui", "S2", "MAT", "2024.1", "1", "10", ""]],
    )
    mapping.extra = ["student", "nota final"]
    del mapping.fields["nota final"]

    records = apply_mapping(frame, mapping).records

    assert records["x_student"].tolist() == ["Ana", "Rui"]
    assert pd.api.types.is_string_dtype(records["x_student"].dtype)
    assert records["x_nota_final"].dtype == float
    assert records["x_nota_final"].iloc[0] == 12.0 and np.isnan(records["x_nota_final"].iloc[1])


def test_default_term_applies_when_no_term_column_is_mapped():
    frame, mapping = basic([["", "S1", "MAT", "", "1", "10", "12"]], default_term="2025.1")
    del mapping.fields["semestre"]

    assert apply_mapping(frame, mapping).records["term_code"].tolist() == ["2025.1"]


def test_errors_are_capped_but_every_invalid_row_is_counted():
    frame, mapping = basic([["", f"S{i}", "MAT", "2024.1", "?", "10", "999"] for i in range(30)])

    result = apply_mapping(frame, mapping, max_errors=5)

    assert [e.row for e in result.errors] == [2, 2, 3, 3, 4]
    assert (result.n_errors, result.n_invalid_rows, result.errors_truncated) == (60, 30, True)


def test_row_numbers_assume_a_header_row_when_the_frame_has_no_source_row_index():
    frame = pd.DataFrame({"id": ["S1", None], "course": ["MAT", "MAT"], "faltas": ["1", "2"]})
    mapping = academic_mapping(
        fields={"id": "student_id", "course": "course_code", "faltas": "absences"}, default_term="T"
    )

    assert apply_mapping(frame, mapping).errors == [RowError(3, "id", "student ID is missing")]


# --- real exports: outcomes, withdrawals, scales, calendar, weeks ------------------------------


def test_outcome_words_beyond_pass_and_fail_are_understood():
    """A distance-learning export: Pass, Distinction, Fail, Withdrawn (Distinction counts as a pass)."""
    header = ["id_student", "code_module", "code_presentation", "score", "final_result"]
    frame = table([["1", "AAA", "2013J", "80", "Distinction"], ["2", "AAA", "2013J", "40", "Fail"],
                   ["3", "AAA", "2013J", "", "Withdrawn"], ["4", "AAA", "2013J", "60", "Pass"]], header)  # fmt: skip
    fields = {"id_student": "student_id", "code_module": "course_code", "code_presentation": "term_code",
              "score": "assignment_1", "final_result": "passed"}  # fmt: skip
    records = apply_mapping(frame, academic_mapping(fields)).records
    assert records["passed"].tolist() == [True, False, False, True]
    assert records["withdrawn"].tolist() == [False, False, True, False]


def test_the_mapping_says_what_an_institutions_own_outcome_words_mean():
    frame = table([["1", "M", "T", "10", "Aprovado por média"], ["2", "M", "T", "10", "Trancou"]],
                  ["a", "c", "t", "faltas", "res"])  # fmt: skip
    fields = {"a": "student_id", "c": "course_code", "t": "term_code", "faltas": "attendance_w8", "res": "passed"}
    unknown = apply_mapping(frame, academic_mapping(fields))
    assert [e.problem.split(" (")[0] for e in unknown.errors] == ["'Trancou' is not a recognised outcome"]
    records = apply_mapping(frame, academic_mapping(fields, withdrawn_values=["Trancou"])).records
    assert records["passed"].tolist() == [True, False] and records["withdrawn"].tolist() == [False, True]


def test_a_withdrawal_week_marks_the_student_withdrawn():
    frame = table([["1", "M", "T", "50", "6"], ["2", "M", "T", "70", ""]], ["a", "c", "t", "att", "week"])
    fields = {
        "a": "student_id",
        "c": "course_code",
        "t": "term_code",
        "att": "attendance_w8",
        "week": "withdrawal_week",
    }
    records = apply_mapping(frame, academic_mapping(fields)).records
    assert records["withdrawn"].tolist() == [True, False] and records["withdrawal_week"].iloc[0] == 6.0


def test_a_0_20_grade_file_under_out_of_100_is_warned_about_before_storing():
    rows = [[str(i), "M", "T", str(g), str(g + 1)] for i, g in enumerate([8, 12, 15, 9, 17, 11])]
    frame = table(rows, ["a", "c", "t", "G1", "G3"])
    fields = {"a": "student_id", "c": "course_code", "t": "term_code", "G1": "grade_p1", "G3": "final_grade"}
    warned = apply_mapping(frame, academic_mapping(fields)).warnings
    assert len(warned) == 2 and "'G1' (first-period grade) is at most 20" in warned[0]
    assert apply_mapping(frame, academic_mapping(fields, scales={"grade_p1": 20, "final_grade": 20})).warnings == []


def test_each_score_field_has_its_own_scale():
    """Grades out of 20 do not make attendance out of 20."""
    frame = table([["1", "M", "T", "15", "80"]], ["a", "c", "t", "G1", "freq w8"])
    fields = {"a": "student_id", "c": "course_code", "t": "term_code", "G1": "grade_p1", "freq w8": "attendance_w8"}
    records = apply_mapping(frame, academic_mapping(fields, scales={"grade_p1": 20})).records
    assert records[["grade_p1", "attendance_w8"]].iloc[0].tolist() == [75.0, 80.0]


def test_study_time_codes_1_to_4_are_warned_about():
    rows = [[str(i), "M", "T", str(c)] for i, c in enumerate([1, 2, 2, 3, 4, 1, 2])]
    frame = table(rows, ["a", "c", "t", "weekly study hours"])
    fields = {"a": "student_id", "c": "course_code", "t": "term_code", "weekly study hours": "study_time_hours"}
    assert "ordinal code" in apply_mapping(frame, academic_mapping(fields)).warnings[0]


def test_a_pass_mark_column_sets_each_courses_pass_mark():
    frame = table([["1", "M1", "T", "12", "10", "11"], ["2", "M2", "T", "12", "12", "11"]],
                  ["a", "c", "t", "G1", "nota minima", "G3"])  # fmt: skip
    fields = {"a": "student_id", "c": "course_code", "t": "term_code", "G1": "grade_p1", "nota minima": "pass_mark",
              "G3": "final_grade"}  # fmt: skip
    scales = {"grade_p1": 20, "pass_mark": 20, "final_grade": 20}
    records = apply_mapping(frame, academic_mapping(fields, scales=scales)).records
    assert records["pass_mark"].tolist() == [50.0, 60.0] and records["passed"].tolist() == [True, False]


def test_declared_weeks_travel_with_the_mapping_and_name_extra_columns():
    from ml.data.academic_import import ACADEMIC
    from ml.data.import_engine import known_weeks

    mapping = academic_mapping({"a": "student_id", "faltas": "absences"}, extra=["Bolsista", "Turma"],
                               weeks={"absences": 99, "Bolsista": 0})  # fmt: skip
    again = ColumnMapping.from_dict(json.loads(json.dumps(mapping.to_dict())))
    weeks = known_weeks(ACADEMIC, again)
    assert weeks["absences"] == 99 and weeks["x_bolsista"] == 0 and weeks["x_turma"] is None
    assert weeks["student_id"] is None


def test_terms_are_ordered_by_the_date_their_code_stands_for():
    from ml.data.academic_sql import term_start_from_code

    codes = ["Spring 2025", "Fall 2024", "Spring 2024", "2024-2", "2025-1", "1º semestre 2024"]
    ordered = sorted(codes, key=term_start_from_code)
    assert ordered.index("Spring 2024") < ordered.index("Fall 2024") < ordered.index("Spring 2025")
    assert ordered.index("1º semestre 2024") < ordered.index("2024-2") < ordered.index("2025-1")
    assert sorted(["Fall 2024", "Spring 2024"]) == ["Fall 2024", "Spring 2024"]  # what sorting codes would do


def test_json_records_follow_the_same_rules_as_a_file():
    """validate_records (one record at a time, no pandas) agrees with apply_mapping on the same values."""
    import random

    from ml.data.academic_import import ACADEMIC
    from ml.data.import_engine import validate_records

    rng = random.Random(3)
    fields = ["student_id", "course_code", "term_code", "attendance_w8", "quiz_1", "absences", "age", "prior_gpa",
              "sex", "study_time_hours"]  # fmt: skip
    cells = {"attendance_w8": ["85", "120", "-3", "7,5", "x", ""], "quiz_1": ["50", "101", "0"],
             "absences": ["3", "-1", ""], "age": ["19", "5", "120"], "prior_gpa": ["3.5", "4.5", ""],
             "sex": ["feminino", "M", "other"], "study_time_hours": ["10", "200"]}  # fmt: skip
    rows = [[f"S{i}", "MAT", "T1", *(rng.choice(cells[f]) for f in fields[3:])] for i in range(60)]
    frame = table(rows, fields)
    by_file = apply_mapping(frame, academic_mapping(dict(zip(fields, fields, strict=True))))
    records = [dict(zip(fields, row, strict=True)) for row in rows]
    valid, positions, errors = validate_records(ACADEMIC, records)
    assert positions == [r - 2 for r in by_file.records["source_row"]]
    assert {(e.record + 2, e.field) for e in errors} == {(e.row, e.column) for e in by_file.errors}
    assert {(e.record + 2, e.problem) for e in errors} == {(e.row, e.problem) for e in by_file.errors}
    for value, (_, expected) in zip(valid, by_file.records.iterrows(), strict=True):
        for name in ("attendance_w8", "quiz_1", "prior_gpa", "sex"):
            assert (value.get(name) is None and pd.isna(expected[name])) or value[name] == expected[name]
