"""Tell a table file's format from an explicit name or from its suffix.

One table of suffixes serves every reader and writer; each says which formats it
accepts (:class:`Formats`) and whether a compression suffix (``.gz``...) may follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SUFFIXES: Final[Mapping[str, str]] = {
    ".csv": "csv",
    ".txt": "whitespace",
    ".dat": "whitespace",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSIONS: Final[Mapping[str, str]] = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}


@dataclass(frozen=True, slots=True)
class Formats:
    """The formats one reader or writer accepts.

    ``names``: accepted format names, in the order messages list them. ``suffixes``:
    accepted suffixes (a subset of :data:`SUFFIXES`). ``compressions``: compression
    suffixes looked through; ``compressible``: the formats that may carry one.
    """

    names: tuple[str, ...]
    suffixes: tuple[str, ...]
    compressions: tuple[str, ...] = ()
    compressible: tuple[str, ...] = ()

    def check(self, name: str) -> str:
        """``name`` if it is one of :attr:`names`, else ``ValueError``."""
        if name not in self.names:
            raise ValueError(f"format must be one of {', '.join(self.names)}, not {name!r}")
        return name

    def split(self, path: str | Path) -> tuple[str, str | None, str | None]:
        """``(stem, format, compression suffix)`` of ``path``'s name; format ``None`` when not accepted."""
        name = Path(path).name
        lower = name.lower()
        packed = next((c for c in self.compressions if lower.endswith(c)), None)
        if packed is not None:
            lower = lower[: -len(packed)]
            name = name[: -len(packed)]
        suffix = next((s for s in self.suffixes if lower.endswith(s)), None)
        fmt = SUFFIXES[suffix] if suffix is not None else None
        if fmt is None or (packed is not None and fmt not in self.compressible):
            return Path(path).name, None, packed
        return name[: -len(suffix or "")], fmt, packed

    def of(self, path: str | Path, explicit: str | None = None) -> str | None:
        """``explicit`` (checked), else the format ``path``'s suffix names, else ``None``."""
        if explicit is not None:
            return self.check(explicit)
        return self.split(path)[1]

    def last_suffix(self, path: str | Path) -> str:
        """The suffix a message about an unrecognised name quotes (``.csv.gz`` counts as one)."""
        lower = Path(path).name.lower()
        for packed in ("", *self.compressions):
            for s in self.suffixes:
                if lower.endswith(s + packed) and (not packed or SUFFIXES[s] in self.compressible):
                    return s + packed
        return Path(path).suffix.lower()


BATCH_INPUT: Final = Formats(
    names=("csv", "jsonl", "parquet"),
    suffixes=(".csv", ".jsonl", ".ndjson", ".parquet", ".pq"),
    compressions=(".gz",),
    compressible=("csv", "jsonl"),
)
"""``decide_many`` / ``accountrules decide`` inputs: ``.csv``, ``.jsonl``/``.ndjson`` (also gzipped), Parquet."""

ORDER_LOG: Final = Formats(
    names=("csv", "whitespace", "parquet", "jsonl"),
    suffixes=tuple(SUFFIXES),
    compressions=tuple(COMPRESSIONS),
    compressible=("csv", "whitespace", "parquet", "jsonl"),
)
"""``accountrules features`` inputs: every suffix, any compression looked through."""

OUTPUT: Final = Formats(
    names=("csv", "jsonl", "parquet"),
    suffixes=(".csv", ".jsonl", ".ndjson", ".parquet", ".pq"),
)
"""What the writers write: decisions (``accountrules decide``) and derived features alike."""


__all__ = ["BATCH_INPUT", "COMPRESSIONS", "ORDER_LOG", "OUTPUT", "SUFFIXES", "Formats"]
