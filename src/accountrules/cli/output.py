"""What the commands print: JSON reports on stdout, lines that -q or --format json leave out."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["is_quiet", "print_json", "silent"]


def is_quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def print_json(report: dict[str, Any]) -> None:
    """One JSON object on stdout (non-ASCII kept, dates as ISO text)."""
    print(json.dumps(report, ensure_ascii=False, indent=2, default=str))


def silent(*_: object) -> None:
    """Print nothing (a line that -q or --format json leaves out)."""
