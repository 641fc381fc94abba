"""A census file dropped in by hand (a state's subset, a bare CSV or a zip of it) loads exactly: its school count
and its QT_MAT_* sums per stage equal the file's own, as pandas reads them independently of Aula."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core import db
from core.models import CensusMunicipalityEnrollment, CensusUfEnrollment
from ml.census import columns, panel, store
from tests.unit.census.zips import read_as_text

ENROLLMENTS = [c.name for c in columns.ENROLLMENTS]


def write_like_inep(frame: pd.DataFrame, path) -> None:
    frame.to_csv(path, sep=";", index=False, encoding="latin-1", lineterminator="\r\n")


def assert_loaded_exactly(frame: pd.DataFrame, data_dir, year: int) -> None:
    numbers = frame[ENROLLMENTS].apply(pd.to_numeric)  # '' -> NaN
    loaded = panel.query(
        "SELECT count(*) AS schools, "
        + ", ".join(f"sum({c}) AS {c}, count({c}) AS n_{c}" for c in ENROLLMENTS)
        + " FROM panel",
        data_dir=data_dir,
    ).iloc[0]
    assert loaded["schools"] == len(frame)
    for name in ENROLLMENTS:
        assert loaded[name] == numbers[name].sum(), name
        assert loaded[f"n_{name}"] == numbers[name].notna().sum(), f"{name}: NULLs are not zeros"
    for stage in (*columns.STAGES, columns.TOTAL):
        stored = db.session.scalar(
            select(func.sum(CensusUfEnrollment.enrollment)).where(
                CensusUfEnrollment.year == year, CensusUfEnrollment.stage == stage.code
            )
        )
        assert stored == numbers[stage.enrollment].sum(), stage.code
    by_town = (
        numbers.assign(CO_MUNICIPIO=frame["CO_MUNICIPIO"].astype(int)).groupby("CO_MUNICIPIO")["QT_MAT_FUND_AI"].sum()
    )
    stored = dict(
        db.session.execute(
            select(CensusMunicipalityEnrollment.co_municipio, CensusMunicipalityEnrollment.enrollment).where(
                CensusMunicipalityEnrollment.stage == "FUND_AI"
            )
        ).all()
    )
    assert stored == {town: total for town, total in by_town.items() if total > 0}


@pytest.mark.parametrize("packaging", ["bare csv", "zip"])
def test_a_states_subset_dropped_in_by_hand_loads_exactly(census_db, census_zips, tmp_path, packaging):
    text = read_as_text(census_zips[2023].path)
    bahia = text[text["SG_UF"] == "BA"]
    csv_path = tmp_path / "microdados_ed_basica_2023.csv"
    write_like_inep(bahia, csv_path)
    path = csv_path
    if packaging == "zip":
        path = tmp_path / "bahia_2023.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(csv_path, "dados/microdados_ed_basica_2023.csv")
        csv_path.unlink()
    loaded = store.load_year(path, 2023, data_dir=tmp_path / "data")
    assert loaded.rows == len(bahia) and loaded.md5_check == "absent"
    assert_loaded_exactly(bahia, tmp_path / "data", 2023)


def test_a_file_written_from_scratch_with_pandas_loads_exactly(census_db, tmp_path):
    """Not the generator's output: INEP's real header in a shuffled order, random counts and NULLs."""
    rng = np.random.default_rng(4)
    n = 3_000
    header = list(columns.header_2023())
    rng.shuffle(header)
    frame = pd.DataFrame({name: rng.integers(0, 2, n).astype(str) for name in header})
    frame["NU_ANO_CENSO"] = "2023"
    frame["CO_ENTIDADE"] = (29_000_000 + rng.choice(999_999, n, replace=False)).astype(str)
    frame["CO_UF"] = "29"
    frame["SG_UF"] = "BA"
    frame["CO_MUNICIPIO"] = (2_900_000 + rng.integers(1, 400, n)).astype(str)
    frame["NO_MUNICIPIO"] = "Feira de Santana"
    frame["NO_ENTIDADE"] = np.where(
        rng.random(n) < 0.5, "ESCOLA MUNICIPAL SÃO JOÃO", "COLÉGIO ESTADUAL JOSÉ DE ALENCAR"
    )
    frame["TP_DEPENDENCIA"] = rng.integers(1, 5, n).astype(str)
    frame["TP_LOCALIZACAO"] = rng.integers(1, 3, n).astype(str)
    frame["TP_SITUACAO_FUNCIONAMENTO"] = rng.choice(["1", "2", "3", "4"], n, p=[0.85, 0.05, 0.03, 0.07])
    for name in [c for c in header if c.startswith(("QT_MAT_", "QT_DOC_", "QT_TUR_"))]:
        values = rng.poisson(rng.uniform(1, 400), n).astype(str)
        frame[name] = np.where(frame["TP_SITUACAO_FUNCIONAMENTO"].isin(["1", "4"]) & (rng.random(n) > 0.02), values, "")
    path = tmp_path / "censo_2023_bahia.csv"
    write_like_inep(frame, path)
    loaded = store.load_year(path, 2023, data_dir=tmp_path / "data")
    assert loaded.rows == n
    assert_loaded_exactly(frame, tmp_path / "data", 2023)
