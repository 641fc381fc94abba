"""Job functions the worker tests enqueue; they go through the same `tracked` wrapper as real jobs."""

from __future__ import annotations

import os
import time

from jobs.tasks import tracked


def count_up(run_id: int, steps: int) -> dict:
    def work(progress) -> dict:
        for step in range(1, steps + 1):
            time.sleep(0.1)
            progress(int(step * 100 / steps), f"step {step} of {steps}")
        return {"steps": steps}

    return tracked(run_id, work)


def fail_with_reason(run_id: int) -> dict:
    def work(progress) -> dict:
        progress(30, "reading the file")
        raise ValueError("the file has no header row")

    return tracked(run_id, work)


def hang(run_id: int) -> dict:
    def work(progress) -> dict:
        progress(10, f"pid {os.getpid()}")
        time.sleep(120)
        return {}

    return tracked(run_id, work)


def run_queued_jobs() -> None:
    """Work every queued job in this process and return when the queues are empty (RQ's SimpleWorker, burst)."""
    from rq import SimpleWorker

    from jobs import queue

    SimpleWorker(list(queue.QUEUES), connection=queue.connection()).work(burst=True)
