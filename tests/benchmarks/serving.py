"""What the benchmarks share: a temporary instance, wrk, and a heap set aside for in-process timings.

    with temporary_instance() as data_dir:
        ...  # migrate, seed, train: in this process, against data_dir
        with tests.servers.gunicorn(workers=2, threads=4, quiet=True) as url:
            figures = wrk(url + "/healthz", seconds=5, connections=8, folder=data_dir)

Every load is bounded in time and stays on loopback. `wrk` sends one fixed request (any body, read from a file)
through a Lua script whose `done` hook prints wrk's exact percentiles and error counts as one JSON line; each
benchmark emits the figures it reports under its own names.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRK_THREADS = 2
WRK_TIMEOUT = "10s"  # a request slower than this counts as a timeout error
WRK_SCRIPT = """
wrk.method = %(method)s
%(setup)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p95_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@contextmanager
def temporary_instance() -> Iterator[Path]:
    """A fresh data directory and SQLite database for this process and the servers it starts (embedded Redis:
    REDIS_URL is unset); the embedded Redis is stopped and the directory removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="aula-bench-", dir="/tmp"))
    os.environ.update({"AULA_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'aula.db'}"})
    os.environ.pop("REDIS_URL", None)
    try:
        yield data_dir
    finally:
        from jobs import redis_server

        redis_server.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def heap_frozen() -> Iterator[float]:
    """Time in-process callbacks as a web process serves them: collect once, then keep the collector off the
    heap that storing, training and publishing left in this process (a web process does not hold it, and its
    full collections would land in some callback's timing). Yields that one collection's milliseconds."""
    start = time.perf_counter()
    gc.collect()
    gc.freeze()
    try:
        yield round((time.perf_counter() - start) * 1000, 1)
    finally:
        gc.unfreeze()  # what stays frozen is never freed, and DuckDB's bindings report it as leaked at exit


def wrk(
    url: str,
    method: str = "GET",
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    seconds: int,
    connections: int,
    folder: Path,
) -> dict:
    """Load `url` with one fixed request for `seconds` (the script and body are written to `folder`).

    Returns duration_s, requests, requests_per_s, p50/p90/p95/p99/max_ms, errors (all kinds), error_rate,
    non_2xx, socket_errors (connect, read, write, timeout) and the 1-minute load average before and after: above
    the server's own share, other processes took CPU during the run.
    """
    setup = [f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in (headers or {}).items()]
    if body is not None:
        body_file = folder / "wrk-body.bin"
        body_file.write_bytes(body.encode() if isinstance(body, str) else body)
        setup.append(f'local f = io.open("{body_file}", "rb"); wrk.body = f:read("*all"); f:close()')
    script = folder / "wrk-load.lua"
    script.write_text(WRK_SCRIPT % {"method": json.dumps(method), "setup": "\n".join(setup)})
    command = ["wrk", "-t", str(min(WRK_THREADS, connections)), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", WRK_TIMEOUT, "-s", str(script), url]  # fmt: skip
    load_before = os.getloadavg()[0]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    raw = json.loads(next(line for line in output.splitlines() if line.startswith("WRK ")).removeprefix("WRK "))
    socket_errors = sum(raw[k] for k in ("connect", "read", "write", "timeout"))
    errors = socket_errors + raw["status"]
    duration = raw["duration_us"] / 1e6
    return {
        "duration_s": round(duration, 2),
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / duration, 1),
        **{f"{name}_ms": round(raw[f"{name}_us"] / 1000, 2) for name in ("p50", "p90", "p95", "p99", "max")},
        "errors": errors,
        "error_rate": round(errors / max(1, raw["requests"]), 4),
        "non_2xx": raw["status"],
        "socket_errors": socket_errors,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def emit(benchmark: str, **figures) -> None:
    """One benchmark's figures as a JSON line (`tests/benchmarks/run_all.py` collects them)."""
    print(json.dumps({"benchmark": benchmark, **figures}), flush=True)
