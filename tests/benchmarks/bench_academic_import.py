"""Benchmark: an institution's 100,000-row CSV through read_table + suggest_mapping + apply_mapping.

Prints one JSON object per line: the import itself, and in the same run plain ``pd.read_csv`` of the
same bytes (types inferred) as the baseline, so the figure can be quoted as a ratio, plus
``pd.read_csv(dtype=str)`` for the share that reading everything as text takes. Run from the
repository root: ``python tests/benchmarks/bench_academic_import.py [--rows N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark, print its JSON lines and return them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of K runs")
    args = parser.parse_args(argv)
    results = run(args.rows, args.repeat)
    for result in results:
        print(json.dumps(result))
    return results


def run(n_rows: int = 100_000, repeat: int = 3) -> list[dict]:
    """Time the import of a generated semicolon / decimal-comma CSV against plain pd.read_csv."""
    if str(ROOT) not in sys.path:  # when run as a script rather than imported by a runner
        sys.path.insert(0, str(ROOT))
    from ml.data.academic_import import academic_mapping, apply_mapping, read_table, suggest_mapping

    data = institution_csv(n_rows)

    def import_file():
        frame = read_table(data, "records.csv")
        mapping = academic_mapping(
            suggest_mapping(frame.columns),
            extra=["tutor", "cohort"],
            scales={"grade_p1": 20, "grade_p2": 20, "final_grade": 20},
        )
        return apply_mapping(frame, mapping)

    seconds, result = _best_of(repeat, import_file)
    baseline, _ = _best_of(repeat, lambda: pd.read_csv(io.BytesIO(data), sep=";", decimal=","))
    as_text, _ = _best_of(repeat, lambda: pd.read_csv(io.BytesIO(data), sep=";", dtype=str))
    shape = {"rows": n_rows, "columns": 20, "bytes": len(data)}
    return [
        {
            "benchmark": "academic_import_100k" if n_rows == 100_000 else f"academic_import_{n_rows}",
            **shape,
            "seconds": round(seconds, 3),
            "rows_per_s": round(n_rows / seconds),
            "valid_rows": result.n_valid_rows,
            "invalid_rows": result.n_invalid_rows,
            "errors_returned": len(result.errors),
            "ratio_to_baseline": round(seconds / baseline, 2),
        },
        {
            "benchmark": "academic_import_baseline_read_csv",
            **shape,
            "seconds": round(baseline, 3),
            "rows_per_s": round(n_rows / baseline),
        },
        {  # what reading every cell as text (no type guessing) costs by itself
            "benchmark": "academic_import_baseline_read_csv_text",
            **shape,
            "seconds": round(as_text, 3),
            "rows_per_s": round(n_rows / as_text),
        },
    ]


def institution_csv(n_rows: int, seed: int = 0) -> bytes:
    """A Portuguese-style export: ';' separator, decimal commas, 0-20 grades, ~1 % bad cells."""
    rng = np.random.default_rng(seed)

    def grades(low: float, high: float) -> np.ndarray:
        return np.char.replace(np.round(rng.uniform(low, high, n_rows), 1).astype(str), ".", ",")

    columns = {
        "matricula": np.char.add("A", np.arange(n_rows).astype(str)),
        "disciplina": rng.choice(["MAT101", "FIS202", "QUI303", "BIO404", "HIS105"], n_rows),
        "semestre": rng.choice(["2024.1", "2024.2"], n_rows),
        "sexo": rng.choice(["F", "M", "Feminino", "Masculino"], n_rows),
        "idade": rng.integers(17, 45, n_rows).astype(str),
        "faltas": rng.integers(0, 20, n_rows).astype(str),
        "frequencia": np.char.add(np.round(rng.uniform(40, 100, n_rows)).astype(int).astype(str), "%"),
        "quiz 1": grades(0, 100),
        "quiz 2": grades(0, 100),
        "assignment 1": grades(0, 100),
        "assignment 2": grades(0, 100),
        "midterm": grades(0, 100),
        "nota 1": grades(0, 20),
        "nota 2": grades(0, 20),
        "nota final": grades(0, 20),
        "study time": rng.integers(1, 30, n_rows).astype(str),
        "cr": grades(0, 4),
        "curso": rng.choice(["Engenharia", "Direito", "Medicina"], n_rows),
        "tutor": rng.choice(["Ana", "João", "Zé"], n_rows),
        "cohort": rng.integers(2018, 2024, n_rows).astype(str),
    }
    frame = pd.DataFrame(columns)
    bad = rng.random(n_rows) < 0.01
    frame.loc[bad, "idade"] = "abc"
    return frame.to_csv(sep=";", index=False).encode("utf-8")


def _best_of(repeat: int, work: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


if __name__ == "__main__":
    main()
