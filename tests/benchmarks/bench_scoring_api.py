"""Benchmark one-record at-risk scoring under gunicorn with the README's production settings, beside baselines.

    python tests/benchmarks/bench_scoring_api.py [--seconds 15] [--connections 32]

Seeds the demo institution into a temporary SQLite database, trains the production at_risk model, starts
gunicorn (4 workers x 4 threads, README "Production") on a free port, and loads it with wrk (loopback only,
bounded in time) three ways in the same run: `POST /api/v1/at-risk/score` with one JSON record (the fast path),
the same record as a CSV body (the batch path), and `GET /healthz` (the baseline: the server's own ceiling).
Also times the what-if form's callback server-side. Prints one JSON object per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.serving import emit, temporary_instance, wrk  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

WORKERS, THREADS = 4, 4  # README "Production"
FIGURES = ("requests_per_s", "requests", "p50_ms", "p90_ms", "p99_ms", "non_2xx", "socket_errors")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="", help="comma-separated benchmark names to run (default: all)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with temporary_instance() as data_dir:
        token, record, csv_body = prepare()
        emit_what_if(record)
        app = os.environ.get("AULA_BENCH_APP", "wsgi:app")
        with gunicorn(app, workers=WORKERS, threads=THREADS, quiet=True) as url:
            auth = {"Authorization": f"Bearer {token}"}
            loads = {
                "at_risk_score_json_one_record": ("POST", "/api/v1/at-risk/score", json.dumps(record),
                                                  {**auth, "Content-Type": "application/json"}),
                "at_risk_score_csv_one_record": ("POST", "/api/v1/at-risk/score", csv_body,
                                                 {**auth, "Content-Type": "text/csv"}),
                "healthz_baseline": ("GET", "/healthz", None, {}),
            }  # fmt: skip
            chosen = set(filter(None, args.only.split(","))) or set(loads)
            for name, (method, path, body, headers) in loads.items():
                if name not in chosen:
                    continue
                warm(url, method, path, body, headers)
                request = (url + path, method, body, headers)
                # Every worker process loads the model at its first request: a discarded run warms them all.
                wrk(*request, seconds=3, connections=args.connections, folder=data_dir)
                figures = wrk(*request, seconds=args.seconds, connections=args.connections, folder=data_dir)
                emit(name, workers=WORKERS, threads=THREADS, connections=args.connections,
                     **{key: figures[key] for key in FIGURES})  # fmt: skip


def prepare() -> tuple[str, dict, str]:
    """Migrate, seed the demo institution, train at_risk, create a faculty token; one current record to score."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes.update(url=os.environ["DATABASE_URL"], configure_logging=False)
    command.upgrade(config, "head")
    from core import db
    from core.models import ApiToken, RiskPrediction, User
    from ml import lifecycle
    from ml.at_risk import store
    from ml.data.academic_sql import SEEDER

    db.bind(os.environ["DATABASE_URL"])
    SEEDER.seed("demo", 0)
    lifecycle.retrain("at_risk", requested_by="bench")
    user = User.create("bench@aula.example", "faculty", "bench-password-123")
    _, token = ApiToken.issue(user, "bench")
    db.session.commit()
    enrollment_id = db.session.scalars(select(RiskPrediction.enrollment_id).limit(1)).one()
    record = store.scoring_record(enrollment_id)
    fields = [k for k, v in record.items() if v is not None]
    csv_body = ",".join(fields) + "\n" + ",".join(str(record[k]) for k in fields) + "\n"
    return token, record, csv_body


def emit_what_if(record: dict) -> None:
    """Server time of the what-if edit: validate the recorded and the edited record, score both (fast path)."""
    from ml.at_risk import store
    from ml.data.academic_import import ACADEMIC
    from ml.data.import_engine import validate_records

    scorer = store.production_scorer().scorer
    edited = {**record, "attendance_w8": 40.0}
    times = []
    for _ in range(200):
        start = time.perf_counter()
        valid, _, _ = validate_records(ACADEMIC, [record, edited])
        scorer.score(valid, "midterm")
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    emit("at_risk_what_if_edit_server_ms", median_ms=round(statistics.median(times), 2),
         p95_ms=round(times[int(0.95 * len(times))], 2))  # fmt: skip


def warm(url: str, method: str, path: str, body: str | None, headers: dict) -> None:
    import requests

    for _ in range(20):  # every worker and thread loads the model once before the clock starts
        response = requests.request(method, url + path, data=body, headers=headers, timeout=30)
        response.raise_for_status()


if __name__ == "__main__":
    main()
