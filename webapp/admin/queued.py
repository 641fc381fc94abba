"""The answer to an admin's button that queues a job: queued, refused (one at a time), or unable to start."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core import db
from core.models import AuditLog, JobRun
from jobs import queue


def queued(
    enqueue: Callable[[], JobRun], action: str, target: str, back: str, *, where: str = "under Jobs"
) -> Response:
    """Queue a job (one per task at a time), audit the request, and say on the `back` page what happened;
    `where` tells where its progress and a failed run show."""
    try:
        run = enqueue()
    except queue.JobAlreadyRunningError as exc:
        flash(f"Not queued: {exc}. Wait for it to finish.", "warning")
        return redirect(url_for(back))
    except queue.QueueUnavailableError as exc:
        flash(f"It could not start: {exc}. The failed run is listed {where}.", "danger")
        return redirect(url_for(back))
    AuditLog.record(current_user.id, action, target, run_id=run.id)
    db.session.commit()
    flash(f"Queued {run.kind} (job {run.id}); follow it {where}.", "success")
    return redirect(url_for(back))
