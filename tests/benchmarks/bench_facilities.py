"""Benchmark the facilities models and view: training and publishing at scale, forecasting a whole week, the live
"will it fit?" form, and a reassignment plan from the stored forecasts.

    python tests/benchmarks/bench_facilities.py [--scale full|demo] [--repeat 30]

Runs against a fresh SQLite file in a temporary data directory (`tests.benchmarks.serving.temporary_instance`,
which stops the embedded Redis afterwards). Targets: a whole week's forecast of the benchmark campus <= 2 s; the
live form <= 100 ms of server time. Baselines in the same run: `facilities_baseline_healthz` (the cheapest request,
through the same test client) and `facilities_fit_form_model_only` (the form's scoring function alone, without
Dash), beside the form's callback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.serving import temporary_instance  # noqa: E402

FORM_TARGET_S = 0.1
WEEK_TARGET_S = 2.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "full"), default="full")
    parser.add_argument("--repeat", type=int, default=30, help="calls per timed step (median and p95 reported)")
    args = parser.parse_args(argv)
    with temporary_instance():
        from tests.conftest import migrate

        migrate(os.environ["DATABASE_URL"])
        from core.settings import Settings
        from webapp import create_app

        app = create_app({"SETTINGS": Settings.from_env(), "WTF_CSRF_ENABLED": False})
        store_campus(args.scale)
        train(args.scale)
        time_week_forecast(args.scale, args.repeat)
        client = signed_in_client(app)
        time_fit_form(app, client, args.repeat)
        time_plan(args.scale)


def store_campus(scale: str) -> None:
    from ml.data import campus_sql
    from ml.data.campus import generate_scale

    start = time.perf_counter()
    counts = campus_sql.save_campus(generate_scale(scale, seed=0))
    emit(f"facilities_store_campus_{scale}", time.perf_counter() - start, **counts)


def train(scale: str) -> None:
    """Each task through the lifecycle (load from SQL, train every candidate, gate, publish), and its parts."""
    from ml import lifecycle

    for task in ("occupancy", "overcrowding"):
        start = time.perf_counter()
        outcome = lifecycle.retrain(task, requested_by="benchmark")
        seconds = time.perf_counter() - start
        metrics = outcome.version.metrics
        detail = metrics["detail"]
        headline = {k: round(metrics[k], 4) for k in ("wape", "mae", "f1", "pr_auc") if k in metrics}
        baseline = {k: round(metrics[k], 4) for k in ("baseline_wape", "baseline_f1") if k in metrics}
        emit(
            f"facilities_train_{task}_{scale}",
            seconds,
            candidate_fit_seconds=detail.get("fit_seconds"),
            chosen=detail["chosen"],
            rows=outcome.version.data_summary.get("measured_rows"),
            beats_baseline=metrics["beats_baseline"],
            interval_coverage=round(metrics["interval_coverage"], 4) if "interval_coverage" in metrics else None,
            promoted=outcome.promoted,
            **headline,
            **baseline,
        )


def time_week_forecast(scale: str, repeat: int) -> None:
    """One whole week of every session: from SQL (observations, timetable) to forecasts, intervals and risks."""
    from ml import registry
    from ml.data.campus_sql import load_observations
    from ml.occupancy.store import Horizon, forecast_horizon, rows_to_forecast

    occupancy = registry.load_production("occupancy").model
    overcrowding = registry.load_production("overcrowding").model
    horizon = forecast_horizon()
    week = Horizon(horizon.term_code, horizon.as_of, (horizon.coming,))

    def from_sql() -> int:
        observations = load_observations()
        rows = rows_to_forecast(week)
        occupancy.forecast(rows, occupancy.builder.history(observations))
        overcrowding.probability(rows, overcrowding.builder.history(observations))
        return len(rows)

    observations, rows = load_observations(), rows_to_forecast(week)

    def in_memory() -> None:
        history = occupancy.builder.history(observations)
        occupancy.forecast(rows, history)
        overcrowding.probability(rows, history)

    runs = max(3, repeat // 10)
    sessions = from_sql()
    seconds = [_timed(from_sql) for _ in range(runs)]
    emit(
        f"facilities_forecast_week_{scale}",
        statistics.median(seconds),
        sessions=sessions,
        target_seconds=WEEK_TARGET_S,
        note="load observations + timetable from SQL, features, forecast with interval, overcrowding probability",
    )
    seconds = [_timed(in_memory) for _ in range(runs)]
    emit(f"facilities_forecast_week_{scale}_in_memory", statistics.median(seconds), sessions=len(rows))


def signed_in_client(app):
    from core import db
    from core.models import User

    User.create("bench-rooms@test.example", "facilities", "benchmark-password")
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "bench-rooms@test.example", "password": "benchmark-password"})
    return client


def time_fit_form(app, client, repeat: int) -> None:
    """The form's callback over HTTP (server time, in-process) beside /healthz and the bare scoring function."""
    from ml import registry
    from ml.occupancy import live
    from tests.integration.dash_client import call, dash_app_at

    occupancy = registry.load_production("occupancy").model
    overcrowding = registry.load_production("overcrowding").model
    context = live.campus_context(occupancy.builder.wifi_per_person)
    venue = max(context.venues, key=lambda code: context.venues[code]["capacity"])
    dash_app, prefix = dash_app_at(app, "/facilities/"), "/facilities/"

    def form(registered: int):
        values = {
            "fit-level.value": 2,
            "fit-registered.value": registered,
            "fit-venue.value": venue,
            "fit-weekday.value": 1,
            "fit-slot.value": 2,
            "fit-week.value": context.as_of + 1,
        }
        status, _ = call(client, dash_app, prefix, "fit-result.children", values)
        assert status == 200, status

    def bare(registered: int):
        question = live.validate(
            {"level": 2, "registered": registered, "venue_code": venue, "weekday": 1, "slot": 2,
             "week": context.as_of + 1},
            live.campus_context(occupancy.builder.wifi_per_person),
        )  # fmt: skip
        live.answer(question, occupancy, overcrowding, context)

    healthz = [_timed(lambda: client.get("/healthz")) for _ in range(repeat)]
    emit("facilities_baseline_healthz", statistics.median(healthz), **_spread(healthz))
    form(10)  # the first call loads the models and the campus context once per process
    times = [_timed(lambda r=r: form(r)) for r in range(20, 20 + repeat)]
    emit(
        "facilities_fit_form_callback",
        statistics.median(times),
        **_spread(times),
        target_seconds=FORM_TARGET_S,
        ratio_to_healthz=round(statistics.median(times) / statistics.median(healthz), 1),
        note="POST _dash-update-component through the Flask test client: routing, auth guard, Dash, scoring",
    )
    times = [_timed(lambda r=r: bare(r)) for r in range(20, 20 + repeat)]
    emit("facilities_fit_form_model_only", statistics.median(times), **_spread(times))


def time_plan(scale: str) -> None:
    from ml.data.campus_sql import load_venues
    from ml.occupancy import planning
    from ml.occupancy.store import forecast_horizon
    from webapp.dashboards.facilities import data

    version, horizon = data.occupancy_version(), forecast_horizon()
    start = time.perf_counter()
    plan = planning.week_plan(version.id, horizon)
    emit(
        f"facilities_reassignment_plan_{scale}",
        time.perf_counter() - start,
        solver_seconds=round(plan.seconds, 4),
        sessions=plan.n_sessions,
        at_risk=plan.n_at_risk,
        moves=len(plan.moves),
        unsolved=len(plan.unsolved),
        venues=len(load_venues()),
        target_seconds=5.0,
        note="read the stored forecasts of the coming week, every room, walking distances; solve",
    )


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _spread(times: list[float]) -> dict:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(times) * 1000, 2), "p95_ms": round(p95 * 1000, 2), "n": len(times)}


def emit(benchmark: str, seconds: float, **fields) -> None:
    print(json.dumps({"benchmark": benchmark, "seconds": round(seconds, 4), **fields}), flush=True)


if __name__ == "__main__":
    main()
