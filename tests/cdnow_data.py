"""Where the real CDNOW files are: the copy vendored in ``tests/data/cdnow/`` (source, licence and
digests in its README.md). The tests import this module; ``benchmarks/backtest_*.py`` and
``examples/cdnow/f_scores.py`` import it too, with ``tests/`` put on ``sys.path`` first.

Always the vendored copy, never ``../shared/data/cdnow/`` beside the repository (the project's
reference material, which a fresh clone may lack): every checkout reads the same bytes, so a test
of the real data runs everywhere instead of skipping. ``tests/test_cdnow_data.py`` pins the
copy's digests and compares it with ``../shared`` where that exists.
"""

from __future__ import annotations

from pathlib import Path

CDNOW_DIR = Path(__file__).resolve().parent / "data" / "cdnow"
FILES = ("CDNOW_master.txt", "CDNOW_sample.txt", "cdnow_customers_summary.csv")


def cdnow_file(name: str) -> Path:
    """The vendored file ``name`` (one of :data:`FILES`). A checkout without it is broken, not a
    reason to skip: FileNotFoundError, naming the path."""
    if name not in FILES:
        raise ValueError(f"not a vendored CDNOW file: {name!r} (one of {', '.join(FILES)})")
    path = CDNOW_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the vendored CDNOW data is missing from this checkout "
                                "(git checkout -- tests/data/cdnow)")
    return path
