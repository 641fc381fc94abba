"""Probes: /healthz (the process answers) and /readyz (the database and Redis answer)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from core import db
from jobs import queue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))), "redis": _check(_ping_redis)}
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _ping_redis() -> None:
    queue.connection().ping()


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # a probe reports any failure rather than raising
        db.session.rollback()
        return f"error: {type(exc).__name__}: {exc}"[:300]
    return "ok"
