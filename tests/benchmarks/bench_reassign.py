"""Benchmark the campus data layer and the room reassignment solver.

    python tests/benchmarks/bench_reassign.py [--scale full|demo] [--seed 0] [--repeat 5]

Prints one JSON object per benchmark on stdout: generating and storing the demo campus (and the full one at
full scale) in a fresh SQLite file each, loading the observation frame back, and an optimal reassignment of
the coming week of the stored campus (target: at most 5 s at full scale), with its instance size. The week's
forecasts are the naive baseline (each section's show-up rate so far x registered, upper bound +15 %): the
solver's work depends on how many sessions are at risk, not on which model said so. Baseline in the same run:
`reassign_<scale>_week_at_risk_only`, the same week without moving sessions that fit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

UPPER_MARGIN = 1.15


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "full"), default="full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="solver runs; the median and best are reported")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="aula-bench-campus-", dir="/tmp"))
    try:
        for scale in ("demo", "full") if args.scale == "full" else ("demo",):
            store(scale, args.seed, folder)
        time_reassignment(args.scale, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def store(scale: str, seed: int, folder: Path) -> None:
    """Generate the campus, store it in a fresh SQLite file, load its observation frame back."""
    from core import db
    from ml.data import campus_sql
    from ml.data.campus import generate_scale
    from tests.conftest import migrate

    url = f"sqlite:///{folder / f'{scale}.db'}"
    migrate(url)
    db.bind(url)
    start = time.perf_counter()
    data = generate_scale(scale, seed=seed)
    generated = time.perf_counter() - start
    emit(f"campus_generate_{scale}", generated, venues=len(data.venues), observations=len(data.observations))
    start = time.perf_counter()
    counts = campus_sql.save_campus(data)
    stored = time.perf_counter() - start
    emit(f"campus_store_{scale}", stored, **counts, rows_per_s=round(sum(counts.values()) / stored))
    emit(f"campus_generate_and_store_{scale}", generated + stored)
    start = time.perf_counter()
    frame = campus_sql.load_observations()
    emit(f"campus_load_observations_{scale}", time.perf_counter() - start, rows=len(frame))


def time_reassignment(scale: str, repeat: int) -> None:
    """Solve the coming week of the campus bound last (the biggest), several times."""
    from ml.data import campus_sql
    from ml.occupancy.reassign import solve_reassignment

    start = time.perf_counter()
    term, week = campus_sql.coming_week()
    timetable = naive_forecast(campus_sql.load_timetable(term), campus_sql.load_observations([term]))
    venues, distances = campus_sql.load_venues(), campus_sql.load_walking_distances()
    loading = time.perf_counter() - start
    for name, move_others in ((f"reassign_{scale}_week", True), (f"reassign_{scale}_week_at_risk_only", False)):
        seconds, plan = [], None
        for _ in range(max(repeat, 1)):
            start = time.perf_counter()
            plan = solve_reassignment(timetable, venues, distances, move_others=move_others, term_code=term, week=week)
            seconds.append(time.perf_counter() - start)
        per_cell = timetable.groupby(["weekday", "slot"]).size()
        emit(
            name,
            statistics.median(seconds),
            best_seconds=round(min(seconds), 4),
            load_inputs_seconds=round(loading, 4),
            term=term,
            week=week,
            sessions=plan.n_sessions,
            at_risk=plan.n_at_risk,
            venues=plan.n_venues,
            cells=plan.n_cells,
            max_sessions_per_cell=int(per_cell.max()),
            moves=len(plan.moves),
            others_moved=int((~plan.moves["at_risk"]).sum()),
            unsolved=len(plan.unsolved),
            walking_m=plan.objective.walking_m,
            target_seconds=5.0,
        )


def naive_forecast(timetable, observations):
    """Each section's head-count show-up rate so far x registered; the upper bound a flat margin above."""
    counted = observations[~observations["cancelled"] & observations["head_count"].notna()]
    rate = (counted["head_count"] / counted["registered"]).groupby(counted["section_code"]).mean()
    forecast = timetable["registered"] * timetable["section_code"].map(rate).fillna(rate.mean())
    return timetable.assign(forecast=forecast, upper=forecast * UPPER_MARGIN)


def emit(benchmark: str, seconds: float, **fields) -> None:
    print(json.dumps({"benchmark": benchmark, "seconds": round(seconds, 4), **fields}), flush=True)


if __name__ == "__main__":
    main()
