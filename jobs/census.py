"""Census refresh: fetch each year's zip (INEP, a mirror, `file://` or a local path), load it, record it.

`refresh(years, source, progress)` is plain Python (the CLI runs it in the foreground); `refresh_census` is its
RQ entry point on the `census` queue and `enqueue_census_refresh` queues it. For each year a `census_refreshes`
row records the source, bytes, the file's sha256, INEP's md5 check, rows, status, error and timings.

Downloads are streamed to `AULA_DATA_DIR/census/downloads`, never held in memory: retried with exponential
back-off on connection errors, timeouts, 5xx and truncated bodies, resumed with an HTTP Range request where the
server answers 206 (otherwise restarted), refused when the server answers with an HTML page or a body that is
not a zip, and checked against Content-Length. A year that fails leaves what was loaded before untouched; the
others still load, and the refresh then raises `CensusRefreshError` naming each failed year and its reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from core import db
from core.models import CensusRefresh, JobRun, ModelVersion
from core.settings import Settings
from jobs import queue, tasks
from ml.census.errors import CensusChecksumError, CensusError

if TYPE_CHECKING:  # the reader and the store bring pyarrow and DuckDB: imported where a refresh runs
    from ml.census.store import YearLoad, YearRead

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "https://download.inep.gov.br/dados_abertos/microdados_censo_escolar_{year}.zip"
# INEP's own exceptions to its pattern.
DEFAULT_SOURCE_EXCEPTIONS = {2025: "https://download.inep.gov.br/dados_abertos/microdados_censo_escolar_2025_.zip"}
CENSUS_TIMEOUT_S = 4 * queue.HOUR
CENSUS_LOCK = "census"
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
ZIP_MAGIC = b"PK\x03\x04"
DOWNLOAD_SHARE = 0.5  # of each year's progress; reading and storing take the rest


class CensusDownloadError(CensusError):
    """The file could not be fetched, or what arrived is not a census zip."""


class CensusRefreshError(CensusError):
    """Some years failed; `errors` maps each to its exception, `result` holds the years that loaded."""

    def __init__(self, errors: dict[int, CensusError], result: RefreshResult) -> None:
        reasons = "; ".join(str(error) for error in errors.values())
        super().__init__(f"census refresh failed for {', '.join(map(str, errors))}: {reasons}")
        self.errors, self.result = errors, result


@dataclass(frozen=True)
class DownloadPolicy:
    attempts: int = 5
    backoff_s: float = 2.0  # waits 2, 4, 8, 16 s between attempts
    max_backoff_s: float = 60.0
    connect_timeout_s: float = 15.0
    read_timeout_s: float = 60.0
    chunk_bytes: int = 1 << 20
    max_bytes: int = 2 << 30


@dataclass(frozen=True)
class Fetched:
    path: Path
    bytes: int
    sha256: str
    attempts: int = 1
    resumed: int = 0  # attempts that continued a partial download
    downloaded: bool = False  # a copy in the downloads folder (removed once loaded), not the caller's own file


@dataclass(frozen=True)
class RefreshProgress:
    """Where a refresh is: year `index` of `n_years`, in `phase` download (bytes) or read (bytes and rows)."""

    year: int
    index: int
    n_years: int
    phase: str  # download | read | done
    done: int = 0
    total: int | None = None
    rows: int = 0

    @property
    def percent(self) -> int:
        if self.phase == "done":
            share = 1.0
        else:
            fraction = min(self.done / self.total, 1.0) if self.total else 0.0
            start = 0.0 if self.phase == "download" else DOWNLOAD_SHARE
            share = start + (DOWNLOAD_SHARE if self.phase == "download" else 1 - DOWNLOAD_SHARE) * fraction
        return int(100 * (self.index + share) / max(self.n_years, 1))

    @property
    def message(self) -> str:
        where = f"{self.year} ({self.index + 1} of {self.n_years})"
        if self.phase == "download":
            total = f" of {self.total / 1e6:.1f}" if self.total else ""
            return f"{where}: downloading {self.done / 1e6:.1f}{total} MB"
        if self.phase == "read":
            return f"{where}: {self.rows:,} schools read"
        return f"{where}: loaded {self.rows:,} schools"


ProgressCallback = Callable[[RefreshProgress], None]


@dataclass
class RefreshResult:
    refresh_id: str
    loaded: list[YearLoad] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    schools_written: int = 0

    def as_dict(self) -> dict:
        return {
            "refresh_id": self.refresh_id,
            "loaded": {load.year: {"rows": load.rows, "active_schools": load.active_schools} for load in self.loaded},
            "failed": self.failed,
            "schools_written": self.schools_written,
        }


def refresh(
    years: Iterable[int],
    source: str | None = None,
    progress: ProgressCallback | None = None,
    *,
    data_dir: Path | None = None,
    policy: DownloadPolicy = DownloadPolicy(),
    run_id: int | None = None,
    requested_by: str = "",
) -> RefreshResult:
    """Fetch and load each of `years` from `source` (a pattern with `{year}`; default INEP's), then update
    `schools`. Raises CensusRefreshError if any year failed (the others are loaded).

    Years overlap: while one year is stored (Parquet, SQL), the next is read in a helper thread; whatever
    touches the database stays in the calling thread.
    """
    years = sorted(set(years))
    if source and "{year}" not in source and len(years) > 1:
        raise ValueError(f"the source {source!r} has no {{year}}: it can only be used for one year")
    data_dir = Path(data_dir or Settings.from_env().data_dir)
    run = _Refresh(data_dir, policy, RefreshResult(refresh_id=uuid.uuid4().hex), run_id, requested_by)
    progress = _forward_only(progress)
    pending: _Year | None = None  # read, waiting to be stored
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="census-read") as helper:
        try:
            for index, year in enumerate(years):
                current = run.start(year, source_for(year, source), _Reporter(progress, year, index, len(years)))
                reading = run.fetch_and_read(current, helper)
                if pending is not None:
                    run.store(pending)  # while the helper reads `current`
                pending = run.wait(current, reading) if reading is not None else None
            if pending is not None:
                run.store(pending)
        except BaseException as exc:  # a bug, or the database itself: record it and stop
            run.abandon(exc)
            raise
    result = run.result
    if result.loaded:
        from ml.census.store import sync_schools

        result.schools_written = sync_schools(data_dir)
    if run.errors:
        raise CensusRefreshError(run.errors, result) from next(iter(run.errors.values()))
    return result


def _forward_only(progress: ProgressCallback | None) -> ProgressCallback | None:
    """Years overlap, so events can arrive out of order (a year stored after the next began downloading):
    pass on only those that do not move the percentage back."""
    if progress is None:
        return None
    highest = -1

    def forward(event: RefreshProgress) -> None:
        nonlocal highest
        if event.percent >= highest:
            highest = event.percent
            progress(event)

    return forward


@dataclass
class _Year:
    year: int
    record: CensusRefresh
    report: _Reporter
    fetched: Fetched | None = None
    read: YearRead | None = None


@dataclass
class _Refresh:
    """One refresh's state: the years' records, what loaded and what failed."""

    data_dir: Path
    policy: DownloadPolicy
    result: RefreshResult
    run_id: int | None
    requested_by: str
    errors: dict[int, CensusError] = field(default_factory=dict)
    open: list[_Year] = field(default_factory=list)

    def start(self, year: int, location: str, report: _Reporter) -> _Year:
        record = CensusRefresh(
            refresh_id=self.result.refresh_id,
            run_id=self.run_id,
            year=year,
            source=location[:1000],
            requested_by=self.requested_by,
        )
        db.session.add(record)
        db.session.commit()
        current = _Year(year, record, report)
        self.open.append(current)
        return current

    def fetch_and_read(self, current: _Year, helper: ThreadPoolExecutor) -> Future | None:
        """Fetch the year here, then start reading it in the helper thread (None if the fetch failed)."""
        record, report = current.record, current.report
        from ml.census.panel import census_dir
        from ml.census.store import read_year

        start = time.perf_counter()
        try:
            downloads = census_dir(self.data_dir) / "downloads"
            current.fetched = fetch(record.source, downloads, policy=self.policy, on_bytes=report.downloading)
        except CensusError as exc:
            self.fail(current, exc)
            return None
        record.bytes, record.sha256 = current.fetched.bytes, current.fetched.sha256
        record.download_s = time.perf_counter() - start
        record.detail = {"attempts": current.fetched.attempts, "resumed": current.fetched.resumed}
        db.session.commit()
        return helper.submit(read_year, current.fetched.path, current.year, on_bytes=report.reading)

    def wait(self, current: _Year, reading: Future) -> _Year | None:
        """The year once read (None if it failed), sending the helper's progress meanwhile."""
        try:
            while True:
                try:
                    current.read = reading.result(timeout=0.25)
                    break
                except TimeoutError:
                    current.report.flush()
        except CensusError as exc:
            self.fail(current, exc)
            return None
        finally:
            if current.fetched.downloaded:
                current.fetched.path.unlink(missing_ok=True)
        current.report.count_rows(current.read.table.num_rows)
        return current

    def store(self, current: _Year) -> None:
        from ml.census.store import store_year

        record = current.record
        try:
            loaded = store_year(current.read, data_dir=self.data_dir)
        except CensusError as exc:
            self.fail(current, exc)
            return
        finally:
            current.read = None  # the year's table: let it go before the next one is read
        record.load_s = loaded.seconds
        record.rows, record.csv_md5, record.md5_check = loaded.rows, loaded.csv_md5, loaded.md5_check
        record.detail = {**record.detail, "renamed_columns": loaded.renamed, "missing_columns": list(loaded.missing)}
        self._finish(current, "succeeded")
        self.result.loaded.append(loaded)
        current.report("done")

    def fail(self, current: _Year, exc: CensusError) -> None:
        if isinstance(exc, CensusChecksumError):
            current.record.md5_check = "mismatch"
        self._finish(current, "failed", error=str(exc))
        self.errors[current.year] = exc
        self.result.failed[current.year] = str(exc)

    def abandon(self, exc: BaseException) -> None:
        db.session.rollback()
        try:
            for current in list(self.open):
                self._finish(current, "failed", error=f"{type(exc).__name__}: {exc}")
        except Exception:  # the database may be what failed; the error itself is raised by the caller
            log.exception("could not record the failed census refresh")

    def _finish(self, current: _Year, status: str, *, error: str | None = None) -> None:
        record = current.record
        record.status, record.error, record.finished_at = status, error, db.utcnow()
        db.session.commit()
        self.open.remove(current)


@dataclass
class _Reporter:
    """Turns the download's and the reader's callbacks into RefreshProgress events for one year.

    The reader runs in a helper thread: its progress is only noted there and sent from the calling thread
    (`flush`), so a progress callback that writes to the database never runs in two threads at once.
    """

    progress: ProgressCallback | None
    year: int
    index: int
    n_years: int
    done: int = 0
    total: int | None = None
    rows: int = 0

    def __call__(self, phase: str, done: int = 0, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(RefreshProgress(self.year, self.index, self.n_years, phase, done, total, self.rows))

    def downloading(self, done: int, total: int | None) -> None:
        self("download", done, total)

    def reading(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total

    def flush(self) -> None:
        self("read", self.done, self.total)

    def count_rows(self, rows: int) -> None:
        self.rows = rows
        self.flush()


def source_for(year: int, source: str | None = None) -> str:
    """The URL or path of `year`'s file: `source` with `{year}` filled in, or INEP's official address."""
    if source is None:
        return DEFAULT_SOURCE_EXCEPTIONS.get(year, DEFAULT_SOURCE.replace("{year}", str(year)))
    return source.replace("{year}", str(year))


# --- fetching --------------------------------------------------------------------------------------------------

BytesCallback = Callable[[int, int | None], None]


def fetch(
    location: str, folder: Path, *, policy: DownloadPolicy = DownloadPolicy(), on_bytes: BytesCallback | None = None
) -> Fetched:
    """The file at `location`: an http(s) URL (downloaded into `folder`), a `file://` URL or a plain path."""
    scheme = urlparse(location).scheme.lower()
    if scheme in ("http", "https"):
        return download(location, folder, policy=policy, on_bytes=on_bytes)
    path = Path(url2pathname(unquote(urlparse(location).path))) if scheme == "file" else Path(location)
    if not path.is_file():
        raise CensusDownloadError(f"{path} does not exist (source {location})")
    digest, size, total = hashlib.sha256(), 0, path.stat().st_size
    with open(path, "rb") as handle:
        while chunk := handle.read(policy.chunk_bytes):
            digest.update(chunk)
            size += len(chunk)
            if on_bytes is not None:
                on_bytes(size, total)
    return Fetched(path, size, digest.hexdigest())


def download(
    url: str, folder: Path, *, policy: DownloadPolicy = DownloadPolicy(), on_bytes: BytesCallback | None = None
) -> Fetched:
    """Stream `url` to a file in `folder`, retrying and resuming; the file appears only when complete."""
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(unquote(urlparse(url).path)).name or "census.zip"
    tag = hashlib.sha256(url.encode()).hexdigest()[:8]  # two sources never share a partial file
    target = folder / f"{tag}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}"
    partial = target.with_name(target.name + ".part")
    attempts = resumed = 0
    while True:
        attempts += 1
        try:
            resumed += _attempt(url, partial, policy, on_bytes)
            break
        except _Retryable as exc:
            if attempts >= policy.attempts:
                raise CensusDownloadError(f"{url}: gave up after {attempts} attempts; last: {exc}") from exc
            time.sleep(min(policy.backoff_s * 2 ** (attempts - 1), policy.max_backoff_s))
    os.replace(partial, target)
    if not zipfile.is_zipfile(target):
        target.unlink()
        raise CensusDownloadError(f"{url} sent a file that is not a readable zip")
    digest = hashlib.sha256()
    with open(target, "rb") as handle:
        while chunk := handle.read(policy.chunk_bytes):
            digest.update(chunk)
    return Fetched(target, target.stat().st_size, digest.hexdigest(), attempts, resumed, downloaded=True)


class _Retryable(Exception):
    """Worth another attempt: the connection failed, timed out, was cut short, or the server was busy."""


def _attempt(url: str, partial: Path, policy: DownloadPolicy, on_bytes: BytesCallback | None) -> int:
    """One request, appending to `partial` when the server resumes; 1 if it resumed, 0 if it started over."""
    import requests

    have = partial.stat().st_size if partial.exists() else 0
    headers = {"User-Agent": "Aula census refresh", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    timeout = (policy.connect_timeout_s, policy.read_timeout_s)
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            resumed, total = _check_response(url, response, have, partial, policy)
            have = have if resumed else 0
            with open(partial, "ab" if resumed else "wb") as out:
                for chunk in response.iter_content(policy.chunk_bytes):
                    if have == 0:
                        _check_first_bytes(url, chunk, response)
                    out.write(chunk)
                    have += len(chunk)
                    if have > policy.max_bytes:
                        raise CensusDownloadError(f"{url} is larger than {policy.max_bytes / 2**30:.1f} GiB")
                    if on_bytes is not None:
                        on_bytes(have, total)
    except requests.RequestException as exc:  # connection refused or reset, timeout, body cut short
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    if total is not None and have < total:
        raise _Retryable(f"the connection closed after {have:,} of {total:,} bytes")
    if total is not None and have > total:
        partial.unlink()
        raise CensusDownloadError(f"{url} sent {have:,} bytes, more than the {total:,} announced")
    return int(resumed)


def _check_response(url: str, response, have: int, partial: Path, policy: DownloadPolicy) -> tuple[bool, int | None]:
    """(whether the server resumed at `have`, the file's total size when known)."""
    status = response.status_code
    if status == 416 and have:  # nothing left to send from there: start over
        partial.unlink()
        raise _Retryable("the server cannot resume the partial download (416)")
    if status in RETRY_STATUSES:
        raise _Retryable(f"HTTP {status} {response.reason}")
    if status >= 400:
        hint = " (has INEP published this year yet?)" if status == 404 else ""
        raise CensusDownloadError(f"{url} answered HTTP {status} {response.reason}{hint}")
    if "html" in response.headers.get("Content-Type", "").lower():
        raise CensusDownloadError(f"{url} answered with an HTML page, not a zip: {_page_title(response)}")
    resumed = False
    total = int(response.headers["Content-Length"]) if response.headers.get("Content-Length", "").isdigit() else None
    if status == 206:
        match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != have:
            raise _Retryable(f"the server resumed at the wrong place ({response.headers.get('Content-Range')})")
        resumed = True
        total = int(match.group(2)) if match.group(2) != "*" else None
    if total is not None and total > policy.max_bytes:
        raise CensusDownloadError(f"{url} is {total / 2**30:.1f} GiB, more than {policy.max_bytes / 2**30:.1f} GiB")
    return resumed, total


def _check_first_bytes(url: str, chunk: bytes, response) -> None:
    head = chunk[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        raise CensusDownloadError(f"{url} answered with an HTML page, not a zip")
    if not chunk.startswith(ZIP_MAGIC):
        kind = response.headers.get("Content-Type", "unknown type")
        raise CensusDownloadError(f"{url} sent something that is not a zip ({kind}, starting {chunk[:16]!r})")


def _page_title(response) -> str:
    text = response.raw.read(4096, decode_content=True).decode("utf-8", "replace")
    match = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return match.group(1).strip()[:200] if match else text.strip()[:200]


# --- the job ---------------------------------------------------------------------------------------------------


def enqueue_census_refresh(years: Iterable[int], source: str | None, requested_by: str) -> JobRun:
    """Queue a refresh on the census queue; one at a time (`queue.JobAlreadyRunningError` otherwise)."""
    years = sorted(set(years))
    return queue.enqueue(
        f"census refresh {years[0]}-{years[-1]}" if len(years) > 1 else f"census refresh {years[0]}",
        refresh_census,
        years,
        source,
        queue="census",
        requested_by=requested_by,
        timeout=CENSUS_TIMEOUT_S,
        params={"years": years, "source": source},
        lock=CENSUS_LOCK,
    )


def refresh_census(run_id: int, years: list[int], source: str | None = None) -> dict:
    """RQ entry point: `refresh` with its progress in the job run (at most one update per percent)."""

    def work(progress: tasks.Progress) -> dict:
        run = db.session.get(JobRun, run_id)
        last = {"percent": -1}

        def report(event: RefreshProgress) -> None:
            if event.percent != last["percent"] or event.phase == "done":
                last["percent"] = event.percent
                progress(event.percent, event.message)

        requested_by = run.requested_by or "worker"
        try:
            result = refresh(years, source, report, run_id=run_id, requested_by=requested_by)
        except CensusRefreshError as exc:
            republish_forecasts(exc.result, requested_by)  # the years that did load change the forecasts too
            raise
        return {**result.as_dict(), "forecasts": republish_forecasts(result, requested_by)}

    return tasks.tracked(run_id, work)


def republish_forecasts(result: RefreshResult, requested_by: str) -> str:
    """Once years are loaded, ask for the enrollment forecasts to be rewritten from the latest census (a queued
    publish of the production model); says what was done, for the job's result and the CLI."""
    if not result.loaded:
        return "no year loaded: the forecasts are unchanged"
    if ModelVersion.production("enrollment") is None:
        return "no enrollment model in production yet: train one (retrain enrollment) to forecast"
    years = ", ".join(str(load.year) for load in result.loaded)
    try:
        run = tasks.request_publish("enrollment", requested_by, f"census {years} loaded")
    except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
        log.warning("census refresh: the enrollment forecasts were not republished: %s", exc)
        return f"the forecasts could not be republished now ({exc}); an admin can republish enrollment"
    return f"enrollment forecasts rewritten by job {run.id} ({run.kind})"
