"""SQLAlchemy engine and session shared by the web app, the jobs and the ML loaders."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.sql import Select

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# One session per thread; the web app removes it at the end of each request, jobs at the end of each job.
session: scoped_session[Session] = scoped_session(sessionmaker(expire_on_commit=False))
_engine: Engine | None = None
_bound_url: str | None = None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def bind(url: str) -> Engine:
    """Point the shared session at `url` (idempotent for the same URL)."""
    global _engine, _bound_url
    if _engine is not None and url == _bound_url:
        return _engine
    session.remove()
    if _engine is not None:
        _engine.dispose()
    _engine, _bound_url = make_engine(url), url
    session.configure(bind=_engine)
    return _engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("the database is not configured: call core.db.bind(url) first")
    return _engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(eng, "connect", _sqlite_pragmas)
    else:
        eng = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    # A forked child (RQ work horse, gunicorn worker) must not reuse the parent's sockets.
    os.register_at_fork(after_in_child=lambda: eng.dispose(close=False))
    return eng


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit on success, roll back on any error: nothing half-written."""
    s = session()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise


def analyze(tables: Iterable[str]) -> None:
    """Refresh the planner's statistics of `tables` (after a bulk write), on SQLite and PostgreSQL alike.

    Without it SQLite keeps planning with the statistics of an empty table and walks a whole term instead of
    using the index. Only the tables written are analysed: a database-wide ANALYZE costs seconds at scale.
    """
    s = session()
    for table in tables:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
            raise ValueError(f"not a table name: {table!r}")
        s.execute(text(f"ANALYZE {table}"))
    s.commit()


def read_frame(query: Select) -> pd.DataFrame:
    """The query's rows as a frame, in the session's transaction, fetched through the driver's cursor.

    For large reads: SQLAlchemy's per-row result handling costs as much as the query itself. Values come as the
    driver gives them (SQLite: dates as ISO text, booleans as 0/1), so the caller converts the columns it types.
    """
    import pandas as pd

    cursor = session.connection().execute(query).cursor
    names = [column[0] for column in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=names, coerce_float=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
