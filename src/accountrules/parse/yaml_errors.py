"""PyYAML's syntax errors as a located :class:`PolicySyntaxError`, in the catalogue's words where they are common."""

from __future__ import annotations

import re

import yaml

from accountrules.errors import PolicySyntaxError, SourceLocation
from accountrules.i18n import N_, Message

__all__ = ["LINE_BREAK", "OTHER_LINE_BREAKS", "syntax_error"]

# the line breaks YAML counts (what a mark's line number counts): newline, and these
OTHER_LINE_BREAKS = "\r\x85\u2028\u2029"
LINE_BREAK = re.compile(f"\r\n|[\n{OTHER_LINE_BREAKS}]")


def syntax_error(e: yaml.MarkedYAMLError, text: str, file: str) -> PolicySyntaxError:
    mark = e.problem_mark or e.context_mark
    loc = SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file, 1, 1)
    problem = _yaml_phrase(e.problem or e.context or "cannot be read")
    if e.problem and e.context and e.context_mark and mark and e.context_mark.line != mark.line:
        message = Message(N_("invalid YAML: {problem} ({context} that starts on line {line})"), problem=problem,
                          context=_yaml_phrase(e.context), line=e.context_mark.line + 1)
    else:
        message = Message(N_("invalid YAML: {problem}"), problem=problem)
    lines = LINE_BREAK.split(text)
    look_alike = _look_alike(lines, mark.line) if mark else None
    hint: str
    if mark and mark.line < len(lines) and "\t" in lines[mark.line]:
        hint = Message(N_("indent with spaces; YAML does not allow tabs for indentation"))
    elif look_alike is not None:
        hint = look_alike
    else:
        hint = Message(N_("check the indentation and punctuation (':', '-', quotes, brackets) here and on the "
                          "line above"))
    return PolicySyntaxError(message, loc, hint)


# what a Chinese input method or a copied text puts where YAML needs ASCII: a full-width colon after a key,
# a no-break or ideographic space in the indentation. PyYAML then fails on a later line, or at the key.
_LOOK_ALIKES = re.compile("^[ \u00a0\u3000]*(?:- )?[\\w.-]+[ ]*(\uff1a)|^[ ]*([\u00a0\u3000])")


def _look_alike(lines: list[str], line: int) -> str | None:
    """A hint naming a look-alike character on the error's line or the line above, if there is one."""
    for n in (line - 1, line):
        m = _LOOK_ALIKES.match(lines[n]) if 0 <= n < len(lines) else None
        if m:
            col = m.start(1) if m.group(1) else m.start(2)
            char = lines[n][col]
            return Message(N_("line {line}, column {column} has {char} (U+{code:04X}), a look-alike of {ascii!r} "
                              "that YAML does not read as one: type an ASCII {ascii!r} instead"),
                           line=n + 1, column=col + 1, char=repr(char), code=ord(char),
                           ascii=":" if char == "\uff1a" else " ")
    return None


# PyYAML's most common problems and contexts (its own English words), as catalogue messages: the text
# stays PyYAML's, and a command line in Chinese shows it in Chinese; anything else is shown as PyYAML words it
_YAML_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), message) for pattern, message in (
    (r"mapping values are not allowed here", N_("mapping values are not allowed here")),
    (r"mapping keys are not allowed here", N_("mapping keys are not allowed here")),
    (r"could not find expected ':'", N_("could not find expected ':'")),
    (r"found character (?P<got>.*) that cannot start any token",
                        N_("found character {got} that cannot start any token")),
    (r"found unexpected end of stream", N_("found unexpected end of stream")),
    (r"found unknown escape character (?P<got>.*)", N_("found unknown escape character {got}")),
    (r"found unexpected document separator", N_("found unexpected document separator")),
    (r"while parsing a (?P<what>block mapping|block collection|flow mapping|flow sequence|node)",
     N_("while parsing a {what}")),
    (r"while scanning a (?P<what>simple key|quoted scalar|double-quoted scalar|plain scalar|block scalar)",
     N_("while scanning a {what}")),
))
_EXPECTED: dict[str, str] = {
    "',' or ']'": N_("expected ',' or ']', but got {got}"), "',' or '}'": N_("expected ',' or '}}', but got {got}"),
    "<block end>": N_("expected <block end>, but found {got}"),
    "the node content": N_("expected the node content, but found {got}"),
    "a comment or a line break": N_("expected a comment or a line break, but found {got}"),
}
_YAML_WORDS = {"block mapping": N_("block mapping"), "block collection": N_("block collection"),
               "flow mapping": N_("flow mapping"), "flow sequence": N_("flow sequence"), "node": N_("node"),
               "simple key": N_("simple key"), "quoted scalar": N_("quoted scalar"),
               "double-quoted scalar": N_("double-quoted scalar"), "plain scalar": N_("plain scalar"),
               "block scalar": N_("block scalar")}


def _yaml_phrase(text: str) -> str:
    """``text`` (a PyYAML problem or context) as a :class:`Message` when it is a common one."""
    m = re.fullmatch(r"expected (.+?), but (?:got|found) (.*)", text)
    if m and m.group(1) in _EXPECTED:
        message = Message(_EXPECTED[m.group(1)], got=m.group(2))
        return message if message == text else text
    for pattern, template in _YAML_PHRASES:
        m = pattern.fullmatch(text)
        if m:
            params: dict[str, object] = {k: Message(_YAML_WORDS[v]) if k == "what" else v
                                         for k, v in m.groupdict().items()}
            message = Message(template, **params)
            return message if message == text else text
    return text
