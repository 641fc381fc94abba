"""Read an uploaded table (CSV or Excel) into a frame of text, whatever its encoding and separator.

Nothing is typed here: every cell stays text so that the import step can report "'abc' is not a
number" against the cell the person typed, instead of pandas silently turning a column into floats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from pathlib import PurePath

import numpy as np
import pandas as pd

DEFAULT_MAX_ROWS = 200_000
# An .xlsx is compressed, so its upload size does not bound its width; this does.
MAX_COLUMNS = 1_000
SEPARATORS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
READ_TABLE_SUFFIX = ".parquet"  # a table read_table made before (see `already_read`), not a user's format

_SAMPLE_CHARS = 64 * 1024
_SAMPLE_ROWS = 200
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected .xlsx
_NUMBER_LIKE = re.compile(r"^[+-]?\d+([.,]\d+)?%?$")
_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


class ImportFormatError(ValueError):
    """The file cannot be read as a table; the message says what to change in the file."""


def read_table(data: bytes, filename: str, *, max_rows: int = DEFAULT_MAX_ROWS) -> pd.DataFrame:
    """Read a CSV / TSV / TXT or .xlsx upload into a frame whose cells are all text.

    - Header names are stripped; so are cell values, and an empty cell is missing (NaN).
    - The index, named ``source_row``, is the row number a person sees in a spreadsheet for that
      row (the header is row 1, so the first data row is normally 2). Blank rows are skipped but
      still counted, so the numbers stay true to the file.
    - ``frame.attrs["source_format"]`` says how the file was read (format, encoding, separator),
      for the UI to show.

    Raises ImportFormatError, with a message a person can act on, when the file is empty, binary,
    not a valid workbook, has no usable header, a single column, duplicated column names, or more
    than ``max_rows`` data rows.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix == READ_TABLE_SUFFIX:
        return _read_already_read(data)
    if suffix in EXCEL_EXTENSIONS:
        reader = _read_xlsx
    elif suffix in TEXT_EXTENSIONS:
        reader = _read_delimited
    elif suffix == ".xls":
        raise ImportFormatError(
            "Old Excel files (.xls) are not supported. Open the file in Excel and save it as "
            ".xlsx, or export it as CSV."
        )
    else:
        supported = ", ".join(TEXT_EXTENSIONS + EXCEL_EXTENSIONS)
        raise ImportFormatError(
            f"Files ending in '{suffix or '(no extension)'}' are not supported. Upload one of: {supported}."
        )
    if not data.strip():
        raise ImportFormatError("The file is empty.")
    grid, source_format, single_column_hint = reader(data, max_rows)
    frame = _table_from_grid(grid, single_column_hint, unnamed=source_format["format"])
    if len(frame) > max_rows:
        raise _too_many_rows(max_rows)
    frame.attrs["source_format"] = source_format
    return frame


def already_read(frame: pd.DataFrame) -> bytes:
    """A frame `read_table` returned, as bytes that `read_table(..., "<name>.table.parquet")` gives back as it
    was (text cells, file row numbers, source format): a workbook read once by a job need not be read again."""
    import io as _io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
    table = table.replace_schema_metadata({b"source_format": json.dumps(frame.attrs.get("source_format", {})).encode()})
    sink = _io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _read_already_read(data: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise ImportFormatError(f"The stored copy of this upload is damaged ({exc}); upload the file again.") from exc
    frame = table.to_pandas().set_index("source_row")
    frame.attrs["source_format"] = json.loads((table.schema.metadata or {}).get(b"source_format", b"{}"))
    return frame


# --- delimited text -------------------------------------------------------------------------


def _read_delimited(data: bytes, max_rows: int) -> tuple[pd.DataFrame, dict, str]:
    if data.startswith(_ZIP_MAGIC):
        raise ImportFormatError(
            "This file is a compressed document (probably an Excel workbook) with a text-file "
            "name. Rename it to .xlsx, or open it in Excel and export it as CSV."
        )
    if data.startswith(_OLE2_MAGIC):
        raise ImportFormatError(
            "This file is an old Excel (.xls) or other Office document with a text-file name. "
            "Open it in Excel and save it as .xlsx, or export it as CSV."
        )
    text, encoding = _decode(data)
    sample = _sample(text)
    _reject_binary(sample)
    separator = _detect_separator(sample)
    tried = ", ".join(f"{name} ({sep!r})" for sep, name in SEPARATORS.items())
    hint = (
        f"Only one column was found; separators tried: {tried}. Save the file as CSV with one of "
        "these separators, and check that its first row holds the column names."
    )
    if separator is None:
        raise ImportFormatError(hint)
    width = _row_width(sample, separator)
    if width > MAX_COLUMNS:
        raise ImportFormatError(
            f"The file has {width:,} columns; at most {MAX_COLUMNS:,} can be imported. Keep only the columns to "
            "import (export fewer columns from your system)."
        )
    # Rows are limited while parsing, so a huge file is refused without building a huge frame;
    # the header and one row beyond the limit are what tell "too many" apart from "exactly full".
    limit = max_rows + 2
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            header=None,
            names=range(width),
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,  # blank lines keep their place, so row numbers match the file
            quotechar='"',
            nrows=limit,
        )
    except pd.errors.ParserError as error:
        raise _parser_error(error, separator) from None
    except pd.errors.EmptyDataError:
        raise ImportFormatError("The file is empty.") from None
    if len(grid) >= limit:
        raise _too_many_rows(max_rows)
    grid.index = pd.RangeIndex(1, len(grid) + 1)
    source_format = {"format": "csv", "encoding": encoding, "separator": separator}
    return _strip_cells(grid), source_format, hint


def _decode(data: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (never fails)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:_SAMPLE_CHARS]:
        raise _binary_error()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # A UTF-8 file with a few corrupt bytes should not be read wholesale as Windows-1252, which
    # would garble every accent in it; in Windows-1252 text almost no accent is valid UTF-8.
    replaced = data.decode("utf-8", errors="replace")
    n_bad = replaced.count("\ufffd")
    n_non_ascii_bytes = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) > 127))
    if n_non_ascii_bytes >= 20 * n_bad:
        return replaced, "utf-8"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _sample(text: str) -> str:
    if len(text) <= _SAMPLE_CHARS:
        return text
    head = text[:_SAMPLE_CHARS]
    cut = head.rfind("\n")
    return head[: cut + 1] if cut > 0 else head


def _reject_binary(sample: str) -> None:
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n\f") or 127 <= ord(ch) < 160)
    if controls > max(2, len(sample) // 100):
        raise _binary_error()


def _binary_error() -> ImportFormatError:
    return ImportFormatError(
        "The file does not look like text: it contains binary data. Upload a CSV file (saved as "
        "'CSV UTF-8' or plain CSV) or an Excel .xlsx workbook."
    )


def _detect_separator(sample: str) -> str | None:
    """The candidate whose rows agree best on a field count > 1; csv.Sniffer breaks exact ties.

    Rows are scored by the share that has the most common field count, then by that count. The
    sniffer alone is fooled by decimal commas in a semicolon file ("id;nota (0,10)" over "S1;7,5"
    splits into two consistent columns on commas), so it only decides between equal scores.
    """
    scores = {}
    for separator in SEPARATORS:
        counts = _field_counts(sample, separator)
        if not counts:
            continue
        modal, n_modal = Counter(counts).most_common(1)[0]
        if modal > 1:
            scores[separator] = (n_modal / len(counts), modal)
    if not scores:
        return None
    best = max(scores.values())
    tied = [separator for separator, score in scores.items() if score == best]
    if len(tied) > 1:
        try:
            sniffed = csv.Sniffer().sniff(sample[:8192], delimiters="".join(tied)).delimiter
        except csv.Error:
            sniffed = None
        if sniffed in tied:
            return sniffed
    return tied[0]  # SEPARATORS' order


def _field_counts(sample: str, separator: str) -> list[int]:
    """Number of fields in each non-blank row of the sample (quotes respected)."""
    counts = []
    try:
        # newline="" hands "\r", "\n" and "\r\n" line ends to csv untranslated, as it expects.
        for row in csv.reader(io.StringIO(sample, newline=""), delimiter=separator, quotechar='"'):
            if any(field.strip() for field in row):
                counts.append(len(row))
            if len(counts) >= _SAMPLE_ROWS:
                break
    except csv.Error:
        pass
    return counts


def _row_width(sample: str, separator: str) -> int:
    """Columns to parse: the header's count, or the usual row's when the header is shorter.

    Fixing the width stops pandas from taking the first line's count (a title row, say) as the
    width, and a longer row further down is still an error that names its line.
    """
    counts = _field_counts(sample, separator)
    return max(counts[0], Counter(counts).most_common(1)[0][0])


def _parser_error(error: Exception, separator: str) -> ImportFormatError:
    name = SEPARATORS[separator]
    message = str(error)
    if match := _TOO_MANY_FIELDS.search(message):
        expected, line, saw = match.groups()
        return ImportFormatError(
            f"Row {line} has {saw} values but the file has {expected} columns. A value probably "
            f"contains the separator ({name}) without quotes around it: put the value in double "
            "quotes or remove the separator."
        )
    if match := _UNCLOSED_QUOTE.search(message):
        return ImportFormatError(
            f'A quoted value starting at row {int(match.group(1)) + 1} has no closing double quote (").'
        )
    return ImportFormatError(f"The file could not be read as {name}-separated text ({message}).")


def _strip_cells(grid: pd.DataFrame) -> pd.DataFrame:
    """Strip every cell and make whitespace-only cells missing."""
    for column in grid.columns:
        values = grid[column].str.strip()
        grid[column] = values.where(values != "")
    return grid


# --- Excel ----------------------------------------------------------------------------------


def _read_xlsx(data: bytes, max_rows: int) -> tuple[pd.DataFrame, dict, str]:
    from openpyxl import load_workbook  # heavy: only when a workbook arrives

    if data.startswith(_OLE2_MAGIC):
        raise ImportFormatError(
            "This workbook is password-protected or in the old .xls format. Save it in Excel as "
            "an unprotected .xlsx workbook, or export it as CSV."
        )
    if not data.startswith(_ZIP_MAGIC):
        raise ImportFormatError(
            "This file is not a valid Excel workbook (.xlsx). Open it in Excel and save it as "
            ".xlsx, or export it as CSV."
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML and KeyError failures alike for a broken file
        raise ImportFormatError(
            "This file is not a valid Excel workbook (.xlsx): it could not be opened. Open it in "
            "Excel and save it again as .xlsx, or export it as CSV."
        ) from None
    try:
        if not workbook.worksheets:
            raise ImportFormatError("The workbook has no worksheet.")
        sheet = workbook.worksheets[0]
        # Declared dimensions are often wrong (or the whole sheet); read rows as they are stored.
        sheet.reset_dimensions()
        rows, numbers = _xlsx_rows(sheet, _has_percent_cells(sheet), max_rows)
    finally:
        workbook.close()
    width = max((len(row) for row in rows), default=0)
    grid = pd.DataFrame([row + [None] * (width - len(row)) for row in rows], index=numbers, dtype=object)
    source_format = {"format": "xlsx", "sheet": sheet.title}
    hint = (
        f"Only one column was found on the first sheet ('{sheet.title}'). Put the column names in "
        "the first row, one per cell, and the data in the columns below them."
    )
    return grid.astype("str") if width else grid, source_format, hint


def _xlsx_rows(sheet, percent_formats: bool, max_rows: int) -> tuple[list[list], list[int]]:
    """Non-blank rows as lists of text, and their sheet row numbers; refuses more than max_rows.

    Number formats are read only when the sheet shows percentages: reading cells rather than bare
    values costs about 40 % more time.
    """
    rows: list[list] = []
    numbers: list[int] = []
    for number, values in enumerate(sheet.iter_rows(values_only=not percent_formats), start=1):
        if percent_formats:
            cells = [_cell_text(cell.value, _is_percent(cell)) for cell in values]
        else:
            cells = [_cell_text(value, False) for value in values]
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise ImportFormatError(
                f"Row {number} has values in more than {MAX_COLUMNS} columns; keep only the columns to import."
            )
        rows.append(cells)
        numbers.append(number)
        if len(rows) > max_rows + 1:  # + the header
            raise _too_many_rows(max_rows)
    return rows, numbers


def _has_percent_cells(sheet, n_rows: int = 20) -> bool:
    """Whether the first rows hold numbers formatted as percentages (Excel stores 85 % as 0.85)."""
    return any(_is_percent(cell) for row in sheet.iter_rows(max_row=n_rows) for cell in row)


def _is_percent(cell) -> bool:
    value = getattr(cell, "value", None)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and "%" in (getattr(cell, "number_format", None) or "")


def _cell_text(value: object, percent: bool) -> str | None:
    """Excel cell value as the text a person sees (12345.0 -> "12345", 0.85 as % -> "85%")."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if percent:
            return _number_text(value * 100) + "%"
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip() or None


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(float(f"{value:.12g}"))  # drop binary noise: 0.85 * 100 is 85.00000000000001
    return str(value)


# --- shared ---------------------------------------------------------------------------------


def _table_from_grid(grid: pd.DataFrame, single_column_hint: str, unnamed: str) -> pd.DataFrame:
    """First non-blank row is the header; the rows below it are the table."""
    present = grid.notna()
    filled = present.any(axis=1)
    if not filled.any():
        raise ImportFormatError("The file has no values in it.")
    header_at = filled.idxmax()
    header = grid.loc[header_at]
    body = grid[(grid.index > header_at) & filled.to_numpy()]
    names = [None if pd.isna(name) else str(name).strip() or None for name in header]
    named = [name for name in names if name is not None]

    if all(_NUMBER_LIKE.match(name) for name in named):
        shown = ", ".join(named[:4]) + (", ..." if len(named) > 4 else "")
        raise ImportFormatError(
            f"Row {header_at} looks like data ({shown}), not column names. Add a first row with a "
            "name for each column (for example: student_id, course, term)."
        )
    keep = [i for i, name in enumerate(names) if name is not None or body.iloc[:, i].notna().any()]
    if len(named) == 1 and len(keep) > 1:
        raise ImportFormatError(
            f"Row {header_at} has a single column name ('{named[0]}') but the rows below it have "
            f"{len(keep)} columns. If that row is a title, delete it (and any other rows above the "
            "column names); otherwise give every column a name."
        )
    if len(keep) < 2:
        raise ImportFormatError(single_column_hint)
    columns = [names[i] or _unnamed_column(i, unnamed) for i in keep]
    seen: dict[str, int] = {}
    for i, name in zip(keep, columns, strict=True):
        if name in seen:
            raise ImportFormatError(
                f"The column name '{name}' appears twice (columns {seen[name]} and {i + 1}). "
                "Rename one of them so every column has its own name."
            )
        seen[name] = i + 1
    if body.empty:
        raise ImportFormatError("The file has column names but no data rows.")

    table = body.iloc[:, keep].copy()
    table.columns = columns
    table.index.name = "source_row"
    return table


def _unnamed_column(position: int, kind: str) -> str:
    if kind == "xlsx":
        from openpyxl.utils import get_column_letter

        return f"column {get_column_letter(position + 1)}"
    return f"column {position + 1}"


def _too_many_rows(max_rows: int) -> ImportFormatError:
    return ImportFormatError(
        f"The file has more than {max_rows:,} rows, the most one upload can hold. "
        "Split it into smaller files (for example one per term)."
    )
