"""Small file helpers shared by intake and publication, and how a received file's name is shown and stored."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

SHOWN_NAME_LENGTH = 80
STORED_STEM_LENGTH = 40
_UNSAFE_IN_NAMES = re.compile(r"[^\w.-]+")
_SAFE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (submissions may be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def printable(text: str) -> str:
    """Text without control or format characters (newlines, ESC, bidi overrides …), spaces collapsed:
    what a sender wrote can never forge a line or reorder what a person reads."""
    def keep(c: str) -> str:
        category = unicodedata.category(c)
        if category == "Cs":  # a byte of a name that was not UTF-8 (surrogate escape): cannot be printed
            return "\ufffd"
        return " " if category in ("Cc", "Cf", "Zl", "Zp") else c

    kept = "".join(map(keep, text))
    return re.sub(r"\s+", " ", kept).strip()


def shown_name(name: str, limit: int = SHOWN_NAME_LENGTH) -> str:
    """A received file's name as people see it: printable, and shortened in the middle when long."""
    clean = printable(name) or "（名前なし）"
    if len(clean) <= limit:
        return clean
    keep = (limit - 1) // 2
    return f"{clean[:keep]}…{clean[-keep:]}"


def stored_name(name: str) -> str:
    """A name safe on any file system for a file kept by tenken (received/, answers/): short, no
    separators or control characters, a known suffix; the original name stays in the ledger."""
    path = Path(printable(name).replace("/", "_"))
    suffix = path.suffix.lower() if path.suffix.lower() in _SAFE_SUFFIXES else ""
    stem = _UNSAFE_IN_NAMES.sub("_", path.name[: len(path.name) - len(path.suffix)] if suffix else path.name)
    return (stem.strip("._")[:STORED_STEM_LENGTH] or "file") + suffix
