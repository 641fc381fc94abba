"""Failed sign-ins counted in Redis per account and address, with exponential back-off.

Three scopes, each with its own free count (`LOGIN_FREE_FAILURES_PER_*` in webapp.config): one account from
one address (a guesser, or a person who forgot), one account from anywhere (a guesser spread over many
addresses), one address for every account (a NAT'd school network, so its threshold is much higher). Within a
window of `LOGIN_FAILURE_WINDOW_S` from a scope's first failure, every failure past the free count locks that
scope for `LOGIN_BACKOFF_BASE_S * 2**n` seconds (n = 0, 1, ...), at most `LOGIN_BACKOFF_MAX_S`. A success clears
its account's scopes but not its address's, or one known password would reset the count for a whole network.

Counts live in Redis so every gunicorn worker sees the same ones. When Redis cannot be reached, sign-in is not
throttled (logged), rather than nobody being able to sign in; the process then leaves Redis alone for
`REDIS_RECHECK_S`, so sign-ins do not each wait for its connection timeout.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import redis
from flask import current_app

from core.models.auth import normalise_email
from jobs import queue, redis_server

KEY_PREFIX = "aula:login:"
REDIS_ERRORS = (redis.RedisError, OSError, redis_server.EmbeddedRedisError)
REDIS_RECHECK_S = 30
log = logging.getLogger(__name__)
_redis_down_until = 0.0  # time.monotonic() before which this process does not try Redis


def seconds_locked(email: str, address: str) -> int:
    """How long sign-in for `email` from `address` is refused (whole seconds, rounded up); 0 when allowed."""
    connection = _redis()
    if connection is None:
        return 0
    try:
        with connection.pipeline(transaction=False) as pipe:
            for scope in _scopes(email, address):
                pipe.pttl(_lock_key(scope))
            remaining_ms = max(pipe.execute())
    except REDIS_ERRORS as exc:
        _redis_is_down(exc)
        return 0
    return math.ceil(remaining_ms / 1000) if remaining_ms > 0 else 0


def record_failure(email: str, address: str) -> None:
    """Count one failed sign-in in each scope and lock the scopes that are past their free count."""
    config = current_app.config
    window = int(config["LOGIN_FAILURE_WINDOW_S"])
    scopes = _scopes(email, address)
    connection = _redis()
    if connection is None:
        return
    try:
        with connection.pipeline() as pipe:
            for scope in scopes:
                pipe.set(_count_key(scope), 0, ex=window, nx=True)  # the window starts at the first failure
                pipe.incr(_count_key(scope))
            failures = pipe.execute()[1::2]
        with connection.pipeline() as pipe:
            for scope, count in zip(scopes, failures, strict=True):
                over = count - int(config[scope.free_setting])
                if over > 0:
                    lock_s = min(config["LOGIN_BACKOFF_BASE_S"] * 2 ** (over - 1), config["LOGIN_BACKOFF_MAX_S"])
                    pipe.set(_lock_key(scope), count, px=max(1, int(lock_s * 1000)))
            pipe.execute()
    except REDIS_ERRORS as exc:
        _redis_is_down(exc)


def record_success(email: str, address: str) -> None:
    """Forget the account's failures (from this address and from anywhere); the address's count stays."""
    account_scopes = [scope for scope in _scopes(email, address) if scope.name != "address"]
    connection = _redis()
    if connection is None:
        return
    try:
        connection.delete(*(key for scope in account_scopes for key in (_count_key(scope), _lock_key(scope))))
    except REDIS_ERRORS as exc:
        _redis_is_down(exc)


@dataclass(frozen=True)
class _Scope:
    name: str
    free_setting: str  # the config key of its free count
    key: str


def _scopes(email: str, address: str) -> list[_Scope]:
    # Emails are hashed: Redis keys need not say who tried to sign in.
    account = hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]
    return [
        _Scope("account_address", "LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS", f"{account}@{address}"),
        _Scope("account", "LOGIN_FREE_FAILURES_PER_ACCOUNT", account),
        _Scope("address", "LOGIN_FREE_FAILURES_PER_ADDRESS", address),
    ]


def _count_key(scope: _Scope) -> str:
    return f"{KEY_PREFIX}failures:{scope.name}:{scope.key}"


def _lock_key(scope: _Scope) -> str:
    return f"{KEY_PREFIX}locked:{scope.name}:{scope.key}"


def _redis() -> redis.Redis | None:
    """The Redis the job queue uses, or None while this process knows it to be down."""
    if time.monotonic() < _redis_down_until:
        return None
    try:
        return _connect()
    except REDIS_ERRORS as exc:  # the embedded server may fail to start
        _redis_is_down(exc)
        return None


def _connect() -> redis.Redis:
    return queue.connection(queue.redis_url(current_app.config["SETTINGS"]))


def _redis_is_down(exc: BaseException) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RECHECK_S
    log.warning(
        "sign-in is NOT throttled for the next %d s: Redis is unavailable (%s: %s)",
        REDIS_RECHECK_S,
        type(exc).__name__,
        exc,
    )
