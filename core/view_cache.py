"""`cached(key, compute)`: a figure computed once, kept in this process and in the `view_cache` table.

Keys must name everything the value depends on (a model's sha256, a data version), so entries never need
invalidating: a changed input is a new key. The table lets a worker compute figures at publish time that
every web process then reads in milliseconds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.db import session
from core.models import ViewCache

MAX_IN_MEMORY = 512
_memory: dict[str, Any] = {}


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """The value for `key`: from memory, else from the table, else computed and stored (JSON-ready values)."""
    if key not in _memory:
        row = session.get(ViewCache, key)
        _remember(key, row.value if row is not None else _compute_and_store(key, compute))
    return copy.deepcopy(_memory[key])


def _compute_and_store(key: str, compute: Callable[[], Any]) -> Any:
    value = compute()
    try:
        session.add(ViewCache(key=key, value=value))
        session.commit()
    except IntegrityError:  # another process stored the same key first: same inputs, same value
        session.rollback()
    return value


def _remember(key: str, value: Any) -> None:
    if len(_memory) >= MAX_IN_MEMORY:
        _memory.clear()
    _memory[key] = value
