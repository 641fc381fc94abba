"""Benchmark the at-risk pipeline: generation, training all checkpoints, batch scoring from CSV.

    python tests/benchmarks/bench_at_risk.py [--scale full|demo] [--seed 0]

Prints one JSON object per benchmark on stdout. Baselines measured in the same run, for ratios:
`at_risk_batch_predict_no_reasons` (scoring without SHAP reasons) and `at_risk_train_logistic_only`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pandas as pd

from ml.at_risk.model import train
from ml.data.academic import SCALES, generate_scale

SCORING_ROWS = 100_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = generate_scale(args.scale, seed=args.seed)
    records = data.records()
    emit("generate_" + args.scale, time.perf_counter() - start, rows=len(records))

    start = time.perf_counter()
    result = train(records, seed=args.seed)
    seconds = time.perf_counter() - start
    emit(
        "at_risk_train_all_checkpoints",
        seconds,
        scale=args.scale,
        rows=result.data_summary["rows"],
        chosen=result.params["chosen"],
        pr_auc=round(result.metrics["pr_auc"], 4),
        baseline_pr_auc=round(result.metrics["baseline_pr_auc"], 4),
    )
    start = time.perf_counter()
    train(records, seed=args.seed, candidates=("logistic_regression",))
    emit("at_risk_train_logistic_only", time.perf_counter() - start, scale=args.scale)

    current = records[records["is_current"]]
    # Score 100,000 rows: repeat the current term when a small scale has fewer.
    batch = pd.concat([current] * (SCORING_ROWS // max(1, len(current)) + 1)).head(SCORING_ROWS)
    csv_bytes = batch.to_csv(index=False).encode()
    model = result.model
    for name, with_reasons in (("at_risk_batch_scoring", True), ("at_risk_batch_predict_no_reasons", False)):
        start = time.perf_counter()
        frame = pd.read_csv(io.BytesIO(csv_bytes), dtype={"student_id": str, "course_code": str, "term_code": str})
        scored = model.predict(frame, with_reasons=with_reasons)
        seconds = time.perf_counter() - start
        emit(
            name,
            seconds,
            scale=args.scale,
            rows=len(scored),
            rows_per_s=round(len(scored) / seconds),
            checkpoint=str(scored["checkpoint"].iloc[0]),
        )


def emit(benchmark: str, seconds: float, **fields) -> None:
    print(json.dumps({"benchmark": benchmark, "seconds": round(seconds, 3), **fields}), flush=True)


if __name__ == "__main__":
    main()
