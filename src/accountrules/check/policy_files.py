"""Where a policy's YAML comes from: the disk, or the recorded texts of an earlier read.

Reading a policy from disk records every file read (its resolved path, the name its
locations show and its bytes). Those :class:`SourceFile` records are enough to read the
same policy again where the files are not on disk, e.g. after a :class:`~accountrules.Policy`
was pickled into another process: the texts are parsed, checked and compiled again, and
give the same spec, locations and content hash.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accountrules.errors import PolicySyntaxError, SourceLocation
from accountrules.parse.yaml_source import MAX_BYTES, YNode, load_yaml_text

__all__ = ["PolicyFiles", "SourceFile"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file a policy was read from."""

    path: str
    """resolved absolute path, as in ``PolicySpec.sources``"""
    display: str
    """the file name its locations show (relative to the directory above the policy)"""
    data: bytes


class PolicyFiles:
    """The files one policy read sees. ``PolicyFiles()`` reads the disk and records what it
    read (:attr:`files`); ``PolicyFiles(recorded)`` sees only ``recorded`` and never the disk.

    One instance serves one read of one policy (not shared between threads).
    """

    def __init__(self, recorded: Iterable[SourceFile] | None = None) -> None:
        self._memory = recorded is not None
        self._files: dict[str, SourceFile] = {f.path: f for f in recorded or ()}

    @property
    def files(self) -> tuple[SourceFile, ...]:
        """Every file read (or given), in the order first read."""
        return tuple(self._files.values())

    def resolve(self, path: Path) -> Path:
        # recorded paths are already resolved; resolving them again against another
        # machine's file system could follow its symlinks, so only normalise them
        return Path(os.path.normpath(path)) if self._memory else path.resolve()

    def is_file(self, path: Path) -> bool:
        return str(self.resolve(path)) in self._files if self._memory else path.is_file()

    def is_dir(self, path: Path) -> bool:
        return self.is_file(path / "policy.yaml") if self._memory else path.is_dir()

    def exists(self, path: Path) -> bool:
        return self.is_file(path) or self.is_dir(path) if self._memory else path.exists()

    def display(self, path: Path, display_root: Path) -> str:
        """The name ``path``'s locations show: as recorded, or relative to ``display_root``."""
        known = self._files.get(str(self.resolve(path)))
        if known is not None:
            return known.display
        try:
            return str(path.resolve().relative_to(display_root.resolve()))
        except ValueError:
            return str(path)

    def load(self, path: Path, display: str) -> YNode:
        """Parse the YAML of ``path`` (recording its bytes when read from disk)."""
        return load_yaml_text(self.data(path, display), file=display)

    def data(self, path: Path, display: str | None = None) -> bytes:
        """The bytes of ``path``: as recorded, or read from disk (once) and recorded."""
        key = str(self.resolve(path))
        known = self._files.get(key)
        if known is not None:
            return known.data
        name = display if display is not None else str(path)
        if self._memory:
            raise PolicySyntaxError("the file is not among the policy's recorded sources",
                                    SourceLocation(name, 1, 1))
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except OSError as e:
            raise PolicySyntaxError(
                f"the file could not be read: {e.strerror or e}",
                SourceLocation(name, 1, 1),
                hint="check that the path is right and names a readable file",
            ) from None
        self._files[key] = SourceFile(key, name, data)
        return data
