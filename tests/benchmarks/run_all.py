"""`make bench`: run every tests/benchmarks/bench_*.py, echo their JSON lines, write bench-results.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> int:
    results, failed = [], []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"# {script.name}", file=sys.stderr, flush=True)
        process = subprocess.run(
            [sys.executable, str(script), *sys.argv[1:]], cwd=ROOT, capture_output=True, text=True, check=False
        )
        for line in process.stdout.splitlines():
            if line.startswith("{"):
                print(line, flush=True)
                results.append(json.loads(line))
        if process.returncode != 0:
            failed.append(script.name)
            print(process.stderr[-3000:], file=sys.stderr)
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2))
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
