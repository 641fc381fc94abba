"""Open a downloaded zip only after every member passed the checks that make reading it safe.

INEP's zips name their members in CP850 without the UTF-8 flag, so members are decoded that way (a member that
sets the flag is still read as UTF-8). Refused: a member whose path is absolute or climbs out with `..`, a
symbolic link, an encrypted member, duplicated names, more members or more uncompressed bytes than the limits,
and a large member that inflates more than `max_ratio` times (a zip bomb). Nothing is written to disk: members
are read as streams, and zipfile's CRC check at the end of each stream catches sizes that lied.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ml.census.errors import UnsafeArchiveError

MEMBER_NAME_ENCODING = "cp850"
_ENCRYPTED = 0x1
_DRIVE = re.compile(r"^[A-Za-z]:")
_RATIO_FLOOR_BYTES = 1 << 20  # small members (a short text file) may compress far better than any CSV


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 5_000
    max_member_bytes: int = 4 << 30
    max_total_bytes: int = 8 << 30
    max_ratio: float = 200.0


DEFAULT_LIMITS = ArchiveLimits()


def open_archive(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS, *, year: int | None = None) -> zipfile.ZipFile:
    """The zip at `path`, opened for reading after `check_members` passed; the caller closes it."""
    try:
        archive = zipfile.ZipFile(path, metadata_encoding=MEMBER_NAME_ENCODING)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchiveError(f"{Path(path).name} is not a readable zip file ({exc})", year=year) from exc
    try:
        check_members(archive.infolist(), limits, year=year)
    except BaseException:
        archive.close()
        raise
    return archive


def check_members(members: list[zipfile.ZipInfo], limits: ArchiveLimits, *, year: int | None = None) -> None:
    """Raise UnsafeArchiveError naming the first member that breaks a rule."""
    if len(members) > limits.max_members:
        raise UnsafeArchiveError(f"the zip has {len(members)} members, more than {limits.max_members}", year=year)
    seen: set[str] = set()
    total = 0
    for info in members:
        name = info.filename
        problem = _path_problem(name) or _member_problem(info, limits)
        if problem:
            raise UnsafeArchiveError(f"refused zip member {name!r}: {problem}", year=year)
        key = name.replace("\\", "/").rstrip("/").casefold()
        if key in seen:
            raise UnsafeArchiveError(f"refused zip: member {name!r} appears twice", year=year)
        seen.add(key)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"the zip inflates to more than {limits.max_total_bytes / 2**30:.1f} GiB", year=year
            )


def member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path with `\\` read as a separator, as Windows-made zips sometimes write it."""
    return PurePosixPath(info.filename.replace("\\", "/"))


def _path_problem(name: str) -> str | None:
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        return "absolute path"
    if ".." in PurePosixPath(normal).parts:
        return "path climbs out of the archive (..)"
    if "\x00" in normal:
        return "NUL byte in the name"
    return None


def _member_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if info.flag_bits & _ENCRYPTED:
        return "encrypted"
    if info.file_size > limits.max_member_bytes:
        return f"inflates to {info.file_size / 2**30:.1f} GiB, more than {limits.max_member_bytes / 2**30:.1f} GiB"
    if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        return f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 looks like a zip bomb"
    return None
