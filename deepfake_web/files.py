"""Writing files so that readers never see half of one: a temporary name, then a rename.

A leaf module (it imports nothing of the project), shared by every room.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this process (``.name.<pid>.tmp``)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def replacing(
    path: str | os.PathLike, mode: int | None = None, keep_suffix: bool = False
) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    The parent folder is created. On an error the temporary file is removed and ``path`` is
    left as it was. ``mode`` sets the permissions of the new file (e.g. ``0o600``);
    ``keep_suffix`` ends the temporary name with ``path``'s suffix too, for writers that
    choose the format by extension (OpenCV's VideoWriter).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(out)
    if keep_suffix:
        tmp = tmp.with_name(tmp.name + out.suffix)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def temporary_owner(path: Path) -> int | None:
    """The pid in a temporary name (``.name.<pid>.tmp``, or ``.name.<pid>.tmp.<ext>`` when
    the suffix was kept); None for other names."""
    parts = path.name.split(".")
    if not path.name.startswith(".") or len(parts) < 4:
        return None
    if parts[-1] == "tmp":
        pid = parts[-2]
    elif parts[-2] == "tmp" and len(parts) >= 5:
        pid = parts[-3]
    else:
        return None
    return int(pid) if pid.isdigit() else None
