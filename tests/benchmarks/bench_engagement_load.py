"""Load test of `POST /api/v1/engagement/score` under gunicorn with the README's production settings, beside /healthz.

    python tests/benchmarks/bench_engagement_load.py [--seconds 20] [--connections 16]

Trains a small engagement model (two epochs: serving costs the same whatever the training; the network is the
default one), exports and promotes it in a temporary SQLite instance, starts gunicorn (4 workers x 4 threads, README
"Production") on a free loopback port and loads it with wrk, bounded in time, in the same run: a 1280x720 JPEG
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
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.serving import emit, temporary_instance, wrk  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

WORKERS, THREADS = 4, 4  # README "Production"
BOUNDARY = "aula-bench-boundary"
FIGURES = (
    "duration_s",
    "requests",
    "requests_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "errors",
    "error_rate",
    "non_2xx",
    "load_average",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="duration of each load")
    parser.add_argument("--connections", type=int, default=WORKERS * THREADS)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        emit("engagement_api_load", skipped="wrk is not installed (apt-get install wrk)")
        return 0
    failed = False
    with temporary_instance() as data_dir:
        token, version = prepare()
        images = sample_images(data_dir)
        with gunicorn(workers=WORKERS, threads=THREADS, quiet=True) as url:
            auth = {"Authorization": f"Bearer {token}"}
            load = {"seconds": args.seconds, "connections": args.connections, "folder": data_dir}
            for name, (path, description, faces_drawn) in images.items():
                body = multipart(path)
                headers = auth | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
                found = warm(url + "/api/v1/engagement/score", body, headers)
                figures = wrk(url + "/api/v1/engagement/score", "POST", body, headers, **load)
                failed |= figures["errors"] > 0
                emit(name, image=description, faces_drawn=faces_drawn, faces_found=found, model_version=version,
                     **settings(args), **{key: figures[key] for key in FIGURES})  # fmt: skip
            figures = wrk(url + "/healthz", **load)
            failed |= figures["errors"] > 0
            emit("engagement_api_load_healthz_baseline", **settings(args), **{key: figures[key] for key in FIGURES})
    return 1 if failed else 0


def prepare() -> tuple[str, int]:
    """Migrate, train and promote a small engagement model, create a faculty user's API token."""
    from tests.conftest import migrate

    migrate(os.environ["DATABASE_URL"])
    from core import db
    from core.models import ApiToken, User
    from ml import lifecycle, registry
    from ml.engagement.dataset import generated_face_set
    from ml.engagement.model import train

    db.bind(os.environ["DATABASE_URL"])
    result = train(generated_face_set(12, sessions=1, frames_per_class=2, seed=3), epochs=2)
    version = registry.promote(lifecycle.register_candidate("engagement", result, created_by="bench"))
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


def settings(args) -> dict:
    return {"workers": WORKERS, "threads": THREADS, "connections": args.connections, "cpus": os.cpu_count()}


if __name__ == "__main__":
    sys.exit(main())
