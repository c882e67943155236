"""Refused requests, and the error pages (in the site's layout) or JSON errors they become.

Every refusal is a 4xx or a 503 with a reason a person can act on; a 503 (and a 429) also
says when to try again (``Retry-After``). Faults of the machine that a client cannot fix
(a full disk, a database busy beyond its timeout, a deleted database file) are 503s, never
500s; a 500 is left for bugs, and is logged with its traceback.
"""

from __future__ import annotations

import errno
import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class RequestRefusedError(Exception):
    """A request the app will not carry out: an HTTP status and a reason for the person."""

    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(
        self, message: str, status: int | None = None, retry_after: int | None = None
    ) -> None:
        """Keep the message (and a status or Retry-After other than the class's own)."""
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if retry_after is not None:
            self.retry_after = retry_after


class InvalidUploadError(RequestRefusedError):
    """The file or the form cannot be analysed (missing, wrong type, unreadable, too large)."""


class ModelUnavailableError(RequestRefusedError):
    """No installed checkpoint can serve the request."""

    status = 503


class ServerBusyError(RequestRefusedError):
    """Too many analyses are waiting or running (in all, or from this client); try later."""

    status = 503
    retry_after = 30


class StorageFullError(RequestRefusedError):
    """The server's disk (or the database) is full: nothing can be stored now."""

    status = 503
    retry_after = 300


class DatabaseBusyError(RequestRefusedError):
    """The database stayed locked longer than the busy timeout."""

    status = 503
    retry_after = 5


class DatabaseUnavailableError(RequestRefusedError):
    """The database file was deleted or replaced under the running app."""

    status = 503
    retry_after = 300


class StoredFileGoneError(RequestRefusedError):
    """The stored file of an analysis is no longer on disk."""

    status = 410


class CannotReproduceError(RequestRefusedError):
    """A reproduction cannot be made: the analysis has no score yet, or its checkpoint
    (by SHA-256) is no longer installed."""

    status = 409


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
"""PostgreSQL: serialization failure, deadlock detected, lock not available."""


def is_locked(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "busy" errors and PostgreSQL's lock
    conflicts (worth trying again)."""
    if not isinstance(exc, OperationalError):
        return False
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    text = str(orig).lower()
    return "locked" in text or "busy" in text


def is_disk_full(exc: BaseException) -> bool:
    """True for a full disk: ENOSPC / EDQUOT, or SQLite's "database or disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE
    return isinstance(exc, OperationalError) and "disk is full" in str(exc).lower()


DISK_FULL_MESSAGE = (
    "The server's disk is full, so the file cannot be stored now. Try again later; the "
    "administrator has been told in the server's log."
)

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    410: "Gone",
    413: "File too large",
    415: "Unsupported file type",
    422: "This file cannot be analysed",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


def wants_json() -> bool:
    """True for API calls (and clients that prefer JSON to HTML)."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, message: str, retry_after: int | None = None):
    """A JSON error for the API, or the error page for browsers (with Retry-After if given)."""
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status, headers
    title = TITLES.get(status, "Error")
    page = render_template("errors/error.html", status=status, title=title, message=message)
    return page, status, headers


def too_large_message(exc: HTTPException, max_bytes: int) -> str:
    """Why a request got 413: a body over the upload limit, or too many / too large fields.

    Werkzeug raises the same error for both; where it was raised tells them apart (the
    multipart parser counts parts and field sizes, the input stream counts bytes).
    """
    tb, where = exc.__traceback__, ""
    while tb is not None:
        where = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    content_length = request.content_length
    if where.endswith(("multipart.py", "formparser.py")) and not (
        content_length and content_length > max_bytes
    ):
        parts = request.max_form_parts
        memory_kb = (request.max_form_memory_size or 0) / 1024
        return (
            f"The form has too many parts (at most {parts}) or a field other than the file "
            f"is too large (at most {memory_kb:g} kB). Send one file and the form's fields."
        )
    return f"The file is larger than the upload limit of {max_bytes / (1024 * 1024):g} MB."


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(RequestRefusedError)
    def refused(exc: RequestRefusedError):
        if exc.status >= 500:
            db.session.rollback()
        return error_response(exc.status, exc.message, exc.retry_after)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(
            400,
            "The form expired or did not come from this site (CSRF check failed). "
            "Reload the page and try again.",
        )

    @app.errorhandler(413)
    def too_large(exc: HTTPException):
        return error_response(413, too_large_message(exc, int(app.config["MAX_CONTENT_LENGTH"])))

    @app.errorhandler(429)
    def too_many(exc: HTTPException):
        limit = getattr(exc, "limit", None)
        what = f" (at most {limit.limit})" if limit is not None else ""
        return error_response(
            429,
            f"Too many requests from your address{what}. Wait a moment and try again.",
        )

    @app.errorhandler(OSError)
    def os_error(exc: OSError):
        db.session.rollback()
        if is_disk_full(exc):
            log.error("disk full on %s: %s", request.path, exc)
            return error_response(503, DISK_FULL_MESSAGE, StorageFullError.retry_after)
        return internal(exc)

    @app.errorhandler(OperationalError)
    def database_error(exc: OperationalError):
        db.session.rollback()
        if is_disk_full(exc):
            log.error("database full on %s: %s", request.path, exc)
            return error_response(503, DISK_FULL_MESSAGE, StorageFullError.retry_after)
        if is_locked(exc):
            log.warning("database locked beyond the busy timeout on %s", request.path)
            return error_response(
                503, "The database is busy. Try again in a few seconds.",
                DatabaseBusyError.retry_after,
            )  # fmt: skip
        return internal(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code and exc.code >= 500:
            db.session.rollback()
        return error_response(exc.code or 500, exc.description or TITLES.get(exc.code, "Error"))

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError):
        original = getattr(exc, "original_exception", None)
        return internal(original)

    def internal(original: BaseException | None):
        db.session.rollback()
        if original is not None:
            log.error("unhandled error on %s", request.path, exc_info=original)
        return error_response(
            500, "Something went wrong on the server. The error was logged; please try again."
        )
