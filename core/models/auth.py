"""Users, roles, API tokens and the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from functools import lru_cache

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import Base, session, utcnow

ROLES = ("admin", "faculty", "facilities", "ministry")


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    # Part of every session's identity (see `get_id`): rotating it ends all of this user's sessions.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # flask-login's user protocol, kept here so the web layer needs no wrapper class.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session identity: id and the current session token, so a rotated token voids old cookies."""
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Sign this user out everywhere: every session cookie issued before now stops working."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        if len(password) < 10:
            raise ValueError("a password needs at least 10 characters")
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @validates("active")
    def _end_sessions_when_disabled(self, _key: str, active: bool) -> bool:
        if not active:
            self.end_sessions()
        return active

    def may(self, role: str) -> bool:
        """Admin sees everything; everyone else sees their own audience."""
        return self.role == "admin" or self.role == role

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return session.scalar(select(cls).where(cls.email == normalise_email(email)))

    @classmethod
    def authenticate(cls, email: str, password: str) -> User | None:
        """The active user with this email and password, or None.

        Takes as long for an unknown email as for a wrong password (a scrypt check either way), so the time
        of a refusal does not tell whether an account exists.
        """
        user = cls.by_email(email)
        if user is None:
            check_password_hash(_dummy_password_hash(), password)
            return None
        return user if user.check_password(password) and user.active else None

    @classmethod
    def by_session_id(cls, session_id: str) -> User | None:
        """The active user a `get_id()` value names, or None when it is malformed, stale or disabled."""
        user_id, _, token = session_id.partition(":")
        user = session.get(cls, int(user_id)) if user_id.isdigit() and token else None
        if user is None or not user.active or not hmac.compare_digest(user.session_token.encode(), token.encode()):
            return None
        return user

    @classmethod
    def create(cls, email: str, role: str, password: str, name: str = "") -> User:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        email = normalise_email(email)
        if "@" not in email:
            raise ValueError(f"{email!r} is not an email address")
        if cls.by_email(email) is not None:
            raise ValueError(f"a user with email {email} already exists")
        user = cls(email=email, role=role, name=name or email.split("@")[0], active=True)
        user.set_password(password)
        session.add(user)
        return user


def normalise_email(email: str) -> str:
    return email.strip().lower()


@lru_cache(maxsize=1)
def _dummy_password_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[ApiToken, str]:
        """Create a token; the plain value is returned once and never stored."""
        plain = "aula_" + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, token_hash=_digest(plain))
        session.add(token)
        return token, plain

    @classmethod
    def find_active(cls, plain: str) -> ApiToken | None:
        # The token and its user in one round trip: every API request asks.
        token = session.scalar(select(cls).options(joinedload(cls.user)).where(cls.token_hash == _digest(plain)))
        if token is None or token.revoked_at is not None or not token.user.active:
            return None
        return token


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    @classmethod
    def record(cls, user_id: int | None, action: str, target: str = "", **detail) -> None:
        session.add(cls(user_id=user_id, action=action, target=target, detail=detail))
