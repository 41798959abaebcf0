"""``extends:`` and ``include:`` are confined, and path names from policy text are checked first.

A policy may extend its siblings (``rulesets/postal`` extends ``rulesets/express``) or a folder
the caller allows; anything else is refused before it is read, so a foreign file's content never
appears in an error. Only regular files are read: a FIFO is refused at once instead of blocking.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

import accountrules
from accountrules.errors import PolicyError

ROOT = Path(__file__).resolve().parents[1]
HEAD = 'policy: {name: child, version: "1", label: {zh: 子, en: Child}}\n'


def _policy(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    return folder


def _error(path: Path, **kw: object) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(path, **kw)  # type: ignore[arg-type]
    return info.value


def test_siblings_may_be_extended(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "rulesets" / "express", tmp_path / "rules" / "express")
    shutil.copytree(ROOT / "rulesets" / "postal", tmp_path / "rules" / "postal")
    assert accountrules.load_policy(tmp_path / "rules" / "postal").name == "postal"


def test_extends_outside_the_folder_is_refused_without_reading_it(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "policy.yaml"
    secret.parent.mkdir()
    secret.write_text("aws_secret_access_key: hunter2\n", encoding="utf-8")
    child = _policy(tmp_path / "rules" / "child", HEAD + "extends: ../../elsewhere\n")
    e = _error(child)
    assert "leaves the folders" in str(e) and "aws_secret_access_key" not in str(e) and "hunter2" not in str(e)
    assert e.location is not None and e.location.line == 2
    # the caller can widen it explicitly; then the foreign file is read (and refused as a policy)
    widened = _error(child, allow=[tmp_path / "elsewhere"])
    assert "leaves the folders" not in str(widened)
    # one folder given as text (or a path) is that folder and no other: a str was read as one folder per
    # character, "/" among them, so allow="/some/folder" let extends: reach every file of the machine
    other = _policy(tmp_path / "rules" / "other", HEAD + "extends: ../../third\n")
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "policy.yaml").write_text("aws_secret_access_key: hunter2\n", encoding="utf-8")
    for one in (str(tmp_path / "elsewhere"), tmp_path / "elsewhere"):
        assert "leaves the folders" not in str(_error(child, allow=one))
        refused = _error(other, allow=one)
        assert "leaves the folders" in str(refused) and "hunter2" not in str(refused)


@pytest.mark.parametrize("target", ["/etc", "../../../../../../etc/passwd"])
def test_absolute_and_escaping_paths_are_refused(tmp_path: Path, target: str) -> None:
    child = _policy(tmp_path / "rules" / "child", HEAD + f"extends: {target}\n")
    e = _error(child)
    assert e.location is not None and e.location.line == 2
    assert "must be relative" in str(e) or "leaves the folders" in str(e)


@pytest.mark.parametrize("name", ['"a\\0b"', '"x' + "y" * 300 + '"', '"a\\x01"', '""'])
@pytest.mark.parametrize("key", ["extends", "include"])
def test_unusable_path_names_are_located_errors(tmp_path: Path, key: str, name: str) -> None:
    value = name if key == "extends" else f"[{name}]"
    child = _policy(tmp_path / "rules" / "child", HEAD + f"{key}: {value}\n")
    e = _error(child)
    assert e.location is not None and e.location.line == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_a_fifo_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    base = tmp_path / "rules" / "base"
    base.mkdir(parents=True)
    os.mkfifo(base / "policy.yaml")
    child = _policy(tmp_path / "rules" / "child", HEAD + "extends: ../base\n")
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            accountrules.load_policy(child)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread to assert on
            outcome.append(e)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so the daemon thread can end, then fail
        with open(base / "policy.yaml", "wb"):
            pass
        pytest.fail("loading a policy that extends a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], PolicyError)
    assert "not a regular file" in str(outcome[0])
