"""Where a policy's YAML comes from: the disk, or the recorded texts of an earlier read.

Reading a policy from disk records every file read (its resolved path, the name its
locations show and its bytes). Those :class:`SourceFile` records are enough to read the
same policy again where the files are not on disk, e.g. after a :class:`~accountrules.Policy`
was pickled into another process: the texts are parsed, checked and compiled again, and
give the same spec, locations and content hash.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accountrules.errors import PolicyNotFoundError, PolicySyntaxError, SourceLocation
from accountrules.i18n import N_, Message
from accountrules.parse.yaml_source import MAX_BYTES, YNode, load_yaml_text

__all__ = ["PolicyFiles", "SourceFile", "clickable"]


def clickable(path: Path) -> str:
    """How a location names ``path``: relative to the working directory when it lies below it, else
    absolute, so ``file:line:col`` opens from a terminal or an editor started where the command ran.
    Symbolic links are kept as given: the name is the one the caller used."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file a policy was read from."""

    path: str
    """resolved absolute path, as in ``PolicySpec.sources``"""
    display: str
    """the file name its locations show (relative to the working directory of the read, or absolute)"""
    data: bytes


class PolicyFiles:
    """The files one policy read sees. ``PolicyFiles()`` reads the disk and records what it
    read (:attr:`files`); ``PolicyFiles(recorded)`` sees only ``recorded`` and never the disk.

    One instance serves one read of one policy (not shared between threads).
    """

    def __init__(self, recorded: Iterable[SourceFile] | None = None, *,
                 allow: Iterable[str | os.PathLike[str]] | str | os.PathLike[str] = ()) -> None:
        self._memory = recorded is not None
        self._files: dict[str, SourceFile] = {f.path: f for f in recorded or ()}
        # one folder given as text is one folder, not one per character
        self._allow = (Path(allow),) if isinstance(allow, str | os.PathLike) else tuple(Path(a) for a in allow)
        self._roots: tuple[Path, ...] = ()

    def confine(self, root: Path) -> None:
        """Let ``extends:`` reach only ``root`` (the folder that holds the policy) and the folders
        given as ``allow``; set once, by the read of the outermost policy."""
        if not self._roots:
            self._roots = tuple(self.resolve(p) for p in (root, *self._allow))

    @property
    def roots(self) -> tuple[Path, ...]:
        return self._roots

    def within_roots(self, path: Path) -> bool:
        target = self.resolve(path)
        return any(target == r or r in target.parents for r in self._roots)

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

    def display(self, path: Path) -> str:
        """The name ``path``'s locations show: as recorded, or :func:`clickable`."""
        known = self._files.get(str(self.resolve(path)))
        if known is not None:
            return known.display
        return clickable(path)

    def load(self, path: Path, display: str) -> YNode:
        """Parse the YAML of ``path`` (recording its bytes when read from disk)."""
        return load_yaml_text(self.data(path, display), file=display)

    def data(self, path: Path, display: str | None = None) -> bytes:
        """The bytes of ``path``: as recorded, or read from disk (once) and recorded."""
        key = str(self.resolve(path))
        known = self._files.get(key)
        if known is not None:
            return known.data
        name = display if display is not None else clickable(path)
        if self._memory:
            raise PolicySyntaxError(Message(N_("the file is not among the policy's recorded sources")),
                                    SourceLocation(name, 1, 1))
        try:
            data = _read_regular_file(path)
        except FileNotFoundError:
            raise PolicyNotFoundError(Message(N_("no such file or directory: {name!r}"), name=name),
                                      hint=Message(N_("check the path; a policy directory holds policy.yaml"))
                                      ) from None
        except OSError as e:
            raise PolicySyntaxError(
                Message(N_("the file could not be read: {e}"), e=e.strerror or e),
                SourceLocation(name, 1, 1),
                hint=Message(N_("check that the path is right and names a readable file")),
            ) from None
        self._files[key] = SourceFile(key, name, data)
        return data


def _read_regular_file(path: Path) -> bytes:
    """At most MAX_BYTES + 1 bytes of a regular file. Opened without blocking, so a FIFO or a device
    is refused by its type instead of hanging the load, and checked on the open descriptor."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
