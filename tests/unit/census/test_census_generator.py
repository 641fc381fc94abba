"""The generator writes census years in exactly INEP's format, with a Brazil-like story inside."""

from __future__ import annotations

import hashlib
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from ml.census import columns
from ml.data.census_generator import root_folder, write_census_zips
from tests.unit.census.zips import csv_bytes, csv_member, read_as_text

REFERENCE_2023 = columns.HEADERS_DIR / "microdados_ed_basica_2023.txt"


@pytest.fixture(scope="module")
def frames(census_zips) -> dict[int, pd.DataFrame]:
    return {year: read_as_text(generated.path) for year, generated in census_zips.items() if year < 2025}


def counts(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    return frame[names].apply(pd.to_numeric)


def active(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["TP_SITUACAO_FUNCIONAMENTO"] == "1"]


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    first = write_census_zips(tmp_path / "a", [2022, 2023], 150, seed=5)
    again = write_census_zips(tmp_path / "b", [2022, 2023], 150, seed=5)
    other = write_census_zips(tmp_path / "c", [2022, 2023], 150, seed=6)
    digest = [hashlib.sha256(g.path.read_bytes()).hexdigest() for g in first]
    assert digest == [hashlib.sha256(g.path.read_bytes()).hexdigest() for g in again]
    assert [g.csv_md5 for g in first] != [g.csv_md5 for g in other]


def test_each_year_has_inep_header_for_that_year(census_zips):
    real_2023 = REFERENCE_2023.read_text().split()
    header = {
        year: csv_bytes(g.path).split(b"\r\n", 1)[0].decode("ascii").split(";")
        for year, g in census_zips.items()
        if year < 2025
    }
    assert header[2023] == real_2023 and len(real_2023) == 408
    assert len(header[2024]) == 426 and set(real_2023) < set(header[2024])
    for year in (2019, 2020, 2021):
        assert 360 <= len(header[year]) <= 380
        assert "IN_CONVENIADA_PP" in header[year] and "IN_PODER_PUBLICO_PARCERIA" not in header[year]
    assert "IN_PODER_PUBLICO_PARCERIA" in header[2022]


def test_file_is_semicolon_latin1_crlf_without_quotes(census_zips):
    data = csv_bytes(census_zips[2023].path)
    assert data.count(b"\r\n") == census_zips[2023].rows + 1
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b'"' not in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # accented names are single Latin-1 bytes
    text = data.decode("latin-1")
    assert re.search(r"[ÃÉÇÍÓÔ]", text) and "Rondônia" in text
    widths = {line.count(";") for line in text.split("\r\n")[:-1]}
    assert widths == {407}


def test_paused_and_closed_schools_have_null_counts(frames):
    frame = frames[2023]
    quantities = [c for c in frame.columns if c.startswith("QT_MAT_")]
    closed = frame[frame["TP_SITUACAO_FUNCIONAMENTO"].isin(["2", "3"])]
    assert len(closed) > 0
    assert (closed[quantities] == "").all().all()
    assert (active(frame)[quantities] != "").all().all()  # an active school's zero is written as 0


def test_inep_sum_identities_hold_on_every_row(frames):
    for frame in frames.values():
        n = counts(active(frame), [c for c in frame.columns if c.startswith("QT_MAT_")])
        assert (n.QT_MAT_INF == n.QT_MAT_INF_CRE + n.QT_MAT_INF_PRE).all()
        assert (n.QT_MAT_FUND == n.QT_MAT_FUND_AI + n.QT_MAT_FUND_AF).all()
        assert (n.QT_MAT_MED == n.QT_MAT_MED_PROP + n.QT_MAT_MED_CT + n.QT_MAT_MED_NM).all()
        assert (n[[f"QT_MAT_FUND_AI_{k}" for k in range(1, 6)]].sum(axis=1) == n.QT_MAT_FUND_AI).all()
        assert (n[[f"QT_MAT_FUND_AF_{k}" for k in range(6, 10)]].sum(axis=1) == n.QT_MAT_FUND_AF).all()
        assert (n.QT_MAT_BAS == n.QT_MAT_BAS_FEM + n.QT_MAT_BAS_MASC).all()


def test_dates_are_written_like_inep(frames):
    starts = active(frames[2023])["DT_ANO_LETIVO_INICIO"]
    assert starts.str.fullmatch(r"\d\dFEB23:00:00:00").all()
    assert (frames[2023]["DT_ANO_LETIVO_TERMINO"].loc[frames[2023]["TP_SITUACAO_FUNCIONAMENTO"] == "2"] == "").all()


def test_zip_is_laid_out_like_inep(census_zips):
    roots = set()
    for year, generated in census_zips.items():
        with zipfile.ZipFile(generated.path) as archive:  # no metadata encoding: see the raw names
            infos = archive.infolist()
        assert all(info.flag_bits & 0x800 == 0 for info in infos), "member names must not carry the UTF-8 flag"
        names = [info.orig_filename.encode("cp437").decode("cp850") for info in infos]
        roots.add(names[0].split("/")[0])
        assert all(name.startswith(root_folder(year) + "/") for name in names)
        assert any("Anexos/ANEXO I - Dicionário de Dados/" in name for name in names)
        if year < 2025:
            suffix = "CSV" if year == 2020 else "csv"
            assert f"{root_folder(year)}/dados/microdados_ed_basica_{year}.{suffix}" in names
            assert any(name.endswith(f"dados/suplemento_cursos_tecnicos_{year}.csv") for name in names)
    assert len(roots) >= 3, "the root folder's name changes from year to year"


def test_md5_file_lists_the_csv_md5(census_zips):
    generated = census_zips[2020]
    with zipfile.ZipFile(generated.path, metadata_encoding="cp850") as archive:
        listing = archive.read(next(n for n in archive.namelist() if "md5_" in n)).decode("ascii")
    line = next(line for line in listing.splitlines() if "microdados_ed_basica" in line)
    digest, name = line.split(" *")
    assert name == csv_member(generated.path).rsplit("/", 1)[1] == "microdados_ed_basica_2020.CSV"
    assert digest == hashlib.md5(csv_bytes(generated.path)).hexdigest() == generated.csv_md5


def test_structure_looks_like_brazil(frames):
    frame = frames[2023]
    assert frame["SG_UF"].nunique() == 27
    by_uf = frame["SG_UF"].value_counts()
    assert by_uf.index[0] == "SP" and by_uf["SP"] > 5 * by_uf["RR"]
    dependency = active(frame)["TP_DEPENDENCIA"].value_counts(normalize=True)
    assert set(dependency.index) == {"1", "2", "3", "4"} and dependency["3"] > 0.45 and dependency["1"] < 0.03
    assert 0.1 < (active(frame)["TP_LOCALIZACAO"] == "2").mean() < 0.45
    assert frame["CO_ENTIDADE"].is_unique and frame["CO_ENTIDADE"].str.len().eq(8).all()
    assert (frame["CO_ENTIDADE"].str[:2] == frame["CO_UF"]).all()
    assert (frame["CO_MUNICIPIO"].str[:2] == frame["CO_UF"]).all()


def test_cohorts_move_up_a_grade_each_year(frames):
    before, after = active(frames[2022]).set_index("CO_ENTIDADE"), active(frames[2023]).set_index("CO_ENTIDADE")
    both = before.index.intersection(after.index)
    grade = [f"QT_MAT_FUND_AI_{k}" for k in range(1, 6)] + [f"QT_MAT_FUND_AF_{k}" for k in range(6, 10)]
    last, this = counts(before.loc[both], grade).to_numpy(), counts(after.loc[both], grade).to_numpy()
    for g in range(4):  # 1st->2nd ... 4th->5th, within the school
        moved = this[:, g + 1]
        taught = (last[:, g] > 0) & (moved > 0)
        assert np.corrcoef(last[taught, g], moved[taught])[0, 1] > 0.9
        assert 0.8 < moved[taught].sum() / last[taught, g].sum() < 1.1
    feeds = (last[:, 4] > 0) & (this[:, 5] > 0)  # 5th grade feeding 6th where the school teaches both
    assert np.corrcoef(last[feeds, 4], this[feeds, 5])[0, 1] > 0.8


def test_schools_open_pause_close_and_change_what_they_offer(frames):
    status = pd.DataFrame({year: f.set_index("CO_ENTIDADE")["TP_SITUACAO_FUNCIONAMENTO"] for year, f in frames.items()})
    assert status[2019].isna().sum() > 0, "schools opened after 2019"
    assert ((status[2021] == "1") & (status[2022] == "3")).sum() > 0
    closed = status[2022] == "3"
    assert closed.sum() > 0 and (status.loc[closed, 2023] == "4").all(), "closed this year, closed before next"
    assert (status == "2").any().any()
    offers = pd.DataFrame({year: f.set_index("CO_ENTIDADE")["IN_INF_CRE"] for year, f in frames.items()})
    assert ((offers[2019] == "0") & (offers[2023] == "1")).sum() > 0


def test_teachers_and_classes_follow_enrollment(frames):
    frame = active(frames[2023])
    for stage in columns.STAGES:
        enrolled = counts(frame, [stage.enrollment, stage.teachers, stage.classes])
        assert ((enrolled[stage.enrollment] > 0) == (enrolled[stage.teachers] > 0)).all(), stage.code
        assert ((enrolled[stage.enrollment] > 0) == (enrolled[stage.classes] > 0)).all(), stage.code
    total = counts(frame, ["QT_MAT_BAS", "QT_DOC_BAS", "QT_TUR_BAS"])
    ratio = total.QT_MAT_BAS.sum() / total.QT_DOC_BAS.sum()
    assert 5 < ratio < 30


def test_2025_is_written_as_six_tables_without_the_school_level_file(census_zips):
    with zipfile.ZipFile(census_zips[2025].path, metadata_encoding="cp850") as archive:
        names = archive.namelist()
    tables = sorted(n.rsplit("/", 1)[1] for n in names if "/dados/Tabela_" in n)
    assert len(tables) == 6 and "Tabela_Matricula_2025.csv" in tables
    assert not any("microdados_ed_basica_2025.csv" in n.lower() for n in names)
