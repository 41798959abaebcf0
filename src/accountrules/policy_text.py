"""Load a policy held in memory: YAML text (e.g. a row of a CRM database) or a mapping.

The text is read by the same loader as a file, through :class:`PolicyFiles` given recorded
sources instead of the disk: errors carry locations with the given ``name`` as the file,
the policy pickles (its texts travel with it) and it never reads the file system. A
text has no folder, so ``extends:`` and ``include:`` are refused unless the texts they
name are passed as ``files``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from accountrules.check.limits import LoadLimits
from accountrules.check.policy_files import PolicyFiles, SourceFile
from accountrules.check.policy_schema import path_problem
from accountrules.errors import PolicyArgumentError, PolicySchemaError, SourceLocation
from accountrules.i18n import N_, Message
from accountrules.parse.yaml_source import load_yaml_text
from accountrules.policy import Policy, build_policy

__all__ = ["load_policy_mapping", "load_policy_text"]

# where in-memory texts "live": never touched on disk, only a key for the recorded sources
_ROOT = Path(os.sep, "<accountrules-memory>")
_MAIN = "policy.yaml"


def load_policy_text(text: str | bytes, *, name: str = "<policy>", files: Mapping[str, str | bytes] | None = None,
                     engine: str = "compiled", limits: LoadLimits | None = None) -> Policy:
    """Load a policy from its YAML text. ``name`` is the file name error locations show.

    ``files`` holds the other texts the policy may name in ``include:`` or ``extends:``, by
    relative name (``{"tiers.yaml": ..., "base.yaml": ...}``); without it those keys are refused.
    ``engine`` and ``limits`` as for :func:`~accountrules.load_policy`.
    """
    if not isinstance(text, str | bytes):
        raise PolicyArgumentError(Message(N_("load_policy_text takes the policy's YAML text (str or bytes), "
                                             "got {type}"), type=type(text).__name__))
    others = dict(files or {})
    if files is None:
        _refuse_references(text, name)
    sources = [SourceFile(str(_ROOT / _MAIN), name, _bytes(text))]
    for rel, data in others.items():
        bad = path_problem(rel) or (Message(N_("the name must stay inside the policy")) if ".." in Path(rel).parts
                                    else None)
        if bad is not None or rel == _MAIN:
            raise PolicySchemaError(Message(N_("files: {name!r}: {problem}"), name=rel,
                                            problem=bad or Message(N_("the name is taken by the policy itself"))),
                                    SourceLocation(name, 1, 1))
        sources.append(SourceFile(os.path.normpath(_ROOT / rel), rel, _bytes(data)))
    reader = PolicyFiles(sources)
    entry = str(_ROOT / _MAIN)
    policy = build_policy(entry, reader, entry, limits)
    policy.evaluators.prepare(engine, batch=True)
    return policy


def load_policy_mapping(mapping: Mapping[str, Any], *, name: str = "<policy>",
                        files: Mapping[str, str | bytes] | None = None, engine: str = "compiled",
                        limits: LoadLimits | None = None) -> Policy:
    """Load a policy from a mapping shaped like its YAML (e.g. parsed JSON from a database).

    The mapping is written out as YAML and loaded as :func:`load_policy_text`; error locations
    are lines of that text, which is kept as ``policy.sources[0].data``.
    """
    if not isinstance(mapping, Mapping):
        raise PolicySchemaError(Message(N_("a policy must be a mapping, got {type}"), type=type(mapping).__name__),
                                SourceLocation(name, 1, 1))
    try:
        text = yaml.dump(dict(mapping), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as e:
        # PyYAML's RepresenterError holds the value it could not write; its own English text is not shown
        value = e.args[1] if len(e.args) > 1 else None
        raise PolicySchemaError(Message(N_("the mapping holds a value YAML cannot write (of type {type})"),
                                        type=type(value).__name__), SourceLocation(name, 1, 1),
                                Message(N_("use text, numbers, booleans, dates, lists and mappings only"))) from None
    return load_policy_text(text, name=name, files=files, engine=engine, limits=limits)


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors (the loader refuses aliases) that writes tuples as lists."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(tuple, yaml.SafeDumper.represent_list)


def _bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def _refuse_references(text: str | bytes, name: str) -> None:
    top = load_yaml_text(text, file=name)
    if not isinstance(top.value, dict):
        return  # the loader reports the shape
    for key in ("extends", "include"):
        if key in top.value:
            raise PolicySchemaError(
                Message(N_("a policy loaded from text cannot use {key}: it has no folder to read other files from"),
                        key=key),
                top.loc_of_key(key),
                Message(N_("pass files={{'name.yaml': text, ...}} with the texts it names, or load it from a folder")),
            )
