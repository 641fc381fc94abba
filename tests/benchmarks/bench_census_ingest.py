"""Benchmark: ingest of N full-width generated INEP census years, three ways, from the same zips in the same run.

- `aula`: `jobs.census.refresh` from local zips, end to end: sha256 of each zip, safe zip checks, typed read of
  the panel's columns with INEP's md5 check, Parquet per year, aggregates and refresh records in SQL (SQLite),
  then the schools table.
- `bare_pyarrow`: `pyarrow.csv.read_csv` of the same columns with the same types, one year at a time.
- `reference_pandas`: the reference pipeline: `pandas.read_csv` of every column with default types, then concat.

Each runs in its own subprocess so its peak RSS is its own, and reports wall seconds and CPU seconds (on a shared
machine, the CPU figures compare the work done; the wall figures depend on free cores, which pyarrow's parallel
parsing needs and pandas does not use). Prints one JSON object per line (generation, each approach, and a
summary with the issue's targets). Scale from the environment:

    AULA_CENSUS_BENCH_YEARS    years, ending 2023 (default 3; AULA_SCALE=full: 13, i.e. 2011-2023)
    AULA_CENSUS_BENCH_SCHOOLS  active schools the first year (default 180000, INEP's size)
    AULA_CENSUS_BENCH_REFERENCE  0 skips the pandas reference (it needs ~1.4 GB per year)
    AULA_CENSUS_BENCH_DIR      keep the generated zips there and reuse them on the next run

Run from the repository root: ``python tests/benchmarks/bench_census_ingest.py [--repeat K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPROACHES = ("aula", "bare_pyarrow", "reference_pandas")
TARGETS = {"speedup_vs_reference": 5.0, "memory_fraction_of_reference": 1 / 6, "ratio_to_bare_pyarrow": 1.5}
PEAK_LIMIT_MB = 1536


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="best of K runs of each approach, interleaved")
    parser.add_argument("--worker", choices=APPROACHES, help=argparse.SUPPRESS)
    parser.add_argument("zips", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.worker:
        print(json.dumps(_measure(args.worker, [Path(p) for p in args.zips])))
        return []
    results = run(repeat=args.repeat)
    for result in results:
        print(json.dumps(result), flush=True)
    return results


def run(repeat: int = 1) -> list[dict]:
    env = os.environ
    n_years = int(env.get("AULA_CENSUS_BENCH_YEARS") or (13 if env.get("AULA_SCALE") == "full" else 3))
    n_schools = int(env.get("AULA_CENSUS_BENCH_SCHOOLS", 180_000))
    with_reference = env.get("AULA_CENSUS_BENCH_REFERENCE", "1") != "0"
    kept = env.get("AULA_CENSUS_BENCH_DIR")
    folder = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="aula-census-bench-"))
    try:
        years = list(range(2024 - n_years, 2024))
        zips, generation = _generated(folder, years, n_schools)
        approaches = [a for a in APPROACHES if with_reference or a != "reference_pandas"]
        best: dict[str, dict] = {}
        for _ in range(max(repeat, 1)):
            for approach in approaches:
                measured = _in_subprocess(approach, zips)
                if approach not in best or measured["seconds"] < best[approach]["seconds"]:
                    best[approach] = measured
        scale = {"years": n_years, "schools": n_schools}
        results = [generation]
        for approach, measured in best.items():
            results.append({"benchmark": f"census_ingest_{approach}", **scale, **measured})
        results.append(_summary(best, scale))
        return results
    finally:
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)


def _generated(folder: Path, years: list[int], n_schools: int) -> tuple[list[Path], dict]:
    from ml.data.census_generator import write_census_zips

    marker = folder / f"generated-{years[0]}-{years[-1]}-{n_schools}.json"
    if marker.exists():
        generation = json.loads(marker.read_text())
    else:
        start = time.perf_counter()
        written = write_census_zips(folder, years, n_schools, seed=0)
        seconds = time.perf_counter() - start
        csv_bytes = sum(g.csv_bytes for g in written)
        generation = {
            "benchmark": "census_generate",
            "years": len(years),
            "schools": n_schools,
            "rows": sum(g.rows for g in written),
            "csv_mb": round(csv_bytes / 1e6, 1),
            "zip_mb": round(sum(g.path.stat().st_size for g in written) / 1e6, 1),
            "seconds": round(seconds, 2),
            "mb_per_s": round(csv_bytes / 1e6 / seconds, 1),
        }
        marker.write_text(json.dumps(generation))
    return [folder / f"microdados_censo_escolar_{year}.zip" for year in years], generation


def _in_subprocess(approach: str, zips: list[Path]) -> dict:
    command = [sys.executable, __file__, "--worker", approach, *map(str, zips)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{approach} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(best: dict[str, dict], scale: dict) -> dict:
    aula, bare, reference = best["aula"], best["bare_pyarrow"], best.get("reference_pandas")
    figures = {"ratio_to_bare_pyarrow": round(aula["seconds"] / bare["seconds"], 2)}
    if reference:
        figures["speedup_vs_reference"] = round(reference["seconds"] / aula["seconds"], 2)
        figures["memory_fraction_of_reference"] = round(aula["peak_rss_mb"] / reference["peak_rss_mb"], 3)
    met = {
        "speedup_vs_reference": lambda v: v >= TARGETS["speedup_vs_reference"],
        "memory_fraction_of_reference": lambda v: v <= TARGETS["memory_fraction_of_reference"],
        "ratio_to_bare_pyarrow": lambda v: v <= TARGETS["ratio_to_bare_pyarrow"],
    }
    targets = {name: met[name](value) for name, value in figures.items()}
    targets["peak_rss_under_1_5_gb"] = aula["peak_rss_mb"] <= PEAK_LIMIT_MB
    return {
        "benchmark": "census_ingest_summary",
        **scale,
        **figures,
        "peak_rss_mb": aula["peak_rss_mb"],
        "targets_met": targets,
    }


# --- in the worker subprocess ----------------------------------------------------------------------------------


def _measure(approach: str, zips: list[Path]) -> dict:
    import pyarrow  # noqa: F401  (imports before the clock starts, for every approach alike)

    work = {"aula": _aula, "bare_pyarrow": _bare_pyarrow, "reference_pandas": _reference_pandas}[approach]
    prepared = work(zips)  # returns the timed part, everything it needs imported and set up
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    rows = prepared()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    csv_mb = sum(_csv_size(path) for path in zips) / 1e6
    return {
        "rows": rows,
        "load_avg_1m": round(os.getloadavg()[0], 2),  # the machine is shared: how busy it was meanwhile
        "csv_mb": round(csv_mb, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "mb_per_s": round(csv_mb / seconds, 1),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "peak_rss_mb": round(after.ru_maxrss / 1024),
    }


def _aula(zips: list[Path]):
    from sqlalchemy import create_engine

    import core.models  # noqa: F401
    from core import db
    from core.db import Base
    from jobs import census
    from ml.census import panel

    data_dir = Path(tempfile.mkdtemp(prefix="aula-census-bench-data-"))
    url = f"sqlite:///{data_dir / 'aula.db'}"
    Base.metadata.create_all(create_engine(url))
    db.bind(url)
    with panel.connect(files={}):  # DuckDB's first start-up, outside the clock like the other imports
        pass
    years = [int(path.stem.rsplit("_", 1)[1]) for path in zips]
    source = str(zips[0].parent / "microdados_censo_escolar_{year}.zip")

    def ingest() -> int:
        try:
            return sum(load.rows for load in census.refresh(years, source, data_dir=data_dir).loaded)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    return ingest


def _bare_pyarrow(zips: list[Path]):
    import zipfile

    import pyarrow as pa
    import pyarrow.csv as pcsv

    from ml.census.columns import PANEL_COLUMNS

    def read() -> int:
        rows = 0
        for path in zips:
            with zipfile.ZipFile(path) as archive:
                with archive.open(_member(archive)) as csv:
                    header = set(csv.readline().decode("latin-1").strip().split(";"))
                # The same columns under the names this year's file uses.
                names = {next(n for n in (c.name, *c.older_names) if n in header): c for c in PANEL_COLUMNS}
                types = {name: pa.binary() if c.is_text else c.type for name, c in names.items()}
                convert = pcsv.ConvertOptions(include_columns=list(types), column_types=types)
                with archive.open(_member(archive)) as csv:
                    parse = pcsv.ParseOptions(delimiter=";")
                    rows += pcsv.read_csv(csv, parse_options=parse, convert_options=convert).num_rows
        return rows

    return read


def _reference_pandas(zips: list[Path]):
    import zipfile

    import pandas as pd

    def read() -> int:
        frames = []
        for path in zips:
            with zipfile.ZipFile(path) as archive, archive.open(_member(archive)) as csv:
                frames.append(pd.read_csv(csv, sep=";", encoding="latin-1", low_memory=False))
        return len(pd.concat(frames, ignore_index=True))

    return read


def _member(archive) -> str:
    return next(n for n in archive.namelist() if "microdados_ed_basica_" in n.lower() and n.lower().endswith(".csv"))


def _csv_size(path: Path) -> int:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.getinfo(_member(archive)).file_size


if __name__ == "__main__":
    main()
