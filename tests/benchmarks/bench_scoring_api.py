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
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORKERS, THREADS = 4, 4  # README "Production"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="", help="comma-separated benchmark names to run (default: all)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    data_dir = Path(tempfile.mkdtemp(prefix="aula-bench-", dir="/tmp"))
    env = {**os.environ, "AULA_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'aula.db'}"}
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    try:
        token, record, csv_body = prepare(data_dir)
        emit_what_if(record)
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), os.environ.get("AULA_BENCH_APP", "wsgi:app"),
             "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS), "--threads", str(THREADS), "--timeout", "120", "--no-control-socket"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url)
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
                # Every worker process loads the model at its first request: a discarded run warms them all.
                wrk(url + path, method, body, headers, 3, args.connections, data_dir)
                figures = wrk(url + path, method, body, headers, args.seconds, args.connections, data_dir)
                emit(name, workers=WORKERS, threads=THREADS, connections=args.connections, **figures)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        from jobs import redis_server

        redis_server.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def prepare(data_dir: Path) -> tuple[str, dict, str]:
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


def wrk(url: str, method: str, body: str | None, headers: dict, seconds: int, connections: int, tmp: Path) -> dict:
    script = tmp / "request.lua"
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    lines += [f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    output = subprocess.run(
        ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "requests": requests,
        "p50_ms": ms(percentiles["50"]),
        "p90_ms": ms(percentiles["90"]),
        "p99_ms": ms(percentiles["99"]),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def warm(url: str, method: str, path: str, body: str | None, headers: dict) -> None:
    import requests

    for _ in range(20):  # every worker and thread loads the model once before the clock starts
        response = requests.request(method, url + path, data=body, headers=headers, timeout=30)
        response.raise_for_status()


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    sys.exit("gunicorn did not start")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emit(name: str, **figures) -> None:
    print(json.dumps({"benchmark": name, **figures}), flush=True)


if __name__ == "__main__":
    main()
