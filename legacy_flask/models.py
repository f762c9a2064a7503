"""The tables both apps share: plain SQLAlchemy 2.0, no framework in sight."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time in UTC without tzinfo, the way the tables store it."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


#: the largest id the id column holds (64 bits: SQLite's INTEGER, PostgreSQL's BIGINT); a
#: larger one names no user (never a 500)
MAX_ID = 2**63 - 1

#: 64-bit ids: BIGINT, except on SQLite, where only INTEGER PRIMARY KEY autoincrements
#: (and is 64 bits already)
Id = BigInteger().with_variant(Integer, "sqlite")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="user")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "age": self.age,
            "role": self.role,
            "created_at": self.created_at,
        }

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r})"


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    command: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "command": self.command,
            "priority": self.priority,
            "status": self.status,
            "created_at": self.created_at,
        }

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, status={self.status!r})"
