"""Argument types and options shared by the commands: dates, counts, engines, languages, output paths
and the column mapping of exports. Each command module uses these instead of its own copy.

Messages are translated with the gettext of the command line's language, which
:func:`accountrules.cli.app.build_parser` hangs on the sub-parsers object (:func:`gettext_of`).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from accountrules.errors import UnknownEngineError
from accountrules.evaluate.registry import ENGINES, check_engine
from accountrules.i18n import N_, Gettext, UnknownLanguageError, normalise_lang, translated
from accountrules.io.columns import UNKNOWN_COLUMNS, ColumnMapping
from accountrules.io.writers import STDOUT, is_stdout
from accountrules.model.account import ISO_DAY

__all__ = ["ENGINE_HELP", "RAW_CSV_HELP", "STDOUT", "add_columns", "add_engine", "column_mapping",
           "engine_choice", "gettext_of", "is_stdout", "iso_date", "lang_choice", "percent", "positive",
           "whole_number"]

Type = Callable[[str], Any]


def _same(message: str) -> str:
    return message


def gettext_of(holder: object) -> Gettext:
    """The translation function hung on a parser or sub-parsers object (identity when none is)."""
    found = getattr(holder, "gettext", None)
    return found if callable(found) else _same


def iso_date(_: Gettext = _same) -> Type:
    """A YYYY-MM-DD date."""

    def parse(text: str) -> dt.date:
        try:
            if not ISO_DAY.fullmatch(text):  # fromisoformat also takes 20260630 and week dates (2026-W26-2)
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("not a date (YYYY-MM-DD): {value!r}").format(value=text)) from None

    return parse


def positive(_: Gettext = _same, what: str = "") -> Type:
    """A whole number of at least 1 (``what``: the unit the message names, e.g. "days")."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            message = _("must be a positive whole number of days: {value!r}") if what == "days" \
                else _("must be a positive whole number: {value!r}")
            raise argparse.ArgumentTypeError(message.format(value=text))
        return value

    return parse


def whole_number(_: Gettext = _same) -> Type:
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("must be a whole number: {value!r}").format(value=text)) from None

    return parse


def percent(_: Gettext = _same) -> Type:
    def parse(text: str) -> float:
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            value = -1.0
        if not 0 <= value <= 100:
            raise argparse.ArgumentTypeError(
                _("must be a percentage between 0 and 100: {value!r}").format(value=text))
        return value

    return parse


def lang_choice(_: Gettext = _same) -> Type:
    """``zh`` or ``en``, or a locale naming one (``zh_CN.UTF-8``, ``zh-CN``, ``en_US``)."""

    def parse(text: str) -> str:
        try:
            return normalise_lang(text)
        except UnknownLanguageError:
            raise argparse.ArgumentTypeError(
                _("must be zh or en (or a locale such as zh_CN.UTF-8): {value!r}").format(value=text)) from None

    return parse


def engine_choice(text: str, names: tuple[str, ...] | None = None, _: Gettext = _same) -> str:
    """An ``--engine`` value: a name of the evaluator registry, with its message and did-you-mean (in ``_``'s
    language)."""
    try:
        return check_engine(text, names) if names is not None else check_engine(text)
    except UnknownEngineError as e:
        raise argparse.ArgumentTypeError(str(translated(e.args[0], _))) from None


RAW_CSV_HELP: Final = N_("write CSV cells exactly as they are, for programs; by default a text cell starting with "
                       "= + - @, a tab or a CR gets a leading ' so a spreadsheet shows it instead of running it")
ENGINE_HELP: Final = N_("evaluator: auto (default: vector when numpy is installed, else compiled), compiled, durable "
                      "or vector; all give the same decisions")


def add_engine(p: argparse.ArgumentParser, _: Gettext = _same) -> None:
    def engine(text: str) -> str:
        return engine_choice(text, _=_)

    p.add_argument("--engine", type=engine, default="auto", metavar="{" + ",".join(ENGINES) + "}",
                   help=_(ENGINE_HELP))


def add_columns(p: argparse.ArgumentParser, _: Gettext = _same) -> None:
    """``--map COL=field.path`` (repeatable), ``--columns FILE``, ``--unknown-columns``, ``--encoding``."""
    g = p.add_argument_group(_("reading an export"))
    g.add_argument("--map", action="append", default=[], metavar="COL=FIELD", dest="map",
                   help=_("read the export column COL as the field path FIELD, e.g. --map '客户编号=id' "
                          "(repeatable; wins over --columns)"))
    g.add_argument("--columns", metavar="FILE", default=None,
                   help=_("a YAML file of 'export column: field path' lines, e.g. '年销售额: "
                          "transactions.annual_revenue'"))
    g.add_argument("--unknown-columns", choices=UNKNOWN_COLUMNS, default="refuse",
                   help=_("a column that is no field after mapping: refuse the input (default) or ignore the "
                          "column"))
    g.add_argument("--encoding", default="utf-8", metavar="NAME",
                   help=_("text encoding of a CSV or JSONL input (default utf-8; e.g. gbk for an export "
                          "saved by Chinese Excel)"))


def column_mapping(args: argparse.Namespace) -> ColumnMapping | None:
    """The mapping ``--map``/``--columns``/``--unknown-columns``/``--encoding`` ask for; None when
    they ask for nothing (raises :class:`~accountrules.io.columns.ColumnMappingError`)."""
    mapping = ColumnMapping.parse(args.map, file=args.columns, unknown=args.unknown_columns, encoding=args.encoding)
    return None if mapping.is_plain else mapping


def output_help(_: Gettext, what: str) -> str:
    return _("{what}; - writes it to standard output (the summary then goes to standard error)").format(what=what)
