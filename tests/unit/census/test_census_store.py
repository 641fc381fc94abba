"""A census year goes to Parquet and SQL together, replaces itself on a re-run, and a failure changes nothing."""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from core import db
from core.models import CensusMunicipalityEnrollment, CensusUfEnrollment, CensusYear, School
from ml.census import panel, store
from ml.census.columns import STAGES, TOTAL
from ml.census.errors import CensusChecksumError, CensusFormatError
from tests.unit.census.zips import csv_bytes, read_as_text, with_bad_md5


def uf_totals(year: int) -> dict[str, int]:
    rows = db.session.execute(
        select(CensusUfEnrollment.stage, func.sum(CensusUfEnrollment.enrollment))
        .where(CensusUfEnrollment.year == year)
        .group_by(CensusUfEnrollment.stage)
    )
    return dict(rows.all())


def snapshot(data_dir, year: int) -> tuple:
    """Everything a year's load leaves behind, to compare before and after."""
    path = panel.year_path(year, data_dir)
    aggregates = db.session.scalars(
        select(CensusMunicipalityEnrollment).where(CensusMunicipalityEnrollment.year == year)
    )
    return (
        path.read_bytes(),
        db.session.get(CensusYear, year).load_id,
        uf_totals(year),
        sorted((r.co_municipio, r.stage, r.enrollment) for r in aggregates),
    )


def test_load_year_writes_the_panel_and_the_aggregates(census_db, census_zips, tmp_path):
    loaded = store.load_year(census_zips[2023].path, 2023, data_dir=tmp_path)
    text = read_as_text(census_zips[2023].path)
    assert (loaded.year, loaded.rows, loaded.md5_check) == (2023, len(text), "ok")
    assert loaded.active_schools == (text["TP_SITUACAO_FUNCIONAMENTO"] == "1").sum()
    assert panel.years_loaded(tmp_path) == [2023]
    expected = {stage.code: pd.to_numeric(text[stage.enrollment]).sum() for stage in (*STAGES, TOTAL)}
    assert uf_totals(2023) == expected
    by_town = db.session.execute(
        select(func.sum(CensusMunicipalityEnrollment.enrollment)).where(CensusMunicipalityEnrollment.stage == "BAS")
    ).scalar()
    assert by_town == expected["BAS"]
    year = db.session.get(CensusYear, 2023)
    assert (
        year.rows == len(text)
        and year.load_id == pq.read_schema(panel.year_path(2023, tmp_path)).metadata[b"aula.load_id"].decode()
    )


def test_null_counts_stay_null_in_the_panel(census_db, census_zips, tmp_path):
    store.load_year(census_zips[2022].path, data_dir=tmp_path)
    text = read_as_text(census_zips[2022].path)
    nulls = panel.query(
        "SELECT count(*) AS n FROM panel WHERE QT_MAT_BAS IS NULL AND TP_SITUACAO_FUNCIONAMENTO IN (2, 3)",
        data_dir=tmp_path,
    )["n"][0]
    assert nulls == text["TP_SITUACAO_FUNCIONAMENTO"].isin(["2", "3"]).sum() > 0
    zeros = panel.query("SELECT count(*) AS n FROM panel WHERE QT_MAT_MED = 0", data_dir=tmp_path)["n"][0]
    assert zeros == (text["QT_MAT_MED"] == "0").sum() > 0


def test_reloading_a_year_replaces_it_and_never_duplicates(census_db, census_zips, tmp_path):
    store.load_year(census_zips[2023].path, data_dir=tmp_path)
    first = uf_totals(2023), db.session.scalar(select(func.count()).select_from(CensusMunicipalityEnrollment))
    store.load_year(census_zips[2023].path, data_dir=tmp_path)
    assert (uf_totals(2023), db.session.scalar(select(func.count()).select_from(CensusMunicipalityEnrollment))) == first
    rows = panel.query("SELECT count(*) AS n FROM panel", data_dir=tmp_path)["n"][0]
    assert rows == census_zips[2023].rows
    assert sorted(p.name for p in panel.panel_dir(tmp_path).iterdir() if not p.name.startswith(".")) == ["2023.parquet"]


def test_a_failed_load_leaves_the_year_loaded_before_intact(census_db, census_zips, tmp_path):
    store.load_year(census_zips[2023].path, data_dir=tmp_path)
    before = snapshot(tmp_path, 2023)
    damaged = with_bad_md5(census_zips[2023].path, tmp_path / "damaged.zip")
    with pytest.raises(CensusChecksumError):
        store.load_year(damaged, 2023, data_dir=tmp_path)
    assert snapshot(tmp_path, 2023) == before
    assert [p.name for p in panel.panel_dir(tmp_path).glob(".*") if p.name != ".lock"] == []


def test_a_failed_commit_puts_the_previous_file_back(census_db, census_zips, tmp_path, monkeypatch):
    store.load_year(census_zips[2023].path, data_dir=tmp_path)
    before = snapshot(tmp_path, 2023)
    session = db.session()

    def fail():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(session, "commit", fail)
    with pytest.raises(RuntimeError, match="went away"):
        store.load_year(census_zips[2023].path, data_dir=tmp_path)
    monkeypatch.undo()
    assert snapshot(tmp_path, 2023) == before


def test_a_crash_between_swap_and_commit_is_repaired_by_the_next_load(census_db, census_zips, tmp_path):
    store.load_year(census_zips[2023].path, data_dir=tmp_path)
    before = snapshot(tmp_path, 2023)
    other = tmp_path / "other"
    store.load_year(census_zips[2023].path, data_dir=other)  # a file with another load_id, unknown to SQL here
    db.session.execute(CensusYear.__table__.update().values(load_id=before[1]))
    db.session.commit()
    folder = panel.panel_dir(tmp_path)
    (folder / "2023.parquet").rename(folder / ".2023.crashed.previous")
    shutil.copy(panel.year_path(2023, other), folder / "2023.parquet")
    store.load_year(census_zips[2022].path, data_dir=tmp_path)
    assert panel.year_path(2023, tmp_path).read_bytes() == before[0]
    assert not list(folder.glob(".*.previous"))


def test_duplicated_schools_are_refused(census_db, census_zips, tmp_path):
    header, first, rest = csv_bytes(census_zips[2022].path).split(b"\r\n", 2)
    path = tmp_path / "microdados_ed_basica_2022.csv"
    path.write_bytes(b"\r\n".join([header, first, first, rest]))
    with pytest.raises(CensusFormatError, match="more than once"):
        store.load_year(path, data_dir=tmp_path)
    assert panel.years_loaded(tmp_path) == []


def test_schools_sync_rewrites_exactly_the_rows_that_differ(census_db, census_zips, tmp_path):
    store.load_year(census_zips[2023].path, data_dir=tmp_path)
    store.sync_schools(tmp_path)
    first, second = db.session.scalars(select(School).order_by(School.co_entidade).limit(2))
    truth = (first.name, second.status)
    first.name, second.status = "Edited by hand", 9
    db.session.delete(db.session.get(School, db.session.scalar(select(func.max(School.co_entidade)))))
    db.session.commit()
    assert store.sync_schools(tmp_path) == 3, "two changed rows and one missing row, nothing else"
    db.session.expire_all()
    assert (db.session.get(School, first.co_entidade).name, db.session.get(School, second.co_entidade).status) == truth
    assert store.sync_schools(tmp_path) == 0


def test_schools_hold_each_school_as_of_the_latest_year(census_db, census_zips, tmp_path):
    for year in (2021, 2022, 2023):
        store.load_year(census_zips[year].path, data_dir=tmp_path)
    assert store.sync_schools(tmp_path) > 0
    assert store.sync_schools(tmp_path) == 0, "nothing changed, nothing written"
    texts = {year: read_as_text(census_zips[year].path).set_index("CO_ENTIDADE") for year in (2021, 2022, 2023)}
    schools = {s.co_entidade: s for s in db.session.scalars(select(School))}
    assert len(schools) == len(set().union(*(t.index for t in texts.values())))
    for code, school in list(schools.items())[::25]:
        years = [year for year, t in texts.items() if str(code) in t.index]
        latest = texts[years[-1]].loc[str(code)]
        assert (school.first_year, school.last_year) == (years[0], years[-1])
        assert (school.name, school.uf, school.status) == (
            latest["NO_ENTIDADE"],
            latest["SG_UF"],
            int(latest["TP_SITUACAO_FUNCIONAMENTO"]),
        )
