"""One line per error, in the command line's language: what went wrong and how to fix it.

The library's exceptions carry what a line needs (the file, the column, the encoding it
looks like); this module words it for the command line, naming options (``--encoding``,
``--map``) that the library cannot know about. An error of a kind not listed here is
shown as the library words it, after a translated ``error:``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from accountrules.batch.columns import MAPPED_TO
from accountrules.batch.errors import BatchInputError, NotUtf8InputError, UnknownColumnError
from accountrules.errors import AccountRulesError, AccountValidationError, PolicyError, PolicyNotFoundError
from accountrules.i18n import Gettext, Message, translated
from accountrules.io.columns import ColumnMappingError
from accountrules.io.readers import NotUtf8Error, TableInputError

__all__ = ["CommandError", "check_input_file", "error_line", "os_error_line"]


class CommandError(Exception):
    """A command that cannot run, with its message already in the user's language (exit 2)."""


def error_line(e: BaseException, _: Gettext) -> str:
    """``error: ...``, one line (a multi-line library message keeps its first line and a count)."""
    return _("error: {message}").format(message=_message(e, _))


def _message(e: BaseException, _: Gettext) -> str:
    if isinstance(e, CommandError):
        return str(e)
    if isinstance(e, NotUtf8InputError | NotUtf8Error):
        if e.guess:
            return _("{file}: file is not UTF-8; it looks like {guess}: re-save it as UTF-8 or pass --encoding "
                     "{encoding}").format(file=e.source, guess=e.guess, encoding=e.guess.lower())
        return _("{file}: file is not UTF-8: re-save it as UTF-8 or pass its --encoding").format(file=e.source)
    if isinstance(e, UnknownColumnError):
        hint = _(" (did you mean {suggestion!r}?)").format(suggestion=e.suggestion) if e.suggestion else ""
        if isinstance(e.hint, Message) and e.hint.template == MAPPED_TO:  # --unknown-columns ignore cannot help
            return _("{file}: column {column!r} is mapped to {field!r}, which is no field of this policy{hint}: "
                     "correct the mapping (--map or --columns FILE)").format(
                file=e.source or "-", column=e.column, field=e.hint.params["field"], hint=hint)
        if isinstance(e.hint, Message):  # why this column is refused, beyond "no such field"
            hint += _(" ({hint})").format(hint=e.hint.translated(_))
        return _("{file}: unknown column {column!r}{hint}: map it with --map '{column}=FIELD' or --columns FILE, "
                 "or pass --unknown-columns ignore").format(file=e.source or "-", column=e.column, hint=hint)
    if isinstance(e, ColumnMappingError):
        return _("column mapping: {problem}").format(problem=_(e.template).format(**e.params))
    if isinstance(e, PolicyNotFoundError):
        where = e.message.partition(": ")[2] or str(e)
        return _("no such file or directory: {path} ({hint})").format(path=where, hint=translated(e.hint, _) or "")
    if isinstance(e, PolicyError):  # its message and hint are catalogue messages with their parameters
        return e.translated(_)
    if isinstance(e, AccountValidationError):  # a bad row of an order log, a bad account
        head = ", ".join([*([_("row {row}").format(row=e.row)] if e.row is not None else []),
                          *([_("account {id!r}").format(id=e.account_id)] if e.account_id is not None else [])])
        body = "; ".join(f"{translated(f, _)}: {translated(m, _)}" for f, m in e.problems)
        return f"{head}: {body}" if head else body
    if isinstance(e, BatchInputError | TableInputError):
        problem = translated(e.message, _)
        return _("{file}: {problem}").format(file=e.source, problem=problem) if e.source else str(problem)
    if isinstance(e, AccountRulesError) and e.args and isinstance(e.args[0], Message):
        return e.args[0].translated(_)  # an error whose one argument is a catalogue message (OutputPathError...)
    if isinstance(e, OSError):
        return os_error_line(e, _)
    return str(e)


def os_error_line(e: OSError, _: Gettext) -> str:
    """A file-system error as one line naming the file."""
    name = e.filename if e.filename is not None else ""
    if e.errno == errno.ENOENT:
        return _("{file}: no such file or directory").format(file=name)
    if e.errno == errno.EISDIR:
        return _("{file}: is a directory, not a file").format(file=name)
    if e.errno in (errno.EACCES, errno.EPERM):
        return _("{file}: permission denied").format(file=name)
    return f"{name}: {e.strerror or e}" if name else str(e.strerror or e)


def check_input_file(path: str | Path, _: Gettext) -> None:
    """Refuse a missing, directory or unreadable input with one translated line, before any work."""
    p = Path(path)
    if not p.exists():
        raise CommandError(_("{file}: no such file or directory").format(file=p))
    if p.is_dir():
        raise CommandError(_("{file}: is a directory, not a file").format(file=p))
    if not os.access(p, os.R_OK):
        raise CommandError(_("{file}: permission denied").format(file=p))
