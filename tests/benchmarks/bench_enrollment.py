"""Benchmark: the enrollment task at full scale, and the ministry view's callbacks on what it publishes.

1. Generate INEP-format census zips (`ml.data.census_generator`) and ingest them through the real refresh path
   (`jobs.census.refresh`, local source pattern) into a temporary data directory and SQLite database.
2. Train: walk-forward validation of all nine stages and the final fit (`ml.enrollment.model.train`), timed with
   its CPU seconds and peak RSS; the headline figures beside the best baseline, per stage beside both.
3. Publish (register, promote: forecasts, SHAP reasons, aggregates), timed.
4. Callbacks of /ministry/ over HTTP (Flask test client, a signed-in ministry user), each called over several
   selections: median and worst server time, beside `/healthz` and the bare store reads measured in the same run.

Prints one JSON object per line. Scale from the environment:

    AULA_ENROLLMENT_BENCH_SCHOOLS  active schools the first year (default 180000, INEP's size)
    AULA_ENROLLMENT_BENCH_YEARS    census years, ending 2023 (default 13: 2011-2023)
    AULA_ENROLLMENT_BENCH_DIR      keep the zips and the ingested data there and reuse them on the next run

Run from the repository root: ``python tests/benchmarks/bench_enrollment.py``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAINING_LIMIT_S = 600
CALLBACK_LIMIT_MS = 300
CALLS = 12


def main() -> list[dict]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    n_schools = int(os.environ.get("AULA_ENROLLMENT_BENCH_SCHOOLS", 180_000))
    n_years = int(os.environ.get("AULA_ENROLLMENT_BENCH_YEARS", 13))
    kept = os.environ.get("AULA_ENROLLMENT_BENCH_DIR")
    folder = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="aula-enrollment-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    years = list(range(2024 - n_years, 2024))
    scale = {"schools": n_schools, "years": n_years}
    data_dir = folder / f"data-{years[0]}-{n_schools}"
    try:
        os.environ["AULA_DATA_DIR"] = str(data_dir)
        os.environ["DATABASE_URL"] = url = f"sqlite:///{data_dir / 'aula.db'}"
        results += _ingested(folder, data_dir, url, years, n_schools, scale)
        _emit(results)
        trained = _train(scale)
        results.append(trained["figures"])
        _emit(results)
        results.append(_publish(trained, scale))
        _emit(results)
        from tests.benchmarks.serving import heap_frozen

        with heap_frozen() as heap_gc_ms:
            results.append({**_callbacks(data_dir, url, scale), "training_heap_gc_ms": heap_gc_ms})
        _emit(results)
    finally:
        from jobs import redis_server

        redis_server.stop(data_dir)  # started by the refresh's and the publish's queue calls
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)
    return results


_printed = 0


def _emit(results: list[dict]) -> None:
    global _printed
    for result in results[_printed:]:
        print(json.dumps(result), flush=True)
    _printed = len(results)


def _ingested(folder: Path, data_dir: Path, url: str, years: list[int], n_schools: int, scale: dict) -> list[dict]:
    """Generate the zips and ingest them through the refresh (both reused when already in a kept folder)."""
    from tests.conftest import migrate

    marker = data_dir / "ingested.json"
    if marker.exists():
        from core import db

        db.bind(url)
        return [dict(r, reused=True) for r in json.loads(marker.read_text())]
    from ml.data.census_generator import write_census_zips

    zips = folder / f"zips-{years[0]}-{n_schools}"
    start = time.perf_counter()
    written = write_census_zips(zips, years, n_schools, seed=0)
    generation = {
        "benchmark": "enrollment_census_generate",
        **scale,
        "rows": sum(g.rows for g in written),
        "csv_mb": round(sum(g.csv_bytes for g in written) / 1e6, 1),
        "seconds": round(time.perf_counter() - start, 1),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    migrate(url)
    from core import db
    from jobs import census

    db.bind(url)
    start = time.perf_counter()
    loaded = census.refresh(years, str(zips / "microdados_censo_escolar_{year}.zip"), data_dir=data_dir).loaded
    ingest = {
        "benchmark": "enrollment_census_ingest",
        **scale,
        "rows": sum(load.rows for load in loaded),
        "seconds": round(time.perf_counter() - start, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    shutil.rmtree(zips, ignore_errors=True)
    marker.write_text(json.dumps([generation, ingest]))
    return [generation, ingest]


def _train(scale: dict) -> dict:
    from ml.enrollment.task import TASK

    data = TASK.load_training_data()
    before = resource.getrusage(resource.RUSAGE_SELF)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    result = TASK.train(data, lambda _pct, _msg: None)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    metrics = result.metrics
    detail = metrics["detail"]
    stages = {
        stage: {
            "rows": result.data_summary["rows_by_stage"].get(stage),
            "seconds": detail["seconds"]["stages"].get(stage),
            "wape": figures["model"]["wape"],
            "cohort_survival_wape": figures["baselines"]["cohort_survival"]["wape"],
            "same_as_last_year_wape": figures["baselines"]["same_as_last_year"]["wape"],
            "interval_coverage": figures["model"]["interval_coverage"],
            "beats_baseline": detail["gate"]["groups"][stage]["beats_baseline"],
        }
        for stage, figures in detail["stages"].items()
    }
    figures = {
        "benchmark": "enrollment_training",
        **scale,
        "rows": result.data_summary["rows"],
        "test_years": result.data_summary["test_years"],
        "seconds": round(seconds, 1),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "peak_rss_mb": round(after.ru_maxrss / 1024),
        "within_10_minutes": seconds <= TRAINING_LIMIT_S,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        **{key: metrics[key] for key in metrics if key != "detail"},
        "stages": stages,
    }
    return {"figures": figures, "result": result}


def _publish(trained: dict, scale: dict) -> dict:
    from ml import lifecycle

    result = trained["result"]
    version = lifecycle.register_candidate("enrollment", result, created_by="bench")
    start = time.perf_counter()
    lifecycle.promote(version, model=result.model, note="benchmark")
    from sqlalchemy import func, select

    from core import db
    from core.models import EnrollmentAreaForecast, EnrollmentForecast

    return {
        "benchmark": "enrollment_publish",
        **scale,
        "seconds": round(time.perf_counter() - start, 1),
        "school_rows": db.session.scalar(select(func.count()).select_from(EnrollmentForecast)),
        "area_rows": db.session.scalar(select(func.count()).select_from(EnrollmentAreaForecast)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _callbacks(data_dir: Path, url: str, scale: dict) -> dict:
    """Server time of each ministry callback over several selections, beside /healthz and the bare reads."""
    from sqlalchemy import func, select

    from core import db
    from core.models import EnrollmentForecast, ModelVersion, User
    from core.settings import Settings
    from ml.enrollment import store
    from tests.conftest import PASSWORD, sign_in
    from tests.integration.dash_client import call, dash_app_at
    from webapp import create_app

    app = create_app({"SETTINGS": Settings(database_url=url, redis_url=None, data_dir=data_dir, scale="full"),
                      "TESTING": True})  # fmt: skip
    if User.by_email("bench-ministry@test.example") is None:
        User.create("bench-ministry@test.example", "ministry", PASSWORD)
        db.session.commit()
    client = app.test_client()
    sign_in(client, "bench-ministry@test.example")
    dash = dash_app_at(app, "/ministry/")
    version = ModelVersion.production("enrollment")
    f = EnrollmentForecast
    biggest = db.session.execute(
        select(f.co_municipio, f.co_uf)
        .where(f.model_version_id == version.id, f.stage == store.TOTAL)
        .group_by(f.co_municipio, f.co_uf)
        .order_by(func.count().desc())
        .limit(CALLS)
    ).all()
    schools = [store.schools_in(version.id, m)[0][0] for m, _ in biggest]
    stages = ["BAS", "FUND_AI", "FUND_AF", "MED", "INF_CRE", "EJA_FUND"]
    selections = [
        ({"ministry-uf.value": "", "ministry-municipality.value": None}, "country"),
        *(({"ministry-uf.value": uf, "ministry-municipality.value": None}, "uf") for _, uf in biggest[:4]),
        *(({"ministry-uf.value": uf, "ministry-municipality.value": m}, "municipality") for m, uf in biggest),
    ]

    first: dict[str, float] = {}

    def timed(output: str, values: dict) -> float:
        if output not in first:  # the process's first call of each (imports, Dash's own first-request setup)
            first[output] = -1.0
            first[output] = timed(output, values)
        start = time.perf_counter()
        status, body = call(client, dash, "/ministry/", output, values)
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200:
            raise RuntimeError(f"{output} answered {status}: {body}")
        return elapsed

    callbacks: dict[str, list[float]] = {}
    for i, (where, _) in enumerate(selections * 2):
        stage = stages[i % len(stages)]
        values = {**where, "ministry-stage.value": stage}
        for output in ("ministry-history.figure", "ministry-growth.children"):
            callbacks.setdefault(output, []).append(timed(output, values))
        callbacks.setdefault("ministry-municipality.options", []).append(
            timed("ministry-municipality.options", {"ministry-uf.value": where["ministry-uf.value"] or 35})
        )
    for (m, uf), school in zip(biggest, schools, strict=True):
        callbacks.setdefault("ministry-school.options", []).append(
            timed("ministry-school.options", {"ministry-uf.value": uf, "ministry-municipality.value": m})
        )
        callbacks.setdefault("ministry-school-panel.children", []).append(
            timed(
                "ministry-school-panel.children",
                {"ministry-uf.value": uf, "ministry-municipality.value": m, "ministry-school.value": school},
            )
        )
    for stage in ["pooled", *stages[1:]]:
        callbacks.setdefault("quality-detail.children", []).append(
            timed("quality-detail.children", {"quality-stage.value": stage})
        )
    healthz = []
    for _ in range(CALLS):
        start = time.perf_counter()
        client.get("/healthz")
        healthz.append((time.perf_counter() - start) * 1000)
    bare = []
    for m, uf in biggest:
        start = time.perf_counter()
        store.area_series(version.id, "municipality", m, "BAS")
        store.movers(version.id, "BAS", co_uf=uf)
        bare.append((time.perf_counter() - start) * 1000)
    figures = {name: _summary(times) for name, times in callbacks.items()}  # warm calls, as a server serves
    worst = max(max(times) for name, times in callbacks.items())
    return {
        "benchmark": "ministry_callbacks",
        **scale,
        "callbacks_ms": figures,
        "first_call_ms": {name: round(ms, 1) for name, ms in first.items()},
        "healthz_ms": _summary(healthz),
        "bare_store_reads_ms": _summary(bare),
        "worst_callback_ms": round(worst, 1),
        "all_within_300_ms": worst <= CALLBACK_LIMIT_MS,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _summary(times: list[float]) -> dict:
    return {"median": round(statistics.median(times), 1), "max": round(max(times), 1), "n": len(times)}


if __name__ == "__main__":
    main()
