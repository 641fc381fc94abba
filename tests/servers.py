"""Real servers for the tests and benchmarks that need one: gunicorn on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    app: str = "wsgi:app", *, workers: int, threads: int | None = None, options: Sequence[str] = (), quiet: bool = False
) -> Iterator[str]:
    """gunicorn serving `app` on a free loopback port with this process's environment (threaded workers when
    `threads` is given; `options` are more of its flags); yields its URL once /healthz answers, stops it after.
    `quiet` discards its log (a benchmark's output is its figures)."""
    port = free_port()
    command = [str(GUNICORN), app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "120",
               "--no-control-socket", *(["--threads", str(threads)] if threads else []), *options]  # fmt: skip
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_healthy(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass  # still booting
        assert process.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.3)
