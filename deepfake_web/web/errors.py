"""Refused requests, and the error pages (in the site's layout) or JSON errors they become."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)


class RequestRefusedError(Exception):
    """A request the app will not carry out: an HTTP status and a reason for the person."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the message (and a status other than the class's own, if given)."""
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidUploadError(RequestRefusedError):
    """The file or the form cannot be analysed (missing, wrong type, unreadable, too large)."""


class ModelUnavailableError(RequestRefusedError):
    """No installed checkpoint can serve the request."""

    status = 503


class ServerBusyError(RequestRefusedError):
    """Too many analyses are waiting or running; try again later."""

    status = 503


class StoredFileGoneError(RequestRefusedError):
    """The stored file of an analysis is no longer on disk."""

    status = 410


TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    410: "Gone",
    413: "File too large",
    415: "Unsupported file type",
    422: "This file cannot be analysed",
    500: "Internal error",
    503: "Unavailable",
}


def wants_json() -> bool:
    """True for API calls (and clients that prefer JSON to HTML)."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, message: str):
    """A JSON error for the API, or the error page for browsers."""
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status
    title = TITLES.get(status, "Error")
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(RequestRefusedError)
    def refused(exc: RequestRefusedError):
        return error_response(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(
            400,
            "The form expired or did not come from this site (CSRF check failed). "
            "Reload the page and try again.",
        )

    @app.errorhandler(413)
    def too_large(exc: HTTPException):
        limit = app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
        return error_response(413, f"The file is larger than the upload limit of {limit:g} MB.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code and exc.code >= 500:
            db.session.rollback()
        return error_response(exc.code or 500, exc.description or TITLES.get(exc.code, "Error"))

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError):
        db.session.rollback()
        original = getattr(exc, "original_exception", None)
        if original is not None:
            log.error("unhandled error on %s", request.path, exc_info=original)
        return error_response(
            500, "Something went wrong on the server. The error was logged; please try again."
        )
