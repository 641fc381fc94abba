"""The census refresh end to end, through a real HTTP server on 127.0.0.1 serving generated INEP zips."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import func, select

from core import db
from core.models import CensusRefresh, CensusUfEnrollment, CensusYear, JobRun, School
from jobs import census, queue
from ml.census import panel
from ml.census.errors import CensusChecksumError, CensusLayoutError, UnsafeArchiveError
from ml.data.census_generator import write_census_zips
from tests.unit.census.zips import altered, read_as_text, with_bad_md5

ROOT = Path(__file__).resolve().parents[2]
FAST = census.DownloadPolicy(attempts=3, backoff_s=0.01, read_timeout_s=10, chunk_bytes=8192)
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Servi\xc3\xa7o indispon\xc3\xadvel</title></head><body></body></html>"
)


class CensusServer(ThreadingHTTPServer):
    """Serves files from `root`. `plan[name]` lists what the next requests for that file get: "ok", "500",
    "html" (an error page with status 200), "truncate" (half the body, then the connection closes)."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root, self.plan, self.log, self.ranges = root, {}, [], True

    @property
    def pattern(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/microdados_censo_escolar_{{year}}.zip"


class _Handler(BaseHTTPRequestHandler):
    server: CensusServer

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        behaviour = (self.server.plan.get(name) or ["ok"]).pop(0)
        self.server.log.append((name, self.headers.get("Range"), behaviour))
        path = self.server.root / name
        if behaviour == "500":
            return self.send_error(500, "Internal Server Error")
        if behaviour == "html":
            return self._send(200, HTML_PAGE, "text/html; charset=utf-8")
        if not path.is_file():
            return self.send_error(404, "Not Found")
        data = path.read_bytes()
        start = 0
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes=") and self.server.ranges:
            start = int(wanted[6:].split("-")[0])
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if behaviour == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inep")
    return {g.year: g for g in write_census_zips(folder, [2021, 2022, 2023, 2025], 250, seed=21)}


@pytest.fixture
def server(generated, tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    for g in generated.values():
        shutil.copy(g.path, root / g.path.name)
    httpd = CensusServer(root)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def census_db(migrated):
    """The migrated test database, bound for core.db; the web app is only needed by the CLI and job tests."""
    db.bind(migrated)
    return migrated


@pytest.fixture
def aula_dir(tmp_path):
    return tmp_path / "aula"


def refresh(years, server, aula_dir, **kwargs):
    return census.refresh(years, server.pattern, data_dir=aula_dir, policy=FAST, **kwargs)


def records(year: int | None = None) -> list[CensusRefresh]:
    query = select(CensusRefresh).order_by(CensusRefresh.id)
    if year is not None:
        query = query.where(CensusRefresh.year == year)
    return list(db.session.scalars(query))


def loaded_state(aula_dir, year: int) -> tuple:
    sums = db.session.execute(
        select(CensusUfEnrollment.stage, func.sum(CensusUfEnrollment.enrollment))
        .where(CensusUfEnrollment.year == year)
        .group_by(CensusUfEnrollment.stage)
    ).all()
    return panel.year_path(year, aula_dir).read_bytes(), db.session.get(CensusYear, year).load_id, sorted(sums)


def test_refresh_downloads_and_loads_years_over_http(census_db, server, generated, aula_dir):
    events = []
    result = refresh([2022, 2023], server, aula_dir, progress=events.append, requested_by="test")
    assert [load.year for load in result.loaded] == [2022, 2023] and result.failed == {}
    for record in records():
        zip_path = generated[record.year].path
        assert record.status == "succeeded" and record.error is None
        assert record.bytes == zip_path.stat().st_size
        assert record.sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest()
        assert (record.md5_check, record.csv_md5) == ("ok", generated[record.year].csv_md5)
        assert record.rows == generated[record.year].rows and record.refresh_id == result.refresh_id
        assert record.source == server.pattern.replace("{year}", str(record.year))
        assert record.download_s >= 0 and record.load_s > 0 and record.finished_at >= record.started_at
    assert panel.years_loaded(aula_dir) == [2022, 2023]
    assert db.session.scalar(select(func.count()).select_from(School)) >= generated[2023].rows
    phases = [event.phase for event in events]
    assert phases.index("read") > phases.index("download") and phases[-1] == "done"
    assert any(e.phase == "read" and e.rows > 0 for e in events), "rows are reported while reading"
    percents = [event.percent for event in events]
    assert percents == sorted(percents) and percents[-1] == 100
    assert not list((aula_dir / "census" / "downloads").iterdir()), "downloaded zips are removed once loaded"


def test_truncated_download_resumes_with_a_range_request(census_db, server, generated, aula_dir):
    name = generated[2023].path.name
    server.plan[name] = ["truncate"]
    refresh([2023], server, aula_dir)
    (_, first, _), (_, second, _) = server.log
    assert first is None and second.startswith("bytes=") and int(second[6:-1]) > 0
    (record,) = records()
    assert record.detail["resumed"] == 1 and record.detail["attempts"] == 2
    assert record.sha256 == hashlib.sha256(generated[2023].path.read_bytes()).hexdigest()


def test_truncated_download_starts_over_when_the_server_cannot_resume(census_db, server, generated, aula_dir):
    server.ranges = False
    server.plan[generated[2023].path.name] = ["truncate"]
    refresh([2023], server, aula_dir)
    (record,) = records()
    assert record.status == "succeeded" and record.detail == {**record.detail, "resumed": 0, "attempts": 2}
    assert record.sha256 == hashlib.sha256(generated[2023].path.read_bytes()).hexdigest()


def test_server_errors_are_retried_until_it_answers(census_db, server, generated, aula_dir):
    server.plan[generated[2023].path.name] = ["500", "500"]
    refresh([2023], server, aula_dir)
    assert [behaviour for _, _, behaviour in server.log] == ["500", "500", "ok"]
    assert records()[0].detail["attempts"] == 3


def test_server_that_keeps_failing_fails_the_year_but_not_the_others(census_db, server, generated, aula_dir):
    server.plan[generated[2022].path.name] = ["500"] * 5
    with pytest.raises(census.CensusRefreshError) as failed:
        refresh([2022, 2023], server, aula_dir)
    assert set(failed.value.errors) == {2022} and "gave up after 3 attempts" in str(failed.value)
    assert isinstance(failed.value.errors[2022], census.CensusDownloadError)
    assert [load.year for load in failed.value.result.loaded] == [2023]
    assert [(r.year, r.status) for r in records()] == [(2022, "failed"), (2023, "succeeded")]


def test_html_error_page_is_refused_and_the_year_loaded_before_stays(census_db, server, generated, aula_dir):
    refresh([2023], server, aula_dir)
    before = loaded_state(aula_dir, 2023)
    server.plan[generated[2023].path.name] = ["html"]
    with pytest.raises(census.CensusRefreshError, match="HTML page") as failed:
        refresh([2023], server, aula_dir)
    assert "indisponível" in str(failed.value)
    assert loaded_state(aula_dir, 2023) == before
    last = records(2023)[-1]
    assert last.status == "failed" and "HTML" in last.error


def test_bad_md5_fails_the_year_and_the_year_loaded_before_stays(census_db, server, generated, aula_dir):
    refresh([2023], server, aula_dir)
    before = loaded_state(aula_dir, 2023)
    name = generated[2023].path.name
    with_bad_md5(generated[2023].path, server.root / name)
    with pytest.raises(census.CensusRefreshError) as failed:
        refresh([2023], server, aula_dir)
    assert isinstance(failed.value.errors[2023], CensusChecksumError)
    assert loaded_state(aula_dir, 2023) == before
    last = records(2023)[-1]
    assert (last.status, last.md5_check) == ("failed", "mismatch") and "md5" in last.error


def test_zip_with_a_path_traversal_member_is_refused(census_db, server, generated, aula_dir):
    name = generated[2023].path.name
    altered(generated[2023].path, server.root / name, add={"../../../../tmp/aula-pwned.txt": b"gotcha"})
    with pytest.raises(census.CensusRefreshError) as failed:
        refresh([2023], server, aula_dir)
    assert isinstance(failed.value.errors[2023], UnsafeArchiveError) and "climbs out" in str(failed.value)
    assert not Path("/tmp/aula-pwned.txt").exists() and panel.years_loaded(aula_dir) == []


def test_year_with_a_renamed_column_loads_under_the_current_name(census_db, server, generated, aula_dir):
    refresh([2021], server, aula_dir)
    (record,) = records()
    assert record.detail["renamed_columns"] == {"IN_PODER_PUBLICO_PARCERIA": "IN_CONVENIADA_PP"}
    written = read_as_text(generated[2021].path)["IN_CONVENIADA_PP"]
    stored = panel.query("SELECT count(IN_PODER_PUBLICO_PARCERIA) AS n FROM panel", data_dir=aula_dir)["n"][0]
    assert stored == (written != "").sum() > 0


def test_null_counts_of_paused_and_closed_schools_stay_null(census_db, server, generated, aula_dir):
    refresh([2022], server, aula_dir)
    text = read_as_text(generated[2022].path)
    frame = panel.query(
        "SELECT TP_SITUACAO_FUNCIONAMENTO AS status, count(*) AS schools, count(QT_MAT_BAS) AS counted "
        "FROM panel GROUP BY 1 ORDER BY 1",
        data_dir=aula_dir,
    ).set_index("status")
    for status in (2, 3):
        if status in frame.index:
            assert frame.loc[status, "counted"] == 0
    assert frame.loc[1, "counted"] == frame.loc[1, "schools"] == (text["TP_SITUACAO_FUNCIONAMENTO"] == "1").sum()


def test_multi_table_2025_is_refused_with_the_reason(census_db, server, aula_dir):
    with pytest.raises(census.CensusRefreshError) as failed:
        refresh([2025], server, aula_dir)
    error = failed.value.errors[2025]
    assert isinstance(error, CensusLayoutError) and str(error).startswith("2025: ")
    assert "matricula" in str(error) and "QT_MAT_" in str(error)
    assert records(2025)[-1].error == str(error)


def test_refreshing_twice_gives_the_same_data_without_duplicates(census_db, server, aula_dir):
    refresh([2022, 2023], server, aula_dir)
    first = loaded_state(aula_dir, 2022)[2], loaded_state(aula_dir, 2023)[2]
    schools = db.session.scalar(select(func.count()).select_from(School))
    refresh([2022, 2023], server, aula_dir)
    assert (loaded_state(aula_dir, 2022)[2], loaded_state(aula_dir, 2023)[2]) == first
    assert db.session.scalar(select(func.count()).select_from(School)) == schools
    assert (
        panel.query("SELECT count(*) - count(DISTINCT (NU_ANO_CENSO, CO_ENTIDADE)) AS d FROM panel", data_dir=aula_dir)[
            "d"
        ][0]
        == 0
    )
    assert len(records()) == 4 and len({r.refresh_id for r in records()}) == 2


def test_local_paths_and_file_urls_are_sources_too(census_db, generated, aula_dir):
    folder = generated[2023].path.parent
    census.refresh([2022], f"file://{folder}/microdados_censo_escolar_{{year}}.zip", data_dir=aula_dir)
    census.refresh([2023], str(generated[2023].path), data_dir=aula_dir)
    assert panel.years_loaded(aula_dir) == [2022, 2023]
    assert generated[2023].path.exists(), "a local source file is never removed"
    assert records(2023)[0].sha256 == hashlib.sha256(generated[2023].path.read_bytes()).hexdigest()


def test_rq_entry_point_records_progress_and_result(app, generated, monkeypatch, aula_dir):
    monkeypatch.setenv("AULA_DATA_DIR", str(aula_dir))
    source = f"{generated[2023].path.parent}/microdados_censo_escolar_{{year}}.zip"
    run = census.enqueue_census_refresh([2023], source, requested_by="admin@test")
    try:
        assert run.queue == "census" and run.status == "queued"
        with pytest.raises(queue.JobAlreadyRunningError):
            census.enqueue_census_refresh([2022], source, requested_by="admin@test")
        result = census.refresh_census(run.id, [2023], source)  # what the worker runs, here in-process
    finally:
        Queue("census", connection=queue.connection()).empty()
    run = db.session.get(JobRun, run.id)
    assert (run.status, run.progress) == ("succeeded", 100) and result["loaded"] == {2023: result["loaded"][2023]}
    assert "2023" in run.message and records(2023)[0].run_id == run.id
    assert records(2023)[0].requested_by == "admin@test"


@pytest.mark.slow
def test_a_worker_runs_the_queued_refresh(app, server, aula_dir, monkeypatch):
    monkeypatch.setenv("AULA_DATA_DIR", str(aula_dir))
    run = census.enqueue_census_refresh([2023], server.pattern, requested_by="admin@test")
    flask = Path(sys.executable).parent / "flask"
    worker = subprocess.run(
        [str(flask), "--app", "wsgi", "worker", "--queue", "census", "--burst"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    deadline = time.monotonic() + 30
    while (db.session.refresh(run), run.is_open)[1] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.status == "succeeded", run.error
    assert panel.years_loaded(aula_dir) == [2023]


def test_cli_refresh_runs_in_the_foreground_and_fails_loudly(app, server, generated):
    settings_dir = app.config["SETTINGS"].data_dir
    runner = app.test_cli_runner()
    try:
        ok = runner.invoke(args=["census", "refresh", "--years", "2022-2023", "--source", server.pattern])
        assert ok.exit_code == 0, ok.output
        assert f"2023: {generated[2023].rows:,} schools" in ok.output
        assert panel.years_loaded(settings_dir) == [2022, 2023]
        failed = runner.invoke(args=["census", "refresh", "--years", "2023,2025", "--source", server.pattern])
        assert failed.exit_code == 1
        assert "2025: FAILED" in failed.output and "1 year(s) failed" in failed.output
        bad = runner.invoke(args=["census", "refresh", "--years", "2023-2021"])
        assert bad.exit_code == 2 and "backwards" in bad.output
    finally:
        shutil.rmtree(settings_dir / "census", ignore_errors=True)


def test_cli_queue_hands_the_refresh_to_a_worker(app, server):
    try:
        result = app.test_cli_runner().invoke(
            args=["census", "refresh", "--years", "2023", "--source", server.pattern, "--queue"]
        )
        assert result.exit_code == 0 and result.output.startswith("queued run ")
        run = db.session.scalar(select(JobRun).order_by(JobRun.id.desc()))
        assert (run.queue, run.params) == ("census", {"years": [2023], "source": server.pattern})
    finally:
        Queue("census", connection=queue.connection()).empty()
