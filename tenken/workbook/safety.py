"""Checks on received bytes before any parser sees them: size, container type, zip bombs.

Each refusal carries the message the department gets (Japanese), saying what to do.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and .xlsx saved with a password


@dataclass(frozen=True)
class Limits:
    """A request workbook of 100 measures is about 30 KB and expands about 5 times; these leave room."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_zip_entries: int = 200
    max_uncompressed_bytes: int = 100 * 1024 * 1024
    max_compression_ratio: float = 100.0
    ratio_checked_above: int = 1024 * 1024  # small parts may compress well without being a bomb


DEFAULT_LIMITS = Limits()


class Refused(Exception):
    """The file cannot be read safely or at all; the message tells the department what to do."""

    def __init__(self, message: str, department: str | None = None):
        super().__init__(message)
        self.message = message
        self.department = department  # who the file says it is from, when that could be read


RESUBMIT = "お送りした依頼ファイル（.xlsx）に入力し、Excel ブック形式のまま提出してください。"


def check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise Refused(f"ファイルが空です（0バイト）。{RESUBMIT}")
    if size > limits.max_file_bytes:
        raise Refused(
            f"ファイルが大きすぎます（{size:,}バイト、上限 {limits.max_file_bytes:,}バイト）。"
            f"画像などを貼り付けていないか確認し、{RESUBMIT}")


def check_workbook_container(data: bytes, limits: Limits) -> None:
    """Refuse what is not a plain .xlsx zip, or would expand beyond the limits, before parsing."""
    check_size(len(data), limits)
    if data.startswith(OLE_MAGIC):
        raise Refused("古い形式（.xls）のブック、またはパスワード付きのブックは受け付けられません。"
                      f"パスワードを解除し、{RESUBMIT}")
    if not data.startswith(ZIP_MAGIC):
        raise Refused("このファイルは Excel ブック（.xlsx）ではありません（中身が Excel 形式ではありません）。"
                      f"{RESUBMIT}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused(f"Excel ブックが壊れているため読み込めません。{RESUBMIT}") from None
    if len(entries) > limits.max_zip_entries:
        raise Refused(f"ブックの構成要素が多すぎます（{len(entries)}個）。{RESUBMIT}")
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_uncompressed_bytes:
        raise Refused(f"ブックを展開すると大きすぎます（{declared:,}バイト）。{RESUBMIT}")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > limits.ratio_checked_above and ratio > limits.max_compression_ratio:
            raise Refused(f"ブックの圧縮率が異常です（{ratio:,.0f}倍）。安全のため受け付けられません。{RESUBMIT}")
    if any(e.filename.lower().endswith("vbaproject.bin") for e in entries):
        raise Refused(f"マクロを含むブックは受け付けられません。{RESUBMIT}")
    # Declared sizes can lie: inflate every part (zipfile stops at the declared size and checks the
    # CRC), so that no parser downstream meets more bytes than were checked above.
    try:
        broken = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
        broken = "?"
    if broken is not None:
        raise Refused(f"Excel ブックが壊れているため読み込めません。{RESUBMIT}")
