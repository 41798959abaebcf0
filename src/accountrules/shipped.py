"""Policies installed with a package: ours (``express``, ``postal``) and those of policy packages.

``load_policy("express")`` finds a policy here when no file or directory of that name exists.
accountrules ships its policies as package data (``accountrules/rulesets/<name>/``, the same
files as the repository's ``rulesets/``). Another installed package makes its own loadable by
name through the ``accountrules.policies`` entry-point group; the value names a package and,
after a colon, the folder inside it that holds ``policy.yaml``::

    [project.entry-points."accountrules.policies"]
    gold = "mycompany.policies:gold"    # mycompany/policies/gold/policy.yaml

A name shipped with accountrules cannot be taken over by another package: ``express`` always
means ours.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import logging
from pathlib import Path

__all__ = ["ENTRY_POINT_GROUP", "find_policy", "installed_policies"]

ENTRY_POINT_GROUP = "accountrules.policies"

log = logging.getLogger(__name__)


def _own() -> dict[str, Path]:
    folder = importlib.resources.files("accountrules") / "rulesets"
    if not isinstance(folder, Path) or not folder.is_dir():
        # a zipped install (no real folder): the loader reads only the file system
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if (p / "policy.yaml").is_file()}


def _registered() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            base = importlib.resources.files(ep.module)
        except ModuleNotFoundError:
            log.warning("policy %r: its package %r is not importable; skipped", ep.name, ep.module)
            continue
        folder = base.joinpath(*ep.attr.split(".")) if ep.attr else base
        if isinstance(folder, Path) and (folder / "policy.yaml").is_file():
            out.setdefault(ep.name, folder)
        else:
            log.warning("policy %r: %s holds no policy.yaml; skipped", ep.name, folder)
    return out


def installed_policies() -> dict[str, Path]:
    """Every policy loadable by name, with the folder that holds its ``policy.yaml``."""
    return {**_registered(), **_own()}


def find_policy(name: str) -> Path | None:
    """The folder of the installed policy ``name``; None when ``name`` is not a bare name or none has it."""
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    own = _own().get(name)
    return own if own is not None else _registered().get(name)
