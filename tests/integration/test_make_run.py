"""`make run`'s supervisor on embedded defaults: first run seeds and serves, a second run reuses, Ctrl-C stops all."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from jobs import redis_server
from tests.servers import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class Supervisor:
    """scripts/run.py in its own process group, as a terminal runs it, with its output collected."""

    def __init__(self, data_dir: Path, port: int):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
        env.update(AULA_DATA_DIR=str(data_dir), AULA_PORT=str(port), PYTHONUNBUFFERED="1")
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "scripts/run.py"], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while "Aula is running at" not in self.output or not self._ready():
            assert self.process.poll() is None, f"make run exited:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"make run did not start:\n{self.output[-3000:]}"
            time.sleep(0.5)

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def ctrl_c(self) -> int:
        """SIGINT to the whole group, as the terminal's Ctrl-C sends it."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)


def sign_in(url: str, email: str, password: str) -> requests.Response:
    browser = requests.Session()
    form = browser.get(f"{url}/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = {"email": email, "password": password, "csrf_token": token}
    return browser.post(f"{url}/login", data=data, allow_redirects=False, timeout=10)


def leftovers(data_dir: Path) -> list[str]:
    """Processes still running with this data directory in their environment, whatever their group."""
    marker = f"AULA_DATA_DIR={data_dir}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


def test_make_run_serves_the_demo_then_stops_cleanly_and_restarts_quickly():
    with tempfile.TemporaryDirectory(prefix="aula-run-", dir="/tmp") as tmp:
        data_dir = Path(tmp)
        first = Supervisor(data_dir, free_port())
        first.wait_ready()
        assert len(leftovers(data_dir)) >= 4  # supervisor, gunicorn master and workers, RQ worker
        passwords = dict(re.findall(r"^\s+faculty\s+(\S+@\S+)\s+(\S+)$", first.output, re.MULTILINE))
        assert passwords, first.output
        email, password = next(iter(passwords.items()))
        answer = sign_in(first.url, email, password)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/faculty/")
        assert "promoted" in first.output  # a first production model was trained

        assert first.ctrl_c() == 0, first.output[-3000:]
        assert "stopped unexpectedly" not in first.output
        assert not leftovers(data_dir), "a process outlived Ctrl-C"
        assert not redis_server._answers(redis_server.url_for(data_dir)), "the embedded Redis is still running"

        started = time.monotonic()
        second = Supervisor(data_dir, free_port())
        second.wait_ready()
        assert "passwords unchanged" in second.output and "production model present" in second.output
        assert sign_in(second.url, email, password).status_code == 302
        assert second.ctrl_c() == 0, second.output[-3000:]
        assert not leftovers(data_dir), "a process outlived Ctrl-C"
        assert time.monotonic() - started < 60, "a second make run should reuse what exists"
