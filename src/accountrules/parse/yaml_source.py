"""The only reader of policy and test-case YAML.

Text is parsed into :class:`YNode` trees that remember where every value and key
starts, so later stages can point at the offending text. Only plain data is
accepted: text, numbers, true/false, null, dates, lists and mappings. Tags,
anchors/aliases, duplicate keys, non-text keys, deep nesting, several documents,
bad encodings and oversized files are all :class:`PolicySyntaxError`.

The tree is built from PyYAML's event stream rather than ``yaml.compose``: the
composer recurses once per nesting level (pure Python: RecursionError after ~1 s
on 100k ``[``; libyaml: a segfault), while the event loop below is iterative and
stops at the first node deeper than the limit. Event marks of the C and the pure
Python parser are identical (see tests), so the faster one is used when present; its
errors are re-derived by the pure-Python parser so that they do not depend on the build.
"""

from __future__ import annotations

import codecs
import datetime
import os
import re
from collections.abc import Callable
from typing import Any, TypeAlias

import yaml
import yaml.resolver
from yaml import MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent, SequenceStartEvent

from accountrules.errors import PolicySyntaxError, SourceLocation
from accountrules.i18n import N_, Message
from accountrules.parse import row_lines
from accountrules.parse.yaml_errors import LINE_BREAK, syntax_error
from accountrules.parse.ynode import Mark, RowNode, SpelledNumber, YNode, location_of

__all__ = ["MAX_BYTES", "MAX_DEPTH", "RowNode", "YNode", "load_yaml_file", "load_yaml_text"]

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64

Scalar: TypeAlias = None | bool | int | float | str | datetime.date

_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolve: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = yaml.resolver.Resolver().resolve
_SAFE = yaml.constructor.SafeConstructor()
_YAML_TAG = "tag:yaml.org,2002:"
_SEQ_TAGS, _MAP_TAGS = ("!", _YAML_TAG + "seq"), ("!", _YAML_TAG + "map")  # the tags a list or mapping may carry
# YAML's own set of characters; the same test PyYAML's reader makes, done here to get a line and column.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DECIMAL = re.compile("[-+]?(?:0|[1-9][0-9]{0,17})")  # int() of these equals YAML 1.1's reading


def _null(node: yaml.ScalarNode) -> None:
    if node.value not in ("", "~", "null", "Null", "NULL"):
        raise ValueError(node.value)


_SCALARS: dict[str, tuple[str, Callable[[yaml.ScalarNode], Scalar]]] = {
    "null": ("null", _null),
    "bool": ("true/false value", _SAFE.construct_yaml_bool),
    "int": ("whole number", _SAFE.construct_yaml_int),
    "float": ("number", _SAFE.construct_yaml_float),
    "timestamp": ("date", _SAFE.construct_yaml_timestamp),
}


def load_yaml_file(path: str | os.PathLike[str], *, display_name: str | None = None) -> YNode:
    """Read and parse a YAML file. Errors name ``display_name`` (default: ``path`` as given)."""
    name = display_name if display_name is not None else os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise PolicySyntaxError(
            Message(N_("the file could not be read: {e}"), e=e.strerror or e),
            SourceLocation(name, 1, 1),
            hint=Message(N_("check that the path is right and names a readable file")),
        ) from None
    return load_yaml_text(data, file=name)


def load_yaml_text(data: bytes | str, *, file: str = "<string>") -> YNode:
    """Parse one YAML document given as UTF-8 bytes or text; ``file`` is used in errors."""
    text = _to_text(data, file)
    bad = _non_printable(data, text)
    if bad:
        raise PolicySyntaxError(
            Message(N_("the file contains a control character (U+{bad:04X}) that YAML does not allow"),
                    bad=ord(bad.group())),
            _at(text, bad.start(), file),
            Message(N_("delete it; such characters are often invisible in editors")),
        )
    try:
        root = _parse(text, file)
    except yaml.MarkedYAMLError as e:
        raise syntax_error(e, text, file) from None
    except yaml.YAMLError as e:
        raise PolicySyntaxError(Message(N_("invalid YAML: {e}"), e=e), SourceLocation(file, 1, 1)) from None
    except RecursionError:  # the builder is iterative; this only guards PyYAML internals
        raise PolicySyntaxError(
            Message(N_("the file is nested more than {max_depth} levels deep"),
                    max_depth=MAX_DEPTH), SourceLocation(file, 1, 1)
        ) from None
    if root is None or root.value is None:
        raise PolicySyntaxError(
            Message(N_("the file is empty")), SourceLocation(file, 1, 1),
                                                             Message(N_("write the policy or test cases into it"))
        )
    return root


def _parse(text: str, file: str, *, min_run: int = row_lines.MIN_RUN,
           min_bytes: int = row_lines.MIN_BYTES) -> YNode | None:
    """Parse with the fast loader; on any YAML error, re-parse with the pure-Python one.

    libyaml builds differ in what they refuse and where: 0.2.6 (PyYAML 6.0.4 wheels) has a
    nesting limit of its own that fires before any event reaches our 64-level check, 0.2.5
    has none. The pure-Python parser is the reference, so users get the same message and
    location on every build; only the error path pays for the second parse.

    A large file's long runs of one-line table rows are read by :mod:`row_lines` (``min_run``,
    ``min_bytes``: when); whatever goes wrong there, the file is read again as written.
    """
    if len(text) >= min_bytes:
        runs = row_lines.find_runs(text, _plain_kind, min_run)
        if runs:
            try:
                root = _parse_whole(row_lines.blank(text, runs), file)
            except (yaml.YAMLError, PolicySyntaxError):
                root = None  # the error is reported as the text as written gives it
            if root is not None and row_lines.splice(root, runs, file, RowNode):
                return root
    return _parse_whole(text, file)


def _plain_kind(word: str) -> str | None:
    """What YAML 1.1 reads a plain word as (the tree builder's resolution): 'str', 'int', 'bool', ..."""
    resolved = _resolve(yaml.ScalarNode, word, (True, False))
    return resolved.removeprefix(_YAML_TAG) if resolved.startswith(_YAML_TAG) else None


def _parse_whole(text: str, file: str) -> YNode | None:
    if _LOADER is yaml.SafeLoader:
        return _build(text, file, yaml.SafeLoader)
    try:
        return _build(text, file, _LOADER)
    except yaml.YAMLError:
        return _build(text, file, yaml.SafeLoader)


def _build(text: str, file: str, loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]) -> YNode | None:
    parser = loader(text)
    try:
        return _build_events(parser, file)
    finally:
        parser.dispose()


_UNSET: Any = object()


def _build_events(parser: yaml.SafeLoader | yaml.CSafeLoader, file: str) -> YNode | None:
    # The hot loop of loading a large policy (8 events a table row). The common events are tested
    # first by their exact type; the innermost open list or mapping is held in locals (its node, its
    # value, its keys, the key waiting for a value) rather than read from the stack per event; a list
    # or mapping is its node from its start event on (filled in place); a key needs no node of its own
    # (only its text and start mark); untagged plain scalars are read once per distinct text; and a
    # place is kept as the parser's mark, made a line and column only when asked for (on errors).
    # get_event() alone (no check_event()) answers None past the end on both parsers: one call less an event.
    root: YNode | None = None
    stack: list[tuple[YNode | None, str | None]] = []  # per open list or mapping: its parent and the parent's key
    top: YNode | None = None  # the innermost open list or mapping
    items: list[YNode] | dict[str, YNode] | None = None  # its value
    keys: dict[str, Mark | None] | None = None  # its keys, when a mapping (None: a list, or nothing open)
    key: str | None = None  # when a mapping: the key waiting for its value
    raw: str | None = None  # the text of the scalar in hand (None: a list or mapping)
    documents = 0
    kinds: dict[str, str | None] = {}  # plain scalar text -> its resolved kind, for this text only
    plain: dict[str, Scalar] = {}  # untagged plain scalar text -> its value, for this text only
    decimal = _DECIMAL.fullmatch
    # typed Any: the loop tests each event's exact type once, an isinstance() more per event for the
    # type checker would cost more than the rest of a scalar's handling
    get: Callable[[], Any] = parser.get_event
    while (event := get()) is not None:
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor:
                raise _anchor_error(_loc(event, file))
            raw = text = event.value
            if event.tag is not None:
                value = _scalar(event, _loc(event, file), kinds)
            elif not event.implicit[0]:
                value = text  # quoted: text, whatever it looks like
            else:
                value = plain.get(text, _UNSET)
                if value is _UNSET:
                    if decimal(text):
                        value = int(text)  # a row id or count: YAML 1.1 reads these digits as this int
                    else:
                        value = plain[text] = _scalar(event, _loc(event, file), kinds)
            if keys is not None and key is None:  # a key: only its text and place are kept
                if type(value) is not str or value in keys:
                    raise _key_error(keys, value, _loc(event, file), raw)
                keys[value] = event.start_mark
                key = value
                continue
            node = YNode(value, file, event.start_mark) if type(value) is not float and type(value) is not int \
                or str(value) == text else SpelledNumber(value, file, event.start_mark, text)  # text as written
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            assert top is not None
            node = top
            top, key = stack.pop()
            if top is None:
                items = keys = None
            else:
                items, keys = top.value, top._keys  # type: ignore[assignment]
            raw = None
        elif kind is MappingStartEvent or kind is SequenceStartEvent:  # the only two collection events
            if event.anchor:
                raise _anchor_error(_loc(event, file))
            is_seq = kind is SequenceStartEvent
            tag = event.tag
            if tag is not None and tag not in (_SEQ_TAGS if is_seq else _MAP_TAGS):
                raise _tag_error(tag, _loc(event, file))
            if len(stack) == MAX_DEPTH:
                raise PolicySyntaxError(
                    Message(N_("the file is nested more than {max_depth} levels deep"), max_depth=MAX_DEPTH),
                    _loc(event, file),
                    Message(N_("check for unclosed brackets or runaway indentation")),
                )
            stack.append((top, key))
            if is_seq:
                items, keys = [], None
                top = YNode(items, file, event.start_mark)
            else:
                items, keys = {}, {}
                top = YNode(items, file, event.start_mark, keys)
            key = None
            continue
        elif isinstance(event, yaml.AliasEvent):
            raise _anchor_error(_loc(event, file))
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise PolicySyntaxError(
                    Message(N_("the file holds more than one YAML document")),
                    _loc(event, file),
                    Message(N_("keep one document per file: remove this '---' line or move what follows to "
                               "another file")),
                )
            continue
        else:
            continue
        if top is None:
            root = node
        elif keys is None:
            items.append(node)  # type: ignore[union-attr]
        elif key is not None:
            items[key] = node  # type: ignore[index, call-overload]
            key = None
        else:
            raise _key_error(keys, node.value, node.location, raw)  # a list or mapping as a key
    return root


def _anchor_error(loc: SourceLocation) -> PolicySyntaxError:
    return PolicySyntaxError(Message(N_("anchors and aliases (&, *) are not supported in policy files")), loc,
                             Message(N_("write the value out in full")))


def _key_error(keys: dict[str, Mark | None], value: Any, loc: SourceLocation,
               raw: str | None) -> PolicySyntaxError:
    """Why ``value`` cannot be the next key of a mapping whose keys so far are ``keys`` (``raw``: its text
    when a scalar): it is not text, or it is there already."""
    if not isinstance(value, str):
        problem = Message(N_("mapping keys must be text, but {raw!r} is read as {value}"), raw=raw,
                          value=_describe(value)) if raw is not None else \
            Message(N_("mapping keys must be text, but this key is {value}"), value=_describe(value))
        return PolicySyntaxError(
            problem,
            loc,
            Message(N_("put the key in quotes")) if raw is not None else Message(N_("use a plain word as the key")),
        )
    return PolicySyntaxError(
        Message(N_("the key {value!r} appears twice in the same mapping (first on line {line})"),
                value=value, line=location_of("", keys[value]).line),
        loc,
        Message(N_("remove or rename one of them")),
    )


def _scalar(event: yaml.ScalarEvent, loc: SourceLocation, kinds: dict[str, str | None]) -> Scalar:
    tag = event.tag
    value = event.value
    if tag is None or tag == "!":
        if not event.implicit[0]:
            return value  # quoted or '!'-tagged: text, whatever it looks like
        if value in kinds:
            kind = kinds[value]
        else:
            kind = kinds[value] = _plain_kind(value)  # implicit[0] holds here: the plain reading decides
        tag = _YAML_TAG + kind if kind is not None else ""
    else:
        kind = tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else None
    if kind in ("str", "value"):  # "value" is a bare '=': text, as anyone would read it
        return value
    if kind == "int" and _DECIMAL.fullmatch(value):
        return int(value)  # the common case of YAML 1.1's int forms (no base prefix, '_', ':' or leading 0)
    if kind == "merge":
        raise PolicySyntaxError(
            Message(N_("merge keys (<<) are not supported in policy files")), loc,
                                    Message(N_("write the keys out in full"))
        )
    if kind not in _SCALARS:
        raise _tag_error(tag, loc)
    name, construct = _SCALARS[kind]
    try:
        constructed = construct(yaml.ScalarNode(tag, value))
    except (ValueError, KeyError, IndexError, AttributeError, OverflowError):
        raise PolicySyntaxError(Message(N_("{value!r} is not a valid {name}"),
                                        value=value, name=name), loc, _hint_for(name)) from None
    if isinstance(constructed, datetime.datetime):
        if constructed.time() != datetime.time():
            raise PolicySyntaxError(
                Message(N_("{value!r} has a time of day, but only dates are supported"), value=value),
                loc,
                Message(N_("write just the date: {date}"), date=constructed.date().isoformat()),
            )
        return constructed.date()
    return constructed


# the bytes that are YAML's own printable ASCII, and every byte of a multi-byte UTF-8 character
_ALLOWED_BYTES = b"\x09\x0a\x0d" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))


def _non_printable(data: bytes | str, text: str) -> re.Match[str] | None:
    """The first character of ``text`` (decoded from ``data``) YAML does not allow, or None.

    The regular expression costs tens of ms on a file at the size cap; a file that holds no such
    character (nearly every one) is recognised from its bytes instead: no ASCII control byte, no
    C1 control (each is encoded after a 0xC2 byte), and neither U+FFFE nor U+FFFF. Anything else
    is left to the expression, which also gives the place."""
    raw = data if isinstance(data, bytes) else text.encode("ascii") if text.isascii() else None
    if (raw is not None and not raw.translate(None, _ALLOWED_BYTES) and b"\xc2" not in raw
            and b"\xef\xbf\xbe" not in raw and b"\xef\xbf\xbf" not in raw):
        return None
    return _NON_PRINTABLE.search(text)


def _hint_for(name: str) -> str:
    if name == "date":
        return Message(N_("write a real calendar date as YYYY-MM-DD, or put the text in quotes"))
    return Message(N_("remove the tag in front of it, or fix the value"))


def _to_text(data: bytes | str, file: str) -> str:
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise PolicySyntaxError(
            Message(N_("the file is larger than {max_bytes} MiB"), max_bytes=MAX_BYTES // (1024 * 1024)),
            SourceLocation(file, 1, 1),
            Message(N_("policy and test files are small; check that this is the right file")),
        )
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start].decode("utf-8")
        raise PolicySyntaxError(
            Message(N_("the file is not valid UTF-8 text (byte 0x{e:02X})"), e=data[e.start]),
            _at(before, len(before), file),
            Message(N_("save the file with UTF-8 encoding")),
        ) from None


def _tag_error(tag: str, loc: SourceLocation) -> PolicySyntaxError:
    shown = "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag
    return PolicySyntaxError(
        Message(N_("the tag {shown} is not allowed in policy files"), shown=shown),
        loc,
        Message(N_("remove it; policy files hold only text, numbers, true/false, dates, lists and mappings")),
    )


def _describe(value: object) -> Message:
    if value is None:
        return Message(N_("empty (null)"))
    if isinstance(value, bool):
        return Message(N_("true/false"))
    if isinstance(value, int | float):
        return Message(N_("a number"))
    if isinstance(value, datetime.date):
        return Message(N_("a date"))
    return Message(N_("a list")) if isinstance(value, list) else Message(N_("a mapping"))


def _loc(event: yaml.Event, file: str) -> SourceLocation:
    return location_of(file, event.start_mark)


def _at(text: str, index: int, file: str) -> SourceLocation:
    """The location of ``text[index]``, counting line breaks as YAML does."""
    line, start = 1, 0
    for m in LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return SourceLocation(file, line, index - start + 1)
