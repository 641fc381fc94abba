"""Benchmark the faculty view at a given scale: storing the data, retraining + publishing, every dashboard
callback's server time, and batch scoring of an uploaded CSV end to end.

    python tests/benchmarks/bench_faculty_view.py [--scale full|demo]

Runs against a fresh SQLite file in a temporary data directory (or DATABASE_URL if set: it is wiped).
Baseline in the same run: `faculty_baseline_healthz`, the server time of the cheapest request.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.serving import heap_frozen  # noqa: E402

REPEAT = 7
SCORING_ROWS = 100_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "full"), default="full")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="aula-bench-", dir="/tmp"))
    os.environ["AULA_DATA_DIR"] = str(data_dir)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'bench.db'}"
    os.environ["DATABASE_URL"] = url

    from jobs import redis_server
    from tests.conftest import empty_tables, migrate

    try:
        migrate(url)
        from core.settings import Settings
        from webapp import create_app

        app = create_app({"SETTINGS": Settings.from_env(), "WTF_CSRF_ENABLED": False})
        empty_tables()
        data = store_data(args.scale)
        version = retrain(args.scale)
        client = signed_in_client(app)
        with heap_frozen():
            time_callbacks(app, client, version, data)
        time_batch_scoring(client, data)
    finally:
        redis_server.stop(data_dir)  # the app starts one at its first queue or throttle call
        shutil.rmtree(data_dir, ignore_errors=True)


def store_data(scale: str):
    from ml.data.academic import generate_scale
    from ml.data.academic_sql import save_generated

    data = generate_scale(scale)
    start = time.perf_counter()
    rows = save_generated(data)
    emit("faculty_store_records", time.perf_counter() - start, scale=scale, rows=rows)
    return data


def retrain(scale: str):
    from ml import lifecycle

    start = time.perf_counter()
    outcome = lifecycle.retrain("at_risk", requested_by="benchmark")
    emit("faculty_retrain_and_publish", time.perf_counter() - start, scale=scale, version=outcome.version.version)
    return outcome.version


def signed_in_client(app):
    from core import db
    from core.models import ApiToken, User

    user = User.create("bench@test.example", "faculty", "benchmark-password")
    _, token = ApiToken.issue(user, "benchmark")
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "bench@test.example", "password": "benchmark-password"})
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"  # the API is called as a script would
    return client


def time_callbacks(app, client, version, data) -> None:
    from ml.at_risk import store
    from tests.integration.dash_client import call, dash_app_at
    from webapp.dashboards.faculty.what_if import EDITABLE

    dash_app, prefix = dash_app_at(app, "/faculty/"), "/faculty/"
    term = store.current_term().code
    course = store.courses_in_term(term)[0][0]
    first = store.predictions(version.id, term, "midterm", course, limit=1).iloc[0]
    enrollment_id, row = int(first["enrollment_id"]), first.to_dict()
    row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    what_if = [({"type": "what-if", "field": f}, 80) for f in EDITABLE]
    cases = {
        "refresh_all_courses": (
            "risk-grid.rowData",
            {"term.value": term, "course.value": "", "checkpoint.value": "midterm"},
        ),
        "refresh_one_course": (
            "risk-grid.rowData",
            {"term.value": term, "course.value": course, "checkpoint.value": "week_4"},
        ),
        "student_panel": (
            "student-panel.children",
            {"selected-enrollment.data": enrollment_id, "risk-grid.selectedRows": [row]},
        ),
        "interventions_list": ("interventions-grid.rowData", {"course.value": course}),
        "model_quality": ("model-quality.children", {"checkpoint.value": "midterm"}),
        "what_if_score": (
            "what-if-result.children",
            {"selected-enrollment.data": enrollment_id, "checkpoint.value": "midterm", "what-if.value": what_if},
        ),
    }
    baseline = median_seconds(lambda: client.get("/healthz"))
    emit("faculty_baseline_healthz", baseline)
    for name, (output, values) in cases.items():
        start = time.perf_counter()
        status, _ = call(client, dash_app, prefix, output, values)
        cold = time.perf_counter() - start  # the first call after a promotion fills the per-process caches
        assert status == 200, (name, status)
        seconds = median_seconds(lambda output=output, values=values: call(client, dash_app, prefix, output, values))
        emit(
            f"faculty_callback_{name}",
            seconds,
            ms=round(seconds * 1000, 1),
            cold_ms=round(cold * 1000, 1),
            ratio_to_baseline=round(seconds / baseline, 1),
        )


def time_batch_scoring(client, data) -> None:
    import pandas as pd

    current = data.records().query("is_current")
    columns = ["student_id", "course_code", "attendance_w4", "attendance_w8", "quiz_1", "quiz_2", "quiz_3",
               "assignment_1", "assignment_2", "midterm", "lms_minutes_w8", "lms_logins_w8"]  # fmt: skip
    batch = pd.concat([current[columns]] * (SCORING_ROWS // len(current) + 1)).head(SCORING_ROWS)
    csv = batch.to_csv(index=False).encode()
    start = time.perf_counter()
    baseline = pd.read_csv(__import__("io").BytesIO(csv))
    read_only = time.perf_counter() - start
    emit("faculty_baseline_read_csv_100k", read_only, rows=len(baseline))
    start = time.perf_counter()
    response = client.post(
        "/api/v1/at-risk/score", data=csv, headers={"Content-Type": "text/csv", "Accept": "text/csv"}
    )
    seconds = time.perf_counter() - start
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    emit(
        "faculty_batch_scoring_upload_100k",
        seconds,
        rows=SCORING_ROWS,
        rows_per_s=round(SCORING_ROWS / seconds),
        ratio_to_read_csv=round(seconds / read_only, 1),
    )


def median_seconds(action) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def emit(benchmark: str, seconds: float, **fields) -> None:
    print(json.dumps({"benchmark": benchmark, "seconds": round(seconds, 4), **fields}), flush=True)


if __name__ == "__main__":
    main()
