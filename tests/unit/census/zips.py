"""Generated census zips, and copies of them altered the ways real downloads go wrong."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ml.census.zipfile_safe import MEMBER_NAME_ENCODING

Change = bytes | Callable[[bytes], bytes]


def csv_member(path: Path) -> str:
    with zipfile.ZipFile(path, metadata_encoding=MEMBER_NAME_ENCODING) as archive:
        return next(
            n for n in archive.namelist() if "microdados_ed_basica_" in n.lower() and n.lower().endswith(".csv")
        )


def csv_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path, metadata_encoding=MEMBER_NAME_ENCODING) as archive:
        return archive.read(csv_member(path))


def read_as_text(path: Path) -> pd.DataFrame:
    """The year's CSV read independently of Aula: every cell as the text in the file ('' for an empty field)."""
    return pd.read_csv(
        io.BytesIO(csv_bytes(path)), sep=";", encoding="latin-1", dtype=str, keep_default_na=False, na_values=[]
    )


def altered(
    src: Path, dst: Path, *, change: dict[str, Change] | None = None, add: dict[str, bytes] | None = None
) -> Path:
    """A copy of the zip `src` with members changed (matched by the end of their name) and members added."""
    change, add = change or {}, add or {}
    with (
        zipfile.ZipFile(src, metadata_encoding=MEMBER_NAME_ENCODING) as old,
        zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new,
    ):
        for info in old.infolist():
            data = old.read(info)
            for suffix, how in change.items():
                if info.filename.lower().endswith(suffix.lower()):
                    data = how(data) if callable(how) else how
            new.writestr(info.filename, data)
        for name, data in add.items():
            new.writestr(name, data)
    return dst


def with_bad_md5(src: Path, dst: Path) -> Path:
    def wrong(listing: bytes) -> bytes:
        first, rest = listing.split(b" ", 1)
        return (b"0" * 32 if first != b"0" * 32 else b"1" * 32) + b" " + rest

    return altered(src, dst, change={".txt": wrong})


def with_header_renamed(src: Path, dst: Path, old: str, new: str) -> Path:
    """Rename one column in the CSV's header and fix INEP's md5 file to match, as a real later release would."""
    import hashlib

    data = csv_bytes(src)
    header, body = data.split(b"\r\n", 1)
    names = [new if name == old else name for name in header.decode("ascii").split(";")]
    data = ";".join(names).encode("ascii") + b"\r\n" + body
    member = csv_member(src).rsplit("/", 1)[-1]
    digest = hashlib.md5(data).hexdigest()
    return altered(src, dst, change={member: data, ".txt": f"{digest} *{member}\r\n".encode()})
