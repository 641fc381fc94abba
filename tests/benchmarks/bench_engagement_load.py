"""Load test of `POST /api/v1/engagement/score` under gunicorn with the README's production settings, beside /healthz.

    python tests/benchmarks/bench_engagement_load.py [--seconds 20] [--connections 8]

Trains a small engagement model (two epochs: serving costs the same whatever the training; the network is the
default one), exports and promotes it in a temporary SQLite instance, starts gunicorn (2 workers x 4 threads, as
`make run`) on a free loopback port and loads it with wrk, bounded in time, in the same run: a 1280x720 JPEG
classroom with 10 faces, a 640x480 webcam frame with one face, and `GET /healthz` (the server's own ceiling).
Each request is the whole path: multipart upload, content checks and decoding, face detection, crops, ONNX
Runtime. Prints one JSON object per load (requests/s, p50/p95/p99 from wrk's full latency histogram, errors);
exits 1 if any request failed. Without wrk (`apt-get install wrk`) it prints why and measures nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORKERS, THREADS = 2, 4
BOUNDARY = "aula-bench-boundary"
# wrk's Lua hooks: a fixed request, and at the end the exact percentiles and error counts as one JSON line.
WRK_SCRIPT = """
wrk.method = %(method)s
%(setup)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="duration of each load")
    parser.add_argument("--connections", type=int, default=WORKERS * THREADS)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        emit("engagement_api_load", skipped="wrk is not installed (apt-get install wrk)")
        return 0
    data_dir = Path(tempfile.mkdtemp(prefix="aula-bench-", dir="/tmp"))
    env = {**os.environ, "AULA_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'aula.db'}"}
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    failed = False
    try:
        token, version = prepare()
        images = sample_images(data_dir)
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS), "--threads", str(THREADS), "--timeout", "120", "--no-control-socket"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url)
            auth = {"Authorization": f"Bearer {token}"}
            for name, (path, description, faces_drawn) in images.items():
                body = multipart(path)
                headers = auth | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
                found = warm(url + "/api/v1/engagement/score", body, headers)
                figures = run_wrk(url + "/api/v1/engagement/score", "POST", body, headers, args, data_dir)
                failed |= figures["errors"] > 0
                emit(name, image=description, faces_drawn=faces_drawn, faces_found=found, model_version=version,
                     **settings(args), **figures)  # fmt: skip
            figures = run_wrk(url + "/healthz", "GET", None, {}, args, data_dir)
            failed |= figures["errors"] > 0
            emit("engagement_api_load_healthz_baseline", **settings(args), **figures)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0


def prepare() -> tuple[str, int]:
    """Migrate, train and promote a small engagement model, create a faculty user's API token."""
    from tests.conftest import migrate

    migrate(os.environ["DATABASE_URL"])
    from core import db
    from core.models import ApiToken, User
    from ml import registry
    from ml.engagement.dataset import generated_face_set
    from ml.engagement.model import train
    from ml.engagement.task import TASK

    db.bind(os.environ["DATABASE_URL"])
    result = train(generated_face_set(12, sessions=1, frames_per_class=2, seed=3), epochs=2)
    version = registry.register(
        "engagement",
        result.model,
        artifact_format=TASK.artifact_format,
        metrics=result.metrics,
        params=result.params,
        data_summary=result.data_summary,
        created_by="bench",
    )
    registry.promote(version)
    user = User.create("bench@aula.example", "faculty", "bench-password-123")
    _, token = ApiToken.issue(user, "bench")
    db.session.commit()
    return token, version.version


def sample_images(folder: Path) -> dict[str, tuple[Path, str, int]]:
    """{benchmark name: (JPEG file, description, faces drawn)}."""
    from ml.data.faces import compose_classroom, encode

    classroom = compose_classroom(10, seed=0)
    webcam = compose_classroom(1, width=640, height=480, face_size=(150, 170), seed=1)
    samples = {
        "engagement_api_load_classroom": (classroom, "1280x720 JPEG classroom"),
        "engagement_api_load_webcam": (webcam, "640x480 JPEG webcam frame"),
    }
    out = {}
    for name, (scene, description) in samples.items():
        path = folder / f"{name}.jpg"
        path.write_bytes(encode(scene.image, "JPEG"))
        out[name] = (path, f"{description}, {path.stat().st_size // 1024} KB", len(scene.boxes))
    return out


def multipart(path: Path) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    return head.encode() + path.read_bytes() + f"\r\n--{BOUNDARY}--\r\n".encode()


def warm(url: str, body: bytes, headers: dict) -> int:
    """A few requests per worker thread before the clock starts (each worker loads the model once); the faces found."""
    found = 0
    for _ in range(2 * WORKERS * THREADS):
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60) as answer:
            found = len(json.loads(answer.read())["faces"])
    return found


def run_wrk(url: str, method: str, body: bytes | None, headers: dict, args, tmp: Path) -> dict:
    setup = [f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in headers.items()]
    if body is not None:
        (tmp / "body.bin").write_bytes(body)
        setup.append(f'local f = io.open("{tmp / "body.bin"}", "rb"); wrk.body = f:read("*all"); f:close()')
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT % {"method": json.dumps(method), "setup": "\n".join(setup)})
    threads = str(min(2, args.connections))
    command = ["wrk", "-t", threads, "-c", str(args.connections), "-d", f"{args.seconds}s", "--timeout", "10s"]
    load_before = os.getloadavg()[0]
    output = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    raw = json.loads(next(line for line in output.splitlines() if line.startswith("WRK ")).removeprefix("WRK "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    seconds = raw["duration_us"] / 1e6
    return {
        "duration_s": round(seconds, 2),
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "errors": errors,
        "error_rate": round(errors / max(1, raw["requests"]), 4),
        "non_2xx": raw["status"],
        # The 1-minute load average around the run: above the server's own share, other processes took CPU.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def settings(args) -> dict:
    return {"workers": WORKERS, "threads": THREADS, "connections": args.connections, "cpus": os.cpu_count()}


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit("gunicorn did not start")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emit(benchmark: str, **fields) -> None:
    print(json.dumps({"benchmark": benchmark, **fields}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
