"""How the columns of an export are read: renamed to field paths, unknown ones refused or ignored.

A CRM export names its columns as the CRM does (``客户编号``, ``年销售额``), not by our field
paths (``id``, ``transactions.annual_revenue``). A :class:`ColumnMapping` renames them,
says what to do with a column that is still no field after renaming (``refuse``, the
default, or ``ignore``) and which text encoding a CSV or JSONL file is in. The same
mapping is read from a YAML file (``{export column: field path}``) or from ``COL=field.path``
options, and taken by ``decide_many(..., columns=...)`` and the ``decide``, ``report`` and
``diff`` commands.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from accountrules.errors import AccountRulesError
from accountrules.i18n import N_

UnknownColumns = Literal["refuse", "ignore"]
UNKNOWN_COLUMNS: Final[tuple[UnknownColumns, ...]] = ("refuse", "ignore")
IGNORED: Final = "\x00ignored:"
"""Prefix of the name an ignored column is read under (no field path can start with it)."""


class ColumnMappingError(AccountRulesError):
    """A mapping that cannot be used: unreadable file, not ``{column: field}``, a bad ``COL=field``.

    ``template`` (a catalogue message id) and ``params`` let the command line show it translated."""

    def __init__(self, template: str, **params: object):
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


@dataclass(frozen=True)
class ColumnMapping:
    """Export column -> field path, what to do with unknown columns, and the text encoding.

    ``rename`` maps an export column to a field path (``{"客户编号": "id"}``); a column not
    in it keeps its name. ``unknown`` ``"refuse"`` fails the whole input on a column that
    is no field (the default: a typo must not be silently dropped); ``"ignore"`` leaves it
    out. ``encoding`` is a Python codec name for CSV and JSONL (default UTF-8, with or
    without a byte-order mark).
    """

    rename: Mapping[str, str] = field(default_factory=dict)
    unknown: UnknownColumns = "refuse"
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.unknown not in UNKNOWN_COLUMNS:
            raise ColumnMappingError(N_("unknown columns must be 'refuse' or 'ignore', not {value!r}"),
                                     value=self.unknown)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ColumnMappingError(N_("unknown text encoding {value!r} (e.g. utf-8, gbk, gb18030)"),
                                     value=self.encoding) from None
        targets: dict[str, str] = {}
        for col, path in self.rename.items():
            if not isinstance(col, str) or not isinstance(path, str) or not col.strip() or not path.strip():
                raise ColumnMappingError(N_("a column mapping pairs two names: {column!r}: {field!r}"),
                                         column=col, field=path)
            if path in targets:
                raise ColumnMappingError(N_("columns {first!r} and {second!r} both map to {field!r}"),
                                         first=targets[path], second=col, field=path)
            targets[path] = col

    @property
    def is_plain(self) -> bool:
        """Nothing to do: names as they are, unknown columns refused, UTF-8."""
        return not self.rename and self.unknown == "refuse" and codecs.lookup(self.encoding).name == "utf-8"

    @property
    def python_encoding(self) -> str:
        """The codec to open text with: UTF-8 skips a byte-order mark, as Excel writes one."""
        return "utf-8-sig" if codecs.lookup(self.encoding).name == "utf-8" else self.encoding

    def names(self, header: Sequence[str], known: Iterable[str]) -> list[str]:
        """``header`` renamed; with ``ignore``, a column that is no field of ``known`` gets an
        :data:`IGNORED` name (its position kept, so a reader can still split the rows)."""
        allowed = set(known)
        out: list[str] = []
        for i, col in enumerate(header):
            name = self.rename.get(col, col)
            # a column the mapping names is never ignored: mapped to no field, it is a typo to refuse
            if self.unknown == "ignore" and name not in allowed and col not in self.rename:
                name = f"{IGNORED}{i}"
            out.append(name)
        return out

    @classmethod
    def parse(cls, pairs: Iterable[str], *, file: str | Path | None = None, unknown: UnknownColumns = "refuse",
              encoding: str = "utf-8") -> ColumnMapping:
        """From a YAML file and ``COL=field.path`` texts (a text wins over the file for the same column)."""
        rename: dict[str, str] = dict(read_mapping_file(file)) if file is not None else {}
        given: set[str] = set()
        for text in pairs:
            col, sep, path = text.partition("=")
            if not sep or not col.strip() or not path.strip():
                raise ColumnMappingError(N_("expected COLUMN=field.path, got {value!r}"), value=text)
            if col.strip() in given:  # the last would win silently
                raise ColumnMappingError(N_("column {column!r} is mapped twice"), column=col.strip())
            given.add(col.strip())
            rename[col.strip()] = path.strip()
        return cls(rename, unknown, encoding)


def is_ignored(name: str) -> bool:
    return name.startswith(IGNORED)


_TEXT = "tag:yaml.org,2002:str"  # what YAML resolves a plain or quoted text scalar to


def read_mapping_file(path: str | Path) -> dict[str, str]:
    """A YAML (or JSON) file of ``export column: field path`` pairs, UTF-8."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ColumnMappingError(N_("{file}: column mapping file not found"), file=str(p)) from None
    except IsADirectoryError:
        raise ColumnMappingError(N_("{file}: is a directory, not a column mapping file"), file=str(p)) from None
    except PermissionError:
        raise ColumnMappingError(N_("{file}: permission denied"), file=str(p)) from None
    except UnicodeDecodeError:
        raise ColumnMappingError(N_("{file}: the column mapping file is not UTF-8"), file=str(p)) from None
    # composed, not loaded: the keys keep their lines, and a key given twice is seen (a load keeps the last)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise ColumnMappingError(N_("{file}: not YAML: {problem}"), file=str(p),
                                 problem=str(e).splitlines()[0]) from None
    pairs = node.value if isinstance(node, yaml.MappingNode) else None
    if pairs is None or not all(key.tag == _TEXT and value.tag == _TEXT for key, value in pairs):
        raise ColumnMappingError(N_("{file}: expected a mapping of export column to field path, e.g. '客户编号: id'"),
                                 file=str(p))
    # a header is read without its blanks, so are the keys
    out: dict[str, str] = {}
    for key, value in pairs:
        column = str(key.value).strip()
        if column in out:
            raise ColumnMappingError(N_("{file}: line {line}: column {column!r} is mapped twice"), file=str(p),
                                     line=key.start_mark.line + 1, column=column)
        out[column] = str(value.value).strip()
    return out


__all__ = ["UNKNOWN_COLUMNS", "ColumnMapping", "ColumnMappingError", "UnknownColumns", "is_ignored",
           "read_mapping_file"]
