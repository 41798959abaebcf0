"""Open a table file as text, and say what is wrong with its bytes as a whole.

A compression suffix is read through its codec; a file that is not in the encoding it is read
with, or that stops making sense part-way (a cut-off download, a bad ``.gz``), is a
:class:`TableInputError` naming the file. The readers of :mod:`accountrules.io.readers` and the
report's reader share these, so a file is refused in the same words whichever reads it.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import zlib
from pathlib import Path
from typing import IO, Any, Final

from accountrules.errors import AccountRulesError
from accountrules.i18n import N_, Message
from accountrules.io.formats import COMPRESSIONS
from accountrules.io.optional import pyarrow


class TableInputError(AccountRulesError):
    """A file that cannot be read as a whole (not UTF-8, not Parquet, no header...)."""

    def __init__(self, message: str, *, source: str | None = None):
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


DAMAGED: Final = (OSError, EOFError, zlib.error)
"""What reading a cut-off or damaged file raises part-way: gzip's "not a gzipped file" is an OSError, a
gzip or bz2 stream cut off raises EOFError and a damaged gzip zlib.error; pyarrow's decompressors and a
failing disk raise OSError."""


def damaged(path: Path, error: BaseException) -> TableInputError:
    """The error for a file whose bytes stop making sense part-way (a truncated download, a bad .gz)."""
    return TableInputError(Message(N_("cannot read the file, it may be cut off or damaged ({reason})"),
                                   reason=str(error) or type(error).__name__), source=str(path))


def compression_of(path: Path) -> str | None:
    """The codec a compression suffix names (``.gz`` -> ``gzip``...), ``None`` for a plain file."""
    return COMPRESSIONS.get(path.suffix.lower())


def open_text(path: Path, *, newline: str | None = None, encoding: str = "utf-8-sig") -> IO[str]:
    """``path`` as text (default UTF-8, a byte-order mark skipped), decompressed by its suffix.

    gzip and bz2 need nothing but the standard library; zstd and lz4 are read through pyarrow.
    """
    codec = compression_of(path)
    if codec is None:
        return path.open(encoding=encoding, newline=newline)
    raw: Any
    if codec == "gzip":
        raw = gzip.open(path, "rb")
    elif codec == "bz2":
        raw = bz2.open(path, "rb")
    else:
        raw = pyarrow(f"reading {codec} files").input_stream(str(path), compression=codec)
    return io.TextIOWrapper(raw, encoding=encoding, newline=newline)


def is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names UTF-8, with or without its byte-order mark (``utf8``, ``UTF-8-SIG``...)."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def check_not_utf8_bom(path: Path, encoding: str) -> None:
    """Refuse a file that starts with a UTF-8 byte-order mark when ``encoding`` is another codec.

    The mark is proof of UTF-8 (Excel's "CSV UTF-8" writes it): read as GBK it would become a garbled
    first column name (``锘縤d``) or a first line that is no JSON, far from the cause. Refused rather
    than read as UTF-8 against the encoding asked for; a UTF-8 encoding reads it, the mark skipped.
    """
    if is_utf8(encoding):
        return
    try:
        with open_text(path, encoding="latin-1") as f:  # decompressed bytes, one char a byte
            head = f.read(len(codecs.BOM_UTF8)).encode("latin-1")
    except DAMAGED:
        return  # a missing or damaged file: the read that follows says so, as it does without this check
    if head == codecs.BOM_UTF8:
        raise TableInputError(Message(N_("the file starts with a UTF-8 byte-order mark, so it is UTF-8, not "
                                         "{encoding}: read it as UTF-8 (leave the encoding out)"),
                                      encoding=encoding), source=str(path))


class NotUtf8Error(TableInputError):
    """A text file that is not UTF-8; ``guess`` names the encoding it looks like (``"GBK"``) or is None."""

    def __init__(self, source: str, guess: str | None):
        self.guess = guess
        how = f"it looks like {guess}: re-save it as UTF-8 or read it with encoding={guess.lower()!r}" if guess \
            else "re-save it as UTF-8 or give its encoding"
        super().__init__(f"file is not UTF-8; {how}", source=source)


_PROBE_BYTES: Final = 1 << 16


def not_utf8(path: Path, encoding: str, error: UnicodeDecodeError) -> TableInputError:
    """The error for a file that ``encoding`` cannot decode: for UTF-8 with a guess at GBK, the
    encoding of Chinese Windows exports, when its first bytes decode as GBK, or at GB18030 (GBK's
    superset) when they decode only as that."""
    if not is_utf8(encoding):
        return TableInputError(Message(N_("cannot decode the file as {encoding} ({reason} at byte {byte})"),
                                       encoding=encoding, reason=error.reason, byte=error.start),
                               source=str(path))
    try:
        with open_text(path, encoding="latin-1") as f:  # decompressed bytes, one char a byte
            head = f.read(_PROBE_BYTES).encode("latin-1")
    except DAMAGED:
        head = b""
    guess: str | None = None
    for name in ("GBK", "GB18030"):  # GBK, or its superset when a character GBK lacks is there
        try:
            # a multi-byte character cut at the end of the probe is not evidence against it
            codecs.getincrementaldecoder(name)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        guess = name
        break
    return NotUtf8Error(str(path), guess)


__all__ = ["DAMAGED", "NotUtf8Error", "TableInputError", "check_not_utf8_bom", "compression_of", "damaged",
           "is_utf8", "not_utf8", "open_text"]
