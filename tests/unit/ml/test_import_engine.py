"""The import engine on a schema of its own (not academic records): kinds, per-field scales, options, kinds of
mapping, duplicates and the per-row report."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data.import_engine import (
    ColumnMapping,
    Field,
    FieldSchema,
    MappingError,
    Option,
    apply_mapping,
    suggest_mapping,
)
from ml.data.table_files import read_table

ROOMS = FieldSchema(
    kind="rooms",
    fields=(
        Field("room", "id", label="room code", required=True, synonyms=("sala", "venue")),
        Field("building", "id", label="building", default_option="default_building"),
        Field("capacity", label="capacity", minimum=1, maximum=2000, synonyms=("seats", "lugares")),
        Field("occupancy", label="occupancy", unit="%", scale=100.0, synonyms=("ocupacao",)),
        Field("noise", label="noise score", unit="score", scale=10.0, synonyms=("ruido",)),
        Field("kind", "category", codes={"auditorio": "lecture_hall", "laboratorio": "lab"}, synonyms=("tipo",)),
        Field("accessible", "boolean", true_values=frozenset({"yes", "sim"}), false_values=frozenset({"no", "nao"})),
        Field("opened", "date", label="opened on"),
    ),
    options=(Option("default_building", "text", label="default building"),),
    unique_keys=("room", "building"),
    unique_label="same room and building",
)


def table(text: str) -> pd.DataFrame:
    return read_table(text.encode(), "rooms.csv")


def mapping(fields: dict[str, str], **kwargs) -> ColumnMapping:
    return ColumnMapping("rooms", fields, **kwargs)


def test_suggests_fields_from_names_labels_and_synonyms():
    assert suggest_mapping(ROOMS, ["Sala", "Lugares", "Ocupação", "Tipo", "Whatever"]) == {
        "Sala": "room",
        "Lugares": "capacity",
        "Ocupação": "occupancy",
        "Tipo": "kind",
    }


def test_a_declared_scale_rescales_only_its_own_field():
    frame = table("room;occ;noise\nA1;0.5;4\nA2;1;10\n")
    result = apply_mapping(
        ROOMS,
        frame,
        mapping({"room": "room", "occ": "occupancy", "noise": "noise"}, scales={"occupancy": 1}, options={}),
    )
    assert result.records["occupancy"].tolist() == [50.0, 100.0]
    assert result.records["noise"].tolist() == [4.0, 10.0]  # not rescaled by occupancy's declaration


def test_values_above_a_fields_scale_are_reported_with_its_own_maximum():
    frame = table("room;noise;capacity\nA1;12;10\nA2;5;0\n")
    result = apply_mapping(ROOMS, frame, mapping({"room": "room", "noise": "noise", "capacity": "capacity"}))
    problems = [(e.row, e.column, e.problem) for e in result.errors]
    assert (2, "noise", "noise 12 is above the maximum of 10; if this column uses another scale (e.g. 0-10 or "
            "0-20), declare its maximum") in problems  # fmt: skip
    assert (3, "capacity", "capacity 0 is below 1") in problems
    assert result.n_valid_rows == 0


def test_categories_booleans_and_dates_are_parsed_or_reported():
    frame = table("room;tipo;acc;opened\nA1;Auditório;Sim;2024-03-01\nA2;lab 3;talvez;01/02/2023\nA3;;;31/02/2023\n")
    result = apply_mapping(
        ROOMS, frame, mapping({"room": "room", "tipo": "kind", "acc": "accessible", "opened": "opened"})
    )
    assert result.records["kind"].tolist() == ["lecture_hall"]
    assert result.records["accessible"].tolist() == [True]
    assert str(result.records["opened"].iloc[0].date()) == "2024-03-01"
    problems = {(e.row, e.column): e.problem for e in result.errors}
    assert problems[(3, "acc")].startswith("'talvez' is not a recognised accessible")
    assert problems[(4, "opened")].startswith("'31/02/2023' is not a date")


def test_a_mappings_own_values_extend_a_yes_no_field():
    frame = table("room;acc\nA1;talvez\n")
    fields = {"room": "room", "acc": "accessible"}
    result = apply_mapping(ROOMS, frame, mapping(fields, values={"accessible": {"false": ["talvez"]}}))
    assert result.records["accessible"].tolist() == [False]


def test_an_option_fills_a_field_that_has_no_column_and_duplicates_are_reported():
    frame = table("room;seats\nA1;30\nA1;40\nB2;10\n")
    result = apply_mapping(
        ROOMS, frame, mapping({"room": "room", "seats": "capacity"}, options={"default_building": "Main"})
    )
    assert result.records["building"].tolist() == ["Main", "Main"]
    assert [(e.row, e.problem) for e in result.errors] == [(3, "duplicate of row 2 (same room and building)")]


def test_a_mapping_of_another_kind_is_refused():
    frame = table("room;x\nA1;1\n")
    with pytest.raises(MappingError, match="This mapping is for academic files, not rooms files"):
        apply_mapping(ROOMS, frame, ColumnMapping("academic", {"room": "room"}))


def test_unknown_options_and_scales_of_unscalable_fields_are_refused():
    frame = table("room;seats\nA1;30\n")
    with pytest.raises(MappingError) as raised:
        apply_mapping(
            ROOMS, frame, mapping({"room": "room", "seats": "capacity"}, scales={"capacity": 5}, options={"x": 1})
        )
    message = str(raised.value)
    assert "Unknown option 'x'" in message and "not for 'capacity'" in message


def test_mapping_round_trips_through_json():
    import json

    original = mapping(
        {"room": "room"}, extra=["Obs"], scales={"noise": 5}, values={"accessible": {"true": ["ok"]}}, options={}
    )
    assert ColumnMapping.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_a_schema_whose_spelling_names_two_fields_is_refused():
    with pytest.raises(ValueError, match="spelling of both"):
        FieldSchema("bad", (Field("a", synonyms=("x",)), Field("b", synonyms=("X",))))
