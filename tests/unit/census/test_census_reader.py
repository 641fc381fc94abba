"""The reader finds the census CSV, reads exactly what the file says with explicit types, and checks INEP's md5."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pytest

from ml.census.columns import PANEL_COLUMNS, PANEL_SCHEMA
from ml.census.errors import CensusChecksumError, CensusFormatError, CensusLayoutError
from ml.census.reader import CensusReader, decode_text, locate
from tests.unit.census.zips import csv_bytes, read_as_text, with_bad_md5, with_header_renamed


def read_all(path, year=None) -> tuple[pa.Table, CensusReader]:
    reader = CensusReader(locate(path, year=year), year=year, block_bytes=1 << 16)
    return reader.read(), reader


def test_reads_every_panel_column_exactly_as_written(census_zips):
    table, reader = read_all(census_zips[2023].path)
    text = read_as_text(census_zips[2023].path)
    assert table.schema == PANEL_SCHEMA and table.num_rows == len(text) == reader.rows
    assert reader.md5_check == "ok" and reader.md5 == census_zips[2023].csv_md5
    for column in PANEL_COLUMNS:
        got = table.column(column.name).to_pandas()
        if column.is_text:
            assert got.tolist() == text[column.name].tolist(), column.name
        else:
            written = text[column.name]
            assert (got.isna() == (written == "")).all(), f"{column.name}: NULL must stay apart from 0"
            assert (got.dropna().astype(int) == written[written != ""].astype(int)).all(), column.name


def test_types_are_explicit(census_zips):
    table, _ = read_all(census_zips[2022].path)
    assert table.schema.field("QT_MAT_BAS").type == pa.int32()
    assert table.schema.field("TP_DEPENDENCIA").type == pa.int8()
    assert table.schema.field("NO_ENTIDADE").type == pa.string()


def test_a_column_renamed_across_years_is_read_under_its_current_name(census_zips):
    table, reader = read_all(census_zips[2019].path)
    assert reader.renamed == {"IN_PODER_PUBLICO_PARCERIA": "IN_CONVENIADA_PP"}
    written = read_as_text(census_zips[2019].path)["IN_CONVENIADA_PP"]
    got = table.column("IN_PODER_PUBLICO_PARCERIA").to_pandas()
    assert (got.isna() == (written == "")).all() and got.notna().sum() > 0


def test_member_is_found_whatever_its_case_and_folder(census_zips):
    source = locate(census_zips[2020].path)
    assert source.member.endswith("/dados/microdados_ed_basica_2020.CSV") and source.year == 2020
    assert source.expected_md5 == census_zips[2020].csv_md5


def test_bad_md5_is_refused_once_every_byte_was_read(census_zips, tmp_path):
    damaged = with_bad_md5(census_zips[2023].path, tmp_path / "microdados_censo_escolar_2023.zip")
    reader = CensusReader(locate(damaged), block_bytes=1 << 16)
    with pytest.raises(CensusChecksumError, match=r"2023: .*md5"):
        reader.read()
    assert reader.md5 == census_zips[2023].csv_md5 and reader.md5_check == "mismatch"


def test_multi_table_layout_is_refused_naming_the_year_and_what_is_missing(census_zips):
    with pytest.raises(CensusLayoutError) as refused:
        locate(census_zips[2025].path, year=2025)
    message = str(refused.value)
    assert message.startswith("2025: ") and "matricula" in message and "QT_MAT_" in message


def test_missing_required_column_is_refused_and_optional_one_is_null(census_zips, tmp_path):
    gone = with_header_renamed(census_zips[2023].path, tmp_path / "a.zip", "QT_MAT_MED", "QT_MAT_MEDIO")
    with pytest.raises(CensusLayoutError, match=r"2023: .*QT_MAT_MED"):
        read_all(gone)
    optional = with_header_renamed(census_zips[2023].path, tmp_path / "b.zip", "QT_TUR_MED", "QT_TURMAS_MED")
    table, reader = read_all(optional)
    assert reader.missing == ("QT_TUR_MED",) and table.column("QT_TUR_MED").null_count == table.num_rows


def test_bare_csv_with_inep_md5_file_beside_it_is_checked(census_zips, tmp_path):
    data = csv_bytes(census_zips[2021].path)
    (tmp_path / "microdados_ed_basica_2021.csv").write_bytes(data)
    (tmp_path / "md5_microdados_ed_basica_2021.txt").write_text(f"{'f' * 32} *microdados_ed_basica_2021.csv\r\n")
    with pytest.raises(CensusChecksumError):
        read_all(tmp_path / "microdados_ed_basica_2021.csv")
    (tmp_path / "md5_microdados_ed_basica_2021.txt").write_text(
        f"{hashlib.md5(data).hexdigest()} *MICRODADOS_ED_BASICA_2021.CSV\r\n"
    )
    table, reader = read_all(tmp_path / "microdados_ed_basica_2021.csv")
    assert reader.md5_check == "ok" and table.num_rows == census_zips[2021].rows


def test_file_of_another_year_is_refused(census_zips, tmp_path):
    path = tmp_path / "censo.csv"
    path.write_bytes(csv_bytes(census_zips[2022].path))
    with pytest.raises(CensusFormatError, match=r"2023: .*holds census year 2022"):
        read_all(path, year=2023)


def test_bad_value_names_the_file(census_zips, tmp_path):
    header, first, rest = csv_bytes(census_zips[2022].path).split(b"\r\n", 2)
    cells = first.split(b";")
    cells[header.split(b";").index(b"QT_MAT_BAS")] = b"muitos"
    path = tmp_path / "microdados_ed_basica_2022.csv"
    path.write_bytes(b"\r\n".join([header, b";".join(cells), rest]))
    with pytest.raises(CensusFormatError, match=r"does not parse.*muitos"):
        read_all(path)


def test_text_is_decoded_from_windows_1252_or_kept_as_utf8():
    latin = pa.array(["São Luís".encode("cp1252"), None, "“Escola” – Açaí €".encode("cp1252"), b"ASCII"], pa.binary())
    assert decode_text(latin).to_pylist() == ["São Luís", None, "“Escola” – Açaí €", "ASCII"]
    utf8 = pa.array(["João Pessoa".encode(), None], pa.binary())
    assert decode_text(utf8).to_pylist() == ["João Pessoa", None]
    sliced = latin.slice(2, 2)
    assert decode_text(sliced).to_pylist() == ["“Escola” – Açaí €", "ASCII"]


def test_subset_resaved_as_utf8_with_commas_reads_the_same(census_zips, tmp_path):
    text = read_as_text(census_zips[2023].path)
    subset = text[text["SG_UF"] == "MG"]
    path = tmp_path / "minas_2023.csv"
    subset.to_csv(path, sep=",", index=False, encoding="utf-8")
    table, _ = read_all(path, year=2023)
    assert table.column("NO_MUNICIPIO").to_pylist() == subset["NO_MUNICIPIO"].tolist()
    assert table.column("QT_MAT_BAS").to_pandas().sum() == pd.to_numeric(subset["QT_MAT_BAS"]).sum()
