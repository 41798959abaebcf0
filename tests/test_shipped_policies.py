"""The shipped policies are package data: a built wheel holds them (and their cases), an installed
copy loads them by name, and a path that names nothing is a "not found" error, not a syntax error."""

from __future__ import annotations

import filecmp
import importlib.resources
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import accountrules
from accountrules.errors import PolicyError, PolicyNotFoundError, PolicySyntaxError
from accountrules.shipped import find_policy, installed_policies

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("express", "postal")


def _yaml_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*.yaml")}


def test_package_data_is_the_repository_rulesets() -> None:
    packaged = importlib.resources.files("accountrules") / "rulesets"
    assert isinstance(packaged, Path)
    repo = ROOT / "rulesets"
    assert _yaml_files(packaged) == _yaml_files(repo)
    names = sorted(_yaml_files(repo))
    match, mismatch, errors = filecmp.cmpfiles(packaged, repo, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert {"express/policy.yaml", "express/tests/tiers.yaml", "postal/policy.yaml"} <= set(match)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_bare_name_loads_the_shipped_policy_from_anywhere(name: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no rulesets/ here
    policy = accountrules.load_policy(name)
    assert policy.name == name
    assert policy.ref == accountrules.load_policy(ROOT / "rulesets" / name).ref


def test_a_path_that_exists_wins_over_a_shipped_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "express"
    mine.mkdir()
    (mine / "policy.yaml").write_text("policy: {name: mine, version: '1', label: mine}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert accountrules.load_policy("express").name == "mine"


@pytest.mark.parametrize("path", ["no-such-policy", "rulesets/no-such", "../nowhere/policy.yaml"])
def test_a_missing_path_is_not_found_not_a_syntax_error(path: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyNotFoundError) as caught:
        accountrules.load_policy(path)
    assert not isinstance(caught.value, PolicySyntaxError)
    assert isinstance(caught.value, PolicyError)
    assert "no such file or directory" in str(caught.value)
    assert repr(path) in str(caught.value)
    assert "express" in str(caught.value)  # the hint names what is installed


def test_a_moved_repository_path_hints_at_the_shipped_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyNotFoundError, match=r"load_policy\('express'\)"):
        accountrules.load_policy("rulesets/express")


def test_a_directory_without_policy_yaml_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(PolicyNotFoundError, match="policy.yaml"):
        accountrules.load_policy(tmp_path)


def test_only_bare_names_are_looked_up() -> None:
    assert set(SHIPPED) <= set(installed_policies())
    assert find_policy("express") == installed_policies()["express"]
    for name in ("", ".", "..", "x/express", "express/", "nope"):
        assert find_policy(name) is None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("accountrules-*.whl")
    return built


def test_the_wheel_holds_the_policies_and_their_cases(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in _yaml_files(ROOT / "rulesets"):
        assert f"accountrules/rulesets/{rel}" in names
    assert "accountrules/rulesets/express/tests/tiers.yaml" in names
    # the JSON Schemas the shipped files' modelines name (../../schemas/ from a policy folder)
    assert {"accountrules/schemas/policy.schema.json", "accountrules/schemas/case.schema.json"} <= names


def test_an_installed_wheel_loads_the_shipped_policies_by_name(wheel: Path, tmp_path: Path) -> None:
    """Installed from the wheel alone into a folder put first on the path, run away from the source tree:
    the package that answers is the installed copy, and it finds its policies."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    code = ("import accountrules; p = accountrules.load_policy('express'); q = accountrules.load_policy('postal');"
            "print(p.name, q.name, accountrules.__file__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(target)})
    assert done.returncode == 0, done.stderr
    name_express, name_postal, where = done.stdout.split()
    assert (name_express, name_postal) == ("express", "postal")
    assert Path(where).is_relative_to(target)
