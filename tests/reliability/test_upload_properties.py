"""Property-based checks (Hypothesis) of the upload name and type checks."""

from __future__ import annotations

import io
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage

from deepfake_web.detection.media import SUPPORTED_EXTENSIONS
from deepfake_web.web.errors import InvalidUploadError
from deepfake_web.web.upload.validation import (
    MAX_NAME_LENGTH,
    display_name,
    receive,
    upload_extension,
)
from tests.factories.web import make_app

pytestmark = pytest.mark.reliability

EXTENSIONS = sorted(SUPPORTED_EXTENSIONS)
any_case = st.sampled_from(EXTENSIONS).flatmap(
    lambda ext: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in ext)).map("".join)
)
stems = st.text(min_size=1, max_size=400).filter(
    lambda s: "/" not in s and "\\" not in s and "." not in s
    and any(c.isprintable() and not c.isspace() for c in s)
)  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    """One app for every example (its upload folder is all receive() touches)."""
    return make_app(tmp_path_factory.mktemp("props"))


@given(st.text(max_size=600))
def test_display_names_are_safe_to_show(name: str) -> None:
    shown = display_name(name)
    assert 0 < len(shown) <= MAX_NAME_LENGTH
    assert "/" not in shown and "\\" not in shown
    assert all(c.isprintable() for c in shown) and shown == shown.strip()


@given(stems, any_case)
def test_a_supported_extension_survives_any_name_length(stem: str, ext: str) -> None:
    shown = display_name(stem + ext)
    assert upload_extension(shown) == ext.lower()
    assert len(shown) <= MAX_NAME_LENGTH


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=6), stems)
def test_other_extensions_are_refused_before_anything_is_written(app, ext: str, stem: str) -> None:
    if f".{ext.lower()}" in SUPPORTED_EXTENSIONS:
        return
    with app.test_request_context(), pytest.raises(InvalidUploadError) as refused:
        receive(FileStorage(io.BytesIO(b"data"), filename=f"{stem}.{ext}"))
    assert refused.value.status == 415 and "not a supported file type" in refused.value.message
    assert not list((Path(app.config["UPLOAD_DIR"]) / "incoming").glob("*"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), any_case)
def test_any_content_under_a_supported_name_is_refused_with_a_reason_or_accepted(
    app, data: bytes, ext: str
) -> None:
    refusal: InvalidUploadError | None = None
    with app.test_request_context():
        try:
            received = receive(FileStorage(io.BytesIO(data), filename=f"clip{ext}"))
        except InvalidUploadError as exc:
            refusal = exc
        else:  # some bytes are a valid (tiny) image or video: fine, then it is checked media
            assert received.info.width > 0 and received.size == len(data)
            received.discard()
    if refusal is not None:
        assert refusal.status in (400, 413, 415, 422) and refusal.message
    assert not list((Path(app.config["UPLOAD_DIR"]) / "incoming").glob("*"))
