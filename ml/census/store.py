"""One census year into storage: its Parquet panel file and its SQL rows, replaced together or not at all.

`load_year(path, year)` is `read_year` then `store_year`. `read_year` reads the year into memory
(`reader.CensusReader`: one year at a time, ~100 MB for the national file) and checks it. `store_year` writes
it to a temporary Parquet file beside the panel while DuckDB checks it (one row per school, known UFs) and
sums it, then in one SQL transaction replaces the year's aggregate rows and its `census_years` row and swaps
the new file in. If the commit fails the previous file is put back, so a failed year leaves what was loaded
before exactly as it was. A crash between the swap and the commit is repaired by the next store: the
`load_id` in `census_years` says which file the database knows. Stores into one data directory take turns
(a file lock).

`sync_schools()` then brings the `schools` table in line with every year loaded, writing only what changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, insert, select, update

from core import db
from core.models import CensusMunicipalityEnrollment, CensusUfEnrollment, CensusYear, School
from ml.census.columns import STAGES, TOTAL
from ml.census.errors import CensusFormatError
from ml.census.geography import UF_BY_CODE
from ml.census.panel import connect, panel_dir, panel_files
from ml.census.reader import DEFAULT_BLOCK_BYTES, BytesProgress, CensusReader, locate
from ml.census.zipfile_safe import DEFAULT_LIMITS, ArchiveLimits

LOAD_ID_KEY = b"aula.load_id"
ROW_GROUP_ROWS = 131_072
PARQUET_COMPRESSION = "lz4"
PARQUET_DICTIONARY = ["SG_UF", "NO_MUNICIPIO"]  # text that repeats; codes and counts encode well as they are
# Min/max statistics only where a query filters (a school's history, a UF, a municipality): on the hundred
# count columns they cost a quarter of the write and prune nothing.
PARQUET_STATISTICS = ["NU_ANO_CENSO", "CO_ENTIDADE", "CO_UF", "CO_MUNICIPIO"]
# UF sigla from its code (the code is required in every year; the sigla column is not).
_UF_SIGLA = "CASE CO_UF " + " ".join(f"WHEN {uf.code} THEN '{uf.sigla}'" for uf in UF_BY_CODE.values()) + " END"
UF_KEYS = (
    ("CO_UF", "co_uf"),
    ("coalesce(TP_DEPENDENCIA, 0)", "dependency"),
    ("coalesce(TP_LOCALIZACAO, 0)", "location"),
    (_UF_SIGLA, "uf"),
)
MUNICIPALITY_KEYS = (
    ("CO_MUNICIPIO", "co_municipio"),
    ("any_value(CO_UF)", "co_uf"),
    ("coalesce(any_value(NO_MUNICIPIO), '')", "municipality"),
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


@dataclass(frozen=True)
class YearRead:
    """A year read and checked, not stored yet (`read_year`): no database is touched to get here."""

    reader: CensusReader
    table: pa.Table
    seconds: float

    @property
    def year(self) -> int:
        return self.reader.year


def load_year(
    path: Path,
    year: int | None = None,
    *,
    data_dir: Path | None = None,
    on_bytes: BytesProgress | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> YearLoad:
    """Load the census zip or bare CSV at `path` as `year` (None: the year the file says), replacing that year.

    Raises a `ml.census.errors.CensusError` subclass naming the year and the reason; the panel and the SQL
    rows loaded before are then unchanged.
    """
    return store_year(read_year(path, year, on_bytes=on_bytes, limits=limits), data_dir=data_dir)


def read_year(
    path: Path,
    year: int | None = None,
    *,
    on_bytes: BytesProgress | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> YearRead:
    """The first half of `load_year`: find, read and check the year (thread-safe; a refresh reads the next
    year in a helper thread while it stores this one)."""
    start = time.perf_counter()
    source = locate(path, year=year, limits=limits)
    reader = CensusReader(source, year=year, on_bytes=on_bytes, block_bytes=block_bytes)
    table = reader.read()
    if table.num_rows == 0:
        raise CensusFormatError(f"{source.name} has a header but no schools", year=reader.year)
    return YearRead(reader, table, time.perf_counter() - start)


def store_year(read: YearRead, *, data_dir: Path | None = None) -> YearLoad:
    """The second half of `load_year`: the year's Parquet file and SQL rows, replaced together or not at all."""
    start = time.perf_counter()
    reader, table = read.reader, read.table
    folder = panel_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    load_id = uuid.uuid4().hex
    with _writer_lock(folder):
        _recover(folder)
        partial = folder / f".{load_id}.parquet.tmp"
        try:
            # The file is written while DuckDB checks and sums the same rows (both leave the GIL).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="census-parquet") as pool:
                writing = pool.submit(_write_parquet, table, partial, load_id)
                totals = _year_totals(table, reader.year)
                writing.result()
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
        seconds=read.seconds + time.perf_counter() - start,
    )


def sync_schools(data_dir: Path | None = None) -> int:
    """Insert or update `schools` from every year loaded (each school as of the last year listing it).

    The comparison with what `schools` holds runs in DuckDB, and only new or changed rows come back to Python,
    in chunks, so memory stays small at a country's 250,000 schools. Returns the number of rows written;
    schools no longer in any year are kept.
    """
    files = panel_files(data_dir)
    if not files:
        return 0
    columns = [column.key for column in School.__table__.columns]
    changed = " OR ".join(f"l.{name} IS DISTINCT FROM s.{name}" for name in columns[1:])
    written = 0
    with connect(files=files) as con, db.transaction() as s:
        con.register("stored", _stored_schools(s, columns))
        con.execute(f"CREATE TEMP TABLE latest AS {_SCHOOLS_SQL}")
        new = con.execute("SELECT l.* FROM latest l ANTI JOIN stored s USING (co_entidade) ORDER BY 1")
        while rows := new.fetchmany(SYNC_CHUNK):
            _insert_many(s, School.__table__, columns, rows)
            written += len(rows)
        updated = con.execute(f"SELECT l.* FROM latest l JOIN stored s USING (co_entidade) WHERE {changed} ORDER BY 1")
        while rows := updated.fetchmany(SYNC_CHUNK):
            s.execute(update(School), [dict(zip(columns, row, strict=True)) for row in rows])
            written += len(rows)
    return written


def _stored_schools(s, columns: list[str]) -> pa.Table:
    """The `schools` table as Arrow, read in chunks through the driver's cursor (SQLAlchemy's per-row result
    handling would cost twice the query) and turned into columns chunk by chunk."""
    cursor = s.connection().execute(select(*School.__table__.columns)).cursor
    values: list[list] = [[] for _ in columns]
    while rows := cursor.fetchmany(SYNC_CHUNK):
        for i, column in enumerate(values):
            column.extend([row[i] for row in rows])
    return pa.table({name: pa.array(column, _SCHOOL_TYPES[name]) for name, column in zip(columns, values, strict=True)})


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


# Each school as of the last year listing it, in the `schools` table's columns. A join on each school's last
# year rather than arg_max() of every column: DuckDB then holds three integers per school, not every attribute.
_SCHOOLS_SQL = f"""
WITH span AS (
    SELECT CO_ENTIDADE, min(NU_ANO_CENSO) AS first_year, max(NU_ANO_CENSO) AS last_year FROM panel GROUP BY 1
)
SELECT p.CO_ENTIDADE AS co_entidade,
       left(coalesce(NO_ENTIDADE, ''), 200) AS name,
       {_UF_SIGLA} AS uf,
       CO_UF::SMALLINT AS co_uf,
       CO_MUNICIPIO AS co_municipio,
       left(coalesce(NO_MUNICIPIO, ''), 120) AS municipality,
       coalesce(TP_DEPENDENCIA, 0)::SMALLINT AS dependency,
       coalesce(TP_LOCALIZACAO, 0)::SMALLINT AS location,
       coalesce(TP_SITUACAO_FUNCIONAMENTO, 0)::SMALLINT AS status,
       first_year::SMALLINT AS first_year,
       last_year::SMALLINT AS last_year
FROM panel p JOIN span s ON p.CO_ENTIDADE = s.CO_ENTIDADE AND p.NU_ANO_CENSO = s.last_year
"""
_SCHOOL_TYPES = {
    "co_entidade": pa.int32(),
    "name": pa.string(),
    "uf": pa.string(),
    "co_uf": pa.int16(),
    "co_municipio": pa.int32(),
    "municipality": pa.string(),
    "dependency": pa.int16(),
    "location": pa.int16(),
    "status": pa.int16(),
    "first_year": pa.int16(),
    "last_year": pa.int16(),
}
SYNC_CHUNK = 20_000


# --- writing one year ------------------------------------------------------------------------------------------


def _write_parquet(table: pa.Table, path: Path, load_id: str) -> None:
    metadata = {**(table.schema.metadata or {}), LOAD_ID_KEY: load_id.encode()}
    pq.write_table(
        table.replace_schema_metadata(metadata),
        path,
        compression=PARQUET_COMPRESSION,
        use_dictionary=PARQUET_DICTIONARY,
        write_statistics=PARQUET_STATISTICS,
        row_group_size=ROW_GROUP_ROWS,
    )


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[tuple]


@dataclass(frozen=True)
class _Totals:
    active: int
    uf: _Rows
    municipality: _Rows


def _year_totals(table: pa.Table, year: int) -> _Totals:
    """Check the year's rows and sum them by UF and by municipality, per stage, in one scan of the file."""
    needed = {"CO_ENTIDADE", "CO_UF", "CO_MUNICIPIO", "NO_MUNICIPIO", "TP_DEPENDENCIA", "TP_LOCALIZACAO"}
    needed |= {"NU_ANO_CENSO", "TP_SITUACAO_FUNCIONAMENTO"}
    needed |= {name for stage in (*STAGES, TOTAL) for name in (stage.enrollment, stage.teachers, stage.classes)}
    with connect(files={}) as con:
        con.register("year_rows", table.select(sorted(needed)))
        repeated = con.execute(
            "SELECT CO_ENTIDADE FROM year_rows GROUP BY CO_ENTIDADE HAVING count(*) > 1 ORDER BY 1 LIMIT 5"
        ).fetchall()
        if repeated:
            codes = ", ".join(str(code) for (code,) in repeated)
            raise CensusFormatError(f"schools listed more than once (CO_ENTIDADE {codes}...)", year=year)
        codes = con.execute("SELECT DISTINCT CO_UF FROM year_rows").fetchall()
        unknown = [code for (code,) in codes if code not in UF_BY_CODE]
        if unknown:
            raise CensusFormatError(f"unknown CO_UF code(s) {sorted(unknown, key=str)}", year=year)
        active = con.execute("SELECT count_if(TP_SITUACAO_FUNCIONAMENTO = 1) FROM year_rows").fetchone()[0]
        uf = _records(con, _stage_sql(UF_KEYS))
        municipality = _records(con, _stage_sql(MUNICIPALITY_KEYS, keep_empty=False))
    return _Totals(active, uf, municipality)


def _stage_sql(keys: tuple[tuple[str, str], ...], *, keep_empty: bool = True) -> str:
    """Every stage's totals (and the whole school's) per group of `keys`, one row per group and stage.

    Each group is summed once, all stages side by side in lists, then unnested into rows. NULL counts add
    nothing; `schools` counts the schools with students in the stage.
    """
    stages = (*STAGES, TOTAL)
    lists = {
        "schools": [f"coalesce(count_if({s.enrollment} > 0), 0)" for s in stages],
        "enrollment": [f"coalesce(sum({s.enrollment}), 0)" for s in stages],
        "teachers": [f"coalesce(sum({s.teachers}), 0)" for s in stages],
        "classes": [f"coalesce(sum({s.classes}), 0)" for s in stages],
    }
    grouped = ", ".join(f"{expression} AS {alias}" for expression, alias in keys)
    summed = ", ".join(f"[{', '.join(values)}] AS {name}" for name, values in lists.items())
    codes = ", ".join(f"'{s.code}'" for s in stages)
    aliases = ", ".join(alias for _, alias in keys)
    unnested = ", ".join(f"unnest({name})::INTEGER AS {name}" for name in lists)
    sql = (
        f"SELECT year, {aliases}, unnest([{codes}]) AS stage, {unnested} FROM ("
        f"SELECT NU_ANO_CENSO AS year, {grouped}, {summed} FROM year_rows GROUP BY ALL)"
    )
    return sql if keep_empty else f"SELECT * FROM ({sql}) WHERE enrollment + teachers > 0"


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
