"""One census year into storage: its Parquet panel file and its SQL rows, replaced together or not at all.

`load_year(path, year)` streams the CSV (`reader.CensusReader`) into a temporary Parquet file beside the panel,
checks it (one row per school, known UFs), computes the year's aggregates with DuckDB, then in one SQL
transaction replaces the year's aggregate rows and its `census_years` row and swaps the new file in. If the
commit fails the previous file is put back, so a failed year leaves what was loaded before exactly as it was.
A crash between the swap and the commit is repaired by the next load: the `load_id` in `census_years` says
which file the database knows. Loads into one data directory take turns (a file lock).

`sync_schools()` then brings the `schools` table in line with every year loaded, writing only what changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, insert, select, update

from core import db
from core.models import CensusMunicipalityEnrollment, CensusUfEnrollment, CensusYear, School
from ml.census.columns import PANEL_SCHEMA, STAGES, TOTAL
from ml.census.errors import CensusFormatError
from ml.census.geography import UF_BY_CODE
from ml.census.panel import connect, panel_dir, panel_files
from ml.census.reader import DEFAULT_BLOCK_BYTES, BytesProgress, CensusReader, locate
from ml.census.zipfile_safe import DEFAULT_LIMITS, ArchiveLimits

LOAD_ID_KEY = b"aula.load_id"
ROW_GROUP_ROWS = 131_072
RowsProgress = Callable[[int], None]
# UF sigla from its code (the code is required in every year; the sigla column is not).
_UF_SIGLA = "CASE CO_UF " + " ".join(f"WHEN {uf.code} THEN '{uf.sigla}'" for uf in UF_BY_CODE.values()) + " END"
UF_KEYS = (
    f"CO_UF AS co_uf, coalesce(TP_DEPENDENCIA, 0) AS dependency, coalesce(TP_LOCALIZACAO, 0) AS location, "
    f"{_UF_SIGLA} AS uf"
)
MUNICIPALITY_KEYS = (
    "CO_MUNICIPIO AS co_municipio, any_value(CO_UF) AS co_uf, coalesce(any_value(NO_MUNICIPIO), '') AS municipality"
)


@dataclass(frozen=True)
class YearLoad:
    """What a loaded year holds and how it was read."""

    year: int
    rows: int
    active_schools: int
    csv_md5: str | None
    md5_check: str  # ok | absent
    renamed: dict[str, str] = field(default_factory=dict)  # current INEP name -> the name this year's file used
    missing: tuple[str, ...] = ()  # optional panel columns the year does not have (NULL in the panel)
    seconds: float = 0.0


def load_year(
    path: Path,
    year: int | None = None,
    *,
    data_dir: Path | None = None,
    on_bytes: BytesProgress | None = None,
    on_rows: RowsProgress | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> YearLoad:
    """Load the census zip or bare CSV at `path` as `year` (None: the year the file says), replacing that year.

    Raises a `ml.census.errors.CensusError` subclass naming the year and the reason; the panel and the SQL
    rows loaded before are then unchanged.
    """
    start = time.perf_counter()
    source = locate(path, year=year, limits=limits)
    reader = CensusReader(source, year=year, on_bytes=on_bytes, block_bytes=block_bytes)
    folder = panel_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    load_id = uuid.uuid4().hex
    with _writer_lock(folder):
        _recover(folder)
        partial = folder / f".{load_id}.parquet.tmp"
        try:
            _write_parquet(reader, partial, load_id, on_rows)
            if reader.rows == 0:
                raise CensusFormatError(f"{source.name} has a header but no schools", year=reader.year)
            totals = _year_totals(partial, reader.year)
            _commit(reader, partial, load_id, totals, folder)
        finally:
            partial.unlink(missing_ok=True)
    return YearLoad(
        year=reader.year,
        rows=reader.rows,
        active_schools=totals.active,
        csv_md5=reader.md5,
        md5_check=reader.md5_check,
        renamed=dict(reader.renamed),
        missing=reader.missing,
        seconds=time.perf_counter() - start,
    )


def sync_schools(data_dir: Path | None = None) -> int:
    """Insert or update `schools` from every year loaded (each school as of the last year listing it).

    Returns the number of rows written; schools no longer in any year are kept.
    """
    files = panel_files(data_dir)
    if not files:
        return 0
    with connect(files=files) as con:
        latest = con.execute(_SCHOOLS_SQL).fetchall()
    table = School.__table__
    stored = {row[0]: tuple(row) for row in db.session.execute(select(*table.columns))}
    inserts, updates = [], []
    for row in latest:
        old = stored.get(row[0])
        if old != row:
            (inserts if old is None else updates).append(row)
    columns = [column.key for column in table.columns]
    with db.transaction() as s:
        _insert_many(s, table, columns, inserts)
        if updates:
            s.execute(update(School), [dict(zip(columns, row, strict=True)) for row in updates])
    return len(inserts) + len(updates)


def _insert_many(s, table, columns: list[str], rows: list[tuple]) -> None:
    """INSERT through the driver's executemany: at tens of thousands of rows SQLAlchemy's per-row parameter
    handling costs more than the database."""
    if not rows:
        return
    connection = s.connection()
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=columns)
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup]
        params = rows if order == list(range(len(columns))) else [tuple(row[i] for i in order) for row in rows]
    else:
        params = [dict(zip(columns, row, strict=True)) for row in rows]
    connection.exec_driver_sql(compiled.string, params)


# In the order of the `schools` table's columns.
_SCHOOLS_SQL = f"""
SELECT CO_ENTIDADE,
       left(coalesce(arg_max(NO_ENTIDADE, NU_ANO_CENSO), ''), 200),
       arg_max({_UF_SIGLA}, NU_ANO_CENSO),
       arg_max(CO_UF, NU_ANO_CENSO),
       arg_max(CO_MUNICIPIO, NU_ANO_CENSO),
       left(coalesce(arg_max(NO_MUNICIPIO, NU_ANO_CENSO), ''), 120),
       coalesce(arg_max(TP_DEPENDENCIA, NU_ANO_CENSO), 0),
       coalesce(arg_max(TP_LOCALIZACAO, NU_ANO_CENSO), 0),
       coalesce(arg_max(TP_SITUACAO_FUNCIONAMENTO, NU_ANO_CENSO), 0),
       min(NU_ANO_CENSO),
       max(NU_ANO_CENSO)
FROM panel GROUP BY CO_ENTIDADE ORDER BY CO_ENTIDADE
"""


# --- writing one year ------------------------------------------------------------------------------------------


def _write_parquet(reader: CensusReader, path: Path, load_id: str, on_rows: RowsProgress | None) -> None:
    schema = PANEL_SCHEMA.with_metadata({LOAD_ID_KEY: load_id.encode()})
    pending: list[pa.RecordBatch] = []
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in reader:
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending, PANEL_SCHEMA))
                pending = []
            if on_rows is not None:
                on_rows(reader.rows)
        if pending:
            writer.write_table(pa.Table.from_batches(pending, PANEL_SCHEMA))


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[tuple]


@dataclass(frozen=True)
class _Totals:
    active: int
    uf: _Rows
    municipality: _Rows


def _year_totals(path: Path, year: int) -> _Totals:
    """Check the year's rows and sum them by UF and by municipality, per stage."""
    with connect(files={year: path}) as con:
        repeated = con.execute(
            "SELECT CO_ENTIDADE FROM panel GROUP BY CO_ENTIDADE HAVING count(*) > 1 ORDER BY 1 LIMIT 5"
        ).fetchall()
        if repeated:
            codes = ", ".join(str(code) for (code,) in repeated)
            raise CensusFormatError(f"schools listed more than once (CO_ENTIDADE {codes}...)", year=year)
        unknown = [
            code for (code,) in con.execute("SELECT DISTINCT CO_UF FROM panel").fetchall() if code not in UF_BY_CODE
        ]
        if unknown:
            raise CensusFormatError(f"unknown CO_UF code(s) {sorted(unknown, key=str)}", year=year)
        active = con.execute("SELECT count_if(TP_SITUACAO_FUNCIONAMENTO = 1) FROM panel").fetchone()[0]
        uf = _records(con, _stage_sql(UF_KEYS))
        municipality = _records(con, _stage_sql(MUNICIPALITY_KEYS, keep_empty=False))
    return _Totals(active, uf, municipality)


def _stage_sql(keys: str, *, keep_empty: bool = True) -> str:
    """One SELECT per stage (and the whole school), grouped by `keys`; NULL counts add nothing."""
    parts = []
    for stage in (*STAGES, TOTAL):
        enrollment = f"coalesce(sum({stage.enrollment}), 0)"
        sums = (
            f"coalesce(count_if({stage.enrollment} > 0), 0) AS schools, {enrollment} AS enrollment, "
            f"coalesce(sum({stage.teachers}), 0) AS teachers, coalesce(sum({stage.classes}), 0) AS classes"
        )
        having = "" if keep_empty else f" HAVING {enrollment} + coalesce(sum({stage.teachers}), 0) > 0"
        select_ = f"SELECT NU_ANO_CENSO AS year, {keys}, '{stage.code}' AS stage, {sums}"
        parts.append(f"{select_} FROM panel GROUP BY ALL{having}")
    return "\nUNION ALL\n".join(parts)


def _records(con, sql: str) -> _Rows:
    cursor = con.execute(sql)
    return _Rows([d[0] for d in cursor.description], cursor.fetchall())


def _commit(reader: CensusReader, partial: Path, load_id: str, totals: _Totals, folder: Path) -> None:
    year = reader.year
    final, previous = folder / f"{year}.parquet", folder / f".{year}.{load_id}.previous"
    s = db.session()
    try:
        for model, rows in ((CensusUfEnrollment, totals.uf), (CensusMunicipalityEnrollment, totals.municipality)):
            s.execute(delete(model).where(model.year == year))
            _insert_many(s, model.__table__, rows.columns, rows.rows)
        s.merge(
            CensusYear(
                year=year,
                load_id=load_id,
                rows=reader.rows,
                active_schools=totals.active,
                csv_md5=reader.md5,
                md5_check=reader.md5_check,
                renamed_columns=dict(reader.renamed),
                missing_columns=list(reader.missing),
                loaded_at=db.utcnow(),
            )
        )
        s.flush()
    except BaseException:
        s.rollback()
        raise
    had_previous = final.exists()
    if had_previous:
        os.replace(final, previous)
    os.replace(partial, final)
    try:
        s.commit()
    except BaseException:
        s.rollback()
        _put_back(final, previous, had_previous)
        raise
    previous.unlink(missing_ok=True)


def _put_back(final: Path, previous: Path, had_previous: bool) -> None:
    if had_previous:
        os.replace(previous, final)
    else:
        final.unlink(missing_ok=True)


def _recover(folder: Path) -> None:
    """Finish what a crashed load left: drop partial files; keep or restore each swapped-out previous file."""
    for stale in folder.glob(".*.parquet.tmp"):
        stale.unlink()
    for previous in folder.glob(".*.previous"):
        year = int(previous.name.split(".")[1])
        final = folder / f"{year}.parquet"
        known = db.session.scalar(select(CensusYear.load_id).where(CensusYear.year == year))
        db.session.rollback()  # end the read transaction before touching files
        if final.exists() and known == _load_id(final):
            previous.unlink()  # the swap was committed
        else:
            os.replace(previous, final)


def _load_id(path: Path) -> str | None:
    metadata = pq.read_schema(path).metadata or {}
    return metadata.get(LOAD_ID_KEY, b"").decode() or None


@contextlib.contextmanager
def _writer_lock(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
