"""Why a census year could not be loaded; every message names the year (when known) and what to do."""

from __future__ import annotations


class CensusError(Exception):
    """A census year could not be read or stored; nothing stored before was changed."""

    def __init__(self, message: str, *, year: int | None = None) -> None:
        super().__init__(f"{year}: {message}" if year is not None else message)
        self.year = year
        self.reason = message


class UnsafeArchiveError(CensusError):
    """The zip has a member that could escape the target folder, a link, or sizes that look like a zip bomb."""


class CensusLayoutError(CensusError):
    """The file is not laid out as the school-level census file: no such member, a multi-table year,
    or required columns missing."""


class CensusFormatError(CensusError):
    """The CSV does not parse as the census file: a bad value, another year's data, duplicated schools."""


class CensusChecksumError(CensusError):
    """The CSV's md5 differs from the one INEP's md5 file inside the zip gives for it."""
