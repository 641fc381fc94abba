"""Read a census year, as INEP publishes it or as dropped in by hand, into a table of the panel's schema.

`locate(path)` finds the school-level CSV in a zip (by a case-insensitive pattern, wherever its folder is) or
takes a bare CSV, and the md5 INEP lists for it. `CensusReader.read()` then parses the CSV with pyarrow, in
blocks on every core, straight from the zip stream (nothing is extracted to disk), reading only the panel's
columns with explicit types: codes and counts parse as integers from the bytes, and only the name columns are
decoded from Latin-1 (Windows-1252). Empty fields stay NULL, apart from 0. The md5 is computed on the bytes as
they stream and checked before the table is returned, so a bad file raises before anything is built from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ml.census.columns import FIRST_MULTI_TABLE_YEAR, PANEL_COLUMNS, PanelColumn
from ml.census.errors import CensusChecksumError, CensusFormatError, CensusLayoutError
from ml.census.zipfile_safe import DEFAULT_LIMITS, ArchiveLimits, member_path, open_archive

CSV_MEMBER = re.compile(r"microdados_ed_basica_(\d{4})\.csv$", re.IGNORECASE)
MD5_MEMBER = re.compile(r"md5[^/]*\.txt$", re.IGNORECASE)
# The tables INEP publishes instead of the school-level file from 2025 on.
TABLE_MEMBER = re.compile(r"(escola|matricula|turma|docente|gestor)[^/]*\.csv$", re.IGNORECASE)
_MD5_LINE = re.compile(r"^\s*([0-9a-fA-F]{32})\s+\*?(.+?)\s*$")
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
DELIMITERS = (";", "|", ",", "\t")
DEFAULT_BLOCK_BYTES = 1 << 20  # pyarrow parses blocks in parallel: small blocks keep both cores busy
_HEADER_LIMIT = 1 << 20

BytesProgress = Callable[[int, int], None]  # (bytes read, bytes in the CSV)


@dataclass(frozen=True)
class CensusSource:
    """Where one year's school-level CSV is: a zip member or a plain file, and the md5 INEP gives for it."""

    path: Path
    member: str | None  # the CSV's name inside the zip; None for a bare CSV
    year: int | None  # the year its file name says
    expected_md5: str | None
    csv_bytes: int
    limits: ArchiveLimits = DEFAULT_LIMITS

    @property
    def name(self) -> str:
        return PurePosixPath(self.member).name if self.member else self.path.name

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.member is None:
            with open(self.path, "rb") as handle:
                yield handle
            return
        with open_archive(self.path, self.limits, year=self.year) as archive, archive.open(self.member) as handle:
            yield handle


def locate(path: Path, *, year: int | None = None, limits: ArchiveLimits = DEFAULT_LIMITS) -> CensusSource:
    """Find the school-level CSV of `year` in the zip or bare CSV at `path` (any year when None)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        return _bare_csv(path, year)
    with open_archive(path, limits, year=year) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        info = _csv_member(members, year, path)
        named_year = _year_of(info, year)
        expected = _md5_for(archive, members, member_path(info).name)
    return CensusSource(path, info.filename, named_year, expected, info.file_size, limits)


def _csv_member(members: list[zipfile.ZipInfo], year: int | None, path: Path) -> zipfile.ZipInfo:
    matches = [info for info in members if CSV_MEMBER.search(member_path(info).name)]
    if year is not None:
        matches = [info for info in matches if CSV_MEMBER.search(member_path(info).name).group(1) == str(year)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(info.filename for info in matches)
        raise CensusLayoutError(f"{path.name} holds several school-level files ({names}); name the year", year=year)
    tables = sorted({TABLE_MEMBER.search(member_path(i).name).group(1).lower() for i in members if _is_table(i)})
    if tables:
        raise CensusLayoutError(
            f"{path.name} uses INEP's multi-table layout (from {FIRST_MULTI_TABLE_YEAR}: tables "
            f"{', '.join(tables)}) and has no school-level file microdados_ed_basica_YYYY.csv. Aula reads the "
            "school-level file: the QT_MAT_* enrollment counts per stage and grade it needs are not in the escola "
            "table of that layout (they moved to the matricula table), and several IN_* stage flags are "
            "discontinued, so this year is not loaded.",
            year=year,
        )
    csvs = [info for info in members if member_path(info).suffix.lower() == ".csv"]
    others = [info for info in csvs if not member_path(info).name.lower().startswith("suplemento")]
    if len(others) == 1:  # a zip made by hand around a single file
        return others[0]
    found = ", ".join(info.filename for info in csvs[:10]) or "no CSV at all"
    raise CensusLayoutError(f"{path.name} has no microdados_ed_basica_YYYY.csv (found: {found})", year=year)


def _is_table(info: zipfile.ZipInfo) -> bool:
    return bool(TABLE_MEMBER.search(member_path(info).name))


def _year_of(info: zipfile.ZipInfo, year: int | None) -> int | None:
    match = CSV_MEMBER.search(member_path(info).name) or _YEAR_IN_NAME.search(member_path(info).name)
    return int(match.group(1)) if match else year


def _md5_for(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], csv_name: str) -> str | None:
    for info in members:
        if MD5_MEMBER.search(member_path(info).name) and info.file_size < 1 << 16:
            found = _md5_in(archive.read(info).decode("latin-1"), csv_name)
            if found:
                return found
    return None


def _md5_in(text: str, csv_name: str) -> str | None:
    for line in text.splitlines():
        match = _MD5_LINE.match(line)
        if match and PurePosixPath(match.group(2).replace("\\", "/")).name.casefold() == csv_name.casefold():
            return match.group(1).lower()
    return None


def _bare_csv(path: Path, year: int | None) -> CensusSource:
    """A CSV dropped in by hand; INEP's md5 file beside it (as unzipped) is used when it lists this file."""
    if not path.is_file():
        raise CensusLayoutError(f"{path} does not exist", year=year)
    match = CSV_MEMBER.search(path.name) or _YEAR_IN_NAME.search(path.name)
    named_year = int(match.group(1)) if match else year
    expected = None
    for sibling in path.parent.iterdir():
        if MD5_MEMBER.search(sibling.name) and sibling.is_file() and sibling.stat().st_size < 1 << 16:
            expected = expected or _md5_in(sibling.read_text(encoding="latin-1"), path.name)
    return CensusSource(path, None, named_year, expected, path.stat().st_size)


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass
class CensusReader:
    """Read one year's CSV into a table of `PANEL_SCHEMA` (`read()`): one year at a time, so memory stays
    bounded by the largest year (~100 MB for the national file) however many years are loaded.

    After `read()`: `rows`, `md5` (of the CSV bytes), `md5_check` ("ok" or "absent": no md5 was published for
    the file), `renamed` (current name -> the name this year's file used) and `missing` (optional panel columns
    the year lacks, NULL throughout).
    """

    source: CensusSource
    year: int | None = None
    block_bytes: int = DEFAULT_BLOCK_BYTES
    on_bytes: BytesProgress | None = None
    columns: tuple[PanelColumn, ...] = PANEL_COLUMNS
    rows: int = 0
    md5: str | None = None
    md5_check: str | None = None
    renamed: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.year is not None and self.source.year is not None and self.year != self.source.year:
            raise CensusFormatError(f"{self.source.name} is named for {self.source.year}", year=self.year)
        self.year = self.year or self.source.year

    def read(self) -> pa.Table:
        """The year in `PANEL_SCHEMA`; raises CensusChecksumError if the bytes read do not match INEP's md5."""
        with self.source.open() as raw:
            header = _read_header(raw, self.source.name, self.year)
        actual = self._resolve(header.names)
        convert = pcsv.ConvertOptions(
            include_columns=list(actual.values()),
            column_types={
                actual[c.name]: (pa.binary() if c.is_text else c.type) for c in self.columns if c.name in actual
            },
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        hashing = self.source.expected_md5 is not None
        with self.source.open() as raw:
            stream = _CountingReader(raw, self.source.csv_bytes, self.on_bytes, hashing=hashing)
            try:
                table = pcsv.read_csv(
                    pa.PythonFile(stream, mode="r"),
                    read_options=pcsv.ReadOptions(block_size=self.block_bytes, use_threads=True),
                    parse_options=pcsv.ParseOptions(delimiter=header.delimiter),
                    convert_options=convert,
                )
            except pa.ArrowInvalid as exc:
                message = f"{self.source.name} does not parse as the census file: {exc}"
                raise CensusFormatError(message, year=self.year) from exc
            except zipfile.BadZipFile as exc:
                raise CensusFormatError(f"{self.source.name} is damaged inside the zip: {exc}", year=self.year) from exc
            stream.drain()
        self._check_md5(stream)
        return self._normalise(table, actual)

    def _resolve(self, names: list[str]) -> dict[str, str]:
        """Panel name -> the name in this file, for each panel column the file has."""
        by_upper = {name.upper(): name for name in names}
        actual: dict[str, str] = {}
        missing_required, missing = [], []
        for column in self.columns:
            for candidate in (column.name, *column.older_names):
                if candidate in by_upper:
                    actual[column.name] = by_upper[candidate]
                    if candidate != column.name:
                        self.renamed[column.name] = by_upper[candidate]
                    break
            else:
                (missing_required if column.required else missing).append(column.name)
        if missing_required:
            raise CensusLayoutError(
                f"{self.source.name} lacks required column(s) {', '.join(missing_required)} "
                f"(it has {len(names)} columns)",
                year=self.year,
            )
        self.missing = tuple(missing)
        return actual

    def _normalise(self, table: pa.Table, actual: dict[str, str]) -> pa.Table:
        columns = []
        for column in self.columns:
            if column.name not in actual:
                columns.append(pa.nulls(table.num_rows, column.type))
            elif column.is_text:
                chunks = table.column(actual[column.name]).chunks
                columns.append(pa.chunked_array([decode_text(chunk) for chunk in chunks], pa.string()))
            else:
                columns.append(table.column(actual[column.name]))
        out = pa.Table.from_arrays(columns, schema=pa.schema([pa.field(c.name, c.type) for c in self.columns]))
        self._check_year(out)
        self.rows = out.num_rows
        return out

    def _check_year(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        years = table.column("NU_ANO_CENSO")
        if years.null_count:
            raise CensusFormatError(f"{self.source.name} has rows without NU_ANO_CENSO", year=self.year)
        low, high = pc.min_max(years).values()
        if low.as_py() != high.as_py():
            raise CensusFormatError(f"{self.source.name} mixes census years {low} to {high}", year=self.year)
        if self.year is None:
            self.year = low.as_py()
        elif low.as_py() != self.year:
            raise CensusFormatError(f"{self.source.name} holds census year {low}, not {self.year}", year=self.year)

    def _check_md5(self, stream: _CountingReader) -> None:
        self.md5 = stream.hexdigest()
        if self.source.expected_md5 is None:
            self.md5_check = "absent"
            return
        if self.md5 != self.source.expected_md5:
            self.md5_check = "mismatch"
            raise CensusChecksumError(
                f"{self.source.name} has md5 {self.md5} but INEP's md5 file says {self.source.expected_md5}: the "
                "download is damaged or the file was changed; fetch it again",
                year=self.year,
            )
        self.md5_check = "ok"


@dataclass(frozen=True)
class _Header:
    names: list[str]
    delimiter: str


def _read_header(raw: BinaryIO, name: str, year: int | None) -> _Header:
    head = raw.read(_HEADER_LIMIT)
    line = head.split(b"\n", 1)[0].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    delimiter = max(DELIMITERS, key=line.count)
    if not line or line.count(delimiter) == 0:
        raise CensusLayoutError(f"{name} has no header row of INEP column names", year=year)
    names = [part.strip().strip('"') for part in line.split(delimiter)]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise CensusLayoutError(f"{name} repeats column(s) {', '.join(duplicated)} in its header", year=year)
    return _Header(names, delimiter)


class _CountingReader:
    """A read-only stream that counts (and, when asked, md5-hashes) the bytes pyarrow pulls through it."""

    def __init__(self, raw: BinaryIO, total: int, on_bytes: BytesProgress | None, *, hashing: bool) -> None:
        self.raw, self.total, self.on_bytes = raw, total, on_bytes
        self.digest = hashlib.md5(usedforsecurity=False) if hashing else None
        self.count = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.digest is not None:
            self.digest.update(data)
        self.count += len(data)
        if self.on_bytes is not None and data:
            self.on_bytes(self.count, self.total)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    def hexdigest(self) -> str | None:
        return self.digest.hexdigest() if self.digest is not None else None


# --- Latin-1 / Windows-1252 text -------------------------------------------------------------------------------


def _cp1252_table() -> tuple[np.ndarray, np.ndarray]:
    utf8 = np.zeros((256, 3), dtype=np.uint8)
    lengths = np.zeros(256, dtype=np.int64)
    for byte in range(256):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:  # five bytes Windows-1252 leaves undefined: read them as Latin-1
            char = chr(byte)
        encoded = char.encode("utf-8")
        utf8[byte, : len(encoded)] = np.frombuffer(encoded, dtype=np.uint8)
        lengths[byte] = len(encoded)
    return utf8, lengths


_CP1252_UTF8, _CP1252_LENGTHS = _cp1252_table()


def decode_text(values: pa.Array) -> pa.Array:
    """Binary cells to text: as UTF-8 when they are valid UTF-8 (ASCII, or a file re-saved as UTF-8), otherwise
    from Windows-1252, INEP's encoding, byte by byte through a lookup table."""
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid:
        return _from_cp1252(values)


def _from_cp1252(values: pa.Array) -> pa.Array:
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=n + 1, offset=values.offset * 4)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    lengths = _CP1252_LENGTHS[data]
    positions = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(lengths, out=positions[1:])
    out = np.empty(int(positions[-1]), dtype=np.uint8)
    starts = positions[:-1]
    for k in range(3):
        chosen = lengths > k
        out[starts[chosen] + k] = _CP1252_UTF8[data[chosen], k]
    new_offsets = positions[offsets - offsets[0]].astype(np.int32)
    validity = None
    if values.null_count:
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(out), validity, values.null_count)
