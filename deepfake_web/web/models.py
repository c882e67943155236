"""Database models: analyses and their persons, the lab's accounts and API tokens, the audit log."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from deepfake_web.detection.decision import Verdict
from deepfake_web.detection.result import person_colour_hex
from deepfake_web.detection.stages import Stage

from .extensions import db


class Status(StrEnum):
    """Where an analysis is: waiting, being worked on, or finished either way."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (Status.QUEUED, Status.RUNNING)
VERDICTS = tuple(Verdict)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A random, unguessable analysis id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class Analysis(db.Model):
    """An uploaded file and what the detector said about it."""

    __tablename__ = "analysis"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # The file: the original name is for display only; the stored name is server-generated.
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    media_kind: Mapped[str] = mapped_column(String(8))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(32))
    # What was asked and what decided.
    sequence_length: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16), default="standard")
    checkpoint_name: Mapped[str | None] = mapped_column(String(255), index=True)
    checkpoint_sha256: Mapped[str | None] = mapped_column(String(64))
    checkpoint_frames: Mapped[int | None] = mapped_column(Integer)
    checkpoint_note: Mapped[str | None] = mapped_column(Text)
    checkpoint_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    checkpoint_warning: Mapped[str | None] = mapped_column(Text)
    # Where the work is.
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED, index=True)
    stage: Mapped[str | None] = mapped_column(String(40))  # a Stage value
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))
    # Who asked (the client's address): each client's share of the queue is counted by it.
    client: Mapped[str | None] = mapped_column(String(64), index=True)
    # Whose it is (the first admin's for analyses made before accounts or in single-user
    # mode), whether the lab may see it, and when retention removed the uploaded file.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", name="fk_analysis_owner"), index=True
    )
    owner: Mapped[User | None] = relationship("User", lazy="select")
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    file_removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A reproduction: the id of the analysis it re-runs with the same checkpoint (by
    # SHA-256) and settings, in PyTorch fp32. No foreign key: it outlives the original.
    reproduces: Mapped[str | None] = mapped_column(String(32), index=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The answer.
    verdict: Mapped[str | None] = mapped_column(String(16), index=True)
    p_fake: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    frames_sampled: Mapped[int | None] = mapped_column(Integer)
    frames_used: Mapped[int | None] = mapped_column(Integer)
    frames_without_face: Mapped[int | None] = mapped_column(Integer)
    frame_scores: Mapped[list | None] = mapped_column(JSON)
    timings: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    preview_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Every person scored on their own (standard mode), in the order they appeared.
    persons: Mapped[list[Person]] = relationship(
        "Person",
        back_populates="analysis",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Person.number",
        lazy="select",
    )

    @property
    def active(self) -> bool:
        """True while queued or running."""
        return self.status in ACTIVE

    @property
    def stage_label(self) -> str:
        """The stage in words (the status when no stage is recorded)."""
        try:
            return Stage(self.stage).label
        except ValueError:  # no stage recorded
            return str(self.status)

    def summary(self) -> dict[str, Any]:
        """The fields shown in lists (JSON-serialisable)."""
        return {
            "id": self.id,
            "file_name": self.original_name,
            "status": self.status,
            "stage": self.stage_label if self.active else None,
            "stage_id": self.stage if self.active else None,
            "progress": round(self.progress or 0.0, 3),
            "verdict": self.verdict,
            "p_fake": self.p_fake,
            "confidence": self.confidence,
            "requested_frames": self.sequence_length,
            "mode": self.mode,
            "checkpoint": self.checkpoint_name,
            "demo": self.checkpoint_demo,
            "created_at": iso(self.created_at),
            "finished_at": iso(self.finished_at),
            "error": self.error,
            "owner": self.owner.name if self.owner else None,
            "shared": self.shared,
            "file_removed_at": iso(self.file_removed_at),
            "person_count": self.person_count,
            "reproduces": self.reproduces,
        }


class Person(db.Model):
    """One person followed through an analysed clip and scored on their own face crops.

    ``number`` is the engine's person id (1, 2 ... in order of first appearance); ``boxes``
    is ``[{index, box, p_fake}]``, where the face was in each sampled frame. The person's
    thumbnail, when there is one, is the preview ``preview_name("person", number)``.
    """

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("analysis_id", "number", name="uq_person_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[str] = mapped_column(
        ForeignKey("analysis.id", name="fk_person_analysis", ondelete="CASCADE"), index=True
    )
    analysis: Mapped[Analysis] = relationship("Analysis", back_populates="persons")
    number: Mapped[int] = mapped_column(Integer)
    frames_seen: Mapped[int] = mapped_column(Integer)
    p_fake: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    boxes: Mapped[list] = mapped_column(JSON, default=list)
    thumbnail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def colour(self) -> str:
        """This person's ``#rrggbb`` colour (their box in the previews, their chart line)."""
        return person_colour_hex(self.number)

    def to_dict(self, thumbnail_url: str | None = None) -> dict[str, Any]:
        """The JSON form (the engine's ``persons`` entry), with the thumbnail's URL."""
        return {
            "id": self.number,
            "frames_seen": self.frames_seen,
            "p_fake": self.p_fake,
            "verdict": self.verdict,
            "confidence": self.confidence,
            "colour": self.colour,
            "thumbnail": thumbnail_url,
            "boxes": self.boxes or [],
        }


Analysis.person_count = column_property(
    select(func.count(Person.id))
    .where(Person.analysis_id == Analysis.id)
    .correlate_except(Person)
    .scalar_subquery()
)
"""How many persons an analysis found (0 for reference mode, no face, or older analyses)."""


class Role(StrEnum):
    """What an account may do: an admin sees and deletes everything and manages accounts."""

    ADMIN = "admin"
    MEMBER = "member"


def new_nonce() -> str:
    """A random value that signed-in sessions carry; changing it signs every session out."""
    return secrets.token_hex(8)


class User(UserMixin, db.Model):
    """A lab account (``DEEPFAKE_AUTH=accounts``)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # None: no password yet (the first admin made by the migration): it cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_active(self) -> bool:
        """Disabled accounts cannot sign in, and their sessions and tokens stop working."""
        return bool(self.active)

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == Role.ADMIN

    def get_id(self) -> str:
        """What the session keeps: the id and the nonce (a new password signs sessions out)."""
        return f"{self.id}:{self.session_nonce}"


class ApiToken(db.Model):
    """A named API token of one account; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", name="fk_api_token_user"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(db.Model):
    """Who did what, when and from where. No foreign keys: it outlives what it names."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str | None] = mapped_column(String(64), index=True)  # account name
    client: Mapped[str | None] = mapped_column(String(64))  # address, or "command line"
    subject: Mapped[str | None] = mapped_column(String(128), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to naive datetimes read back from SQLite."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    v = as_utc(value)
    return v.isoformat(timespec="seconds") if v else None


class Worker(db.Model):
    """An analysis worker process on some machine, and its last sign of life.

    Each worker writes its row when it starts, its heartbeat every ``HEARTBEAT_INTERVAL_S``
    and ``stopped_at`` when it stops cleanly; one that missed ``HEARTBEAT_MISSED`` beats in
    a row is dead, wherever it ran (see :mod:`deepfake_web.jobs.workers`).
    """

    __tablename__ = "worker"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:token
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    threads: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
