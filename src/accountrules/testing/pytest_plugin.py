"""pytest plugin (entry point ``pytest11: accountrules``): policy test cases as pytest items.

Any ``tests/*.yaml`` (or ``*.yml``) inside a directory that holds a ``policy.yaml`` is
read as a case file; each case becomes one item per evaluator, named after the case
(with ``[compiled]``/``[durable]``/``[vector]`` when several evaluators run). YAML files
without a top-level ``cases:`` are ignored.

Case files under the directories named by the ini option ``accountrules_skip_dirs``
(default ``examples rulesets``, relative to the rootdir) are collected only when such a
directory (or a path inside it) is named on the command line or in ``testpaths``: so
``pytest`` and ``pytest .`` leave them alone, ``pytest tests rulesets`` runs them.

Options: ``--accountrules-engine all|compiled|durable|vector|auto|both`` (default ``all``:
compiled, durable when durable_rules is installed and can run the policy, vector when numpy
is installed; the same names as ``accountrules test --engine``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from accountrules.policy import Policy
    from accountrules.testing.cases import PolicyCase
    from accountrules.testing.runner import CaseResult

_SUFFIXES = (".yaml", ".yml")
_POLICIES = pytest.StashKey[dict[tuple[Path, str | None], Any]]()


def _engine(text: str) -> str:
    # imported when the option is given, so pytest starts without loading accountrules
    from accountrules.errors import UnknownEngineError
    from accountrules.evaluate.registry import check_engine
    from accountrules.testing.runner import TEST_ENGINES

    try:
        return check_engine(text, TEST_ENGINES)
    except UnknownEngineError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("accountrules", "accountrules policy test cases")
    group.addoption("--accountrules-engine", type=_engine, default=None, metavar="ENGINE",
                    help="evaluator(s) to run policy test cases on: all (default: every evaluator available), "
                         "compiled, durable, vector, auto, or both (compiled and durable)")
    parser.addini("accountrules_skip_dirs", type="args", default=["examples", "rulesets"],
                  help="directories (relative to the rootdir) whose policy test cases are collected only "
                       "when named on the command line or in testpaths")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_POLICIES] = {}


def _named_paths(config: pytest.Config) -> list[Path]:
    base = config.invocation_params.dir
    named = [(base / a.split("::", 1)[0]).resolve() for a in config.args]
    named += [(config.rootpath / t).resolve() for t in config.getini("testpaths")]
    return named


def _allowed(config: pytest.Config, path: Path) -> bool:
    root = config.rootpath.resolve()
    path = path.resolve()
    named: list[Path] | None = None
    for d in config.getini("accountrules_skip_dirs"):
        skip = (root / d).resolve()
        if skip in path.parents:
            named = named if named is not None else _named_paths(config)
            if not any(n == skip or skip in n.parents for n in named):
                return False
    return True


def _policy_dir(path: Path) -> Path | None:
    if path.suffix not in _SUFFIXES or path.parent.name != "tests":
        return None
    policy_dir = path.parent.parent
    return policy_dir if (policy_dir / "policy.yaml").is_file() else None


def _display(config: pytest.Config, path: Path) -> str:
    """Relative to where pytest was started (so ``file:line:col`` opens from there), else absolute;
    the policy's own locations are named the same way by the loader."""
    try:
        return str(path.resolve().relative_to(config.invocation_params.dir.resolve()))
    except ValueError:
        return str(path.resolve())


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _policy_dir(file_path) is None or not _allowed(parent.config, file_path):
        return None
    from accountrules.errors import PolicyError
    from accountrules.parse.yaml_source import load_yaml_file
    from accountrules.testing.cases import is_case_file

    try:
        node = load_yaml_file(file_path)
    except PolicyError:
        pass  # unreadable YAML in a policy's tests/: collect it, so the error is reported
    else:
        if not is_case_file(node):
            return None
    file: PolicyCaseFile = PolicyCaseFile.from_parent(parent, path=file_path)
    return file


class PolicyCaseFile(pytest.File):
    """A case file of a policy; its items are the cases (one per engine)."""

    def _policy(self) -> tuple[Policy, tuple[str, ...]]:
        from accountrules.testing.runner import load_policy_for

        cache: dict[tuple[Path, str | None], Any] = self.config.stash[_POLICIES]
        choice: str | None = self.config.getoption("accountrules_engine")
        key = (self.path.parent.parent, choice)
        if key not in cache:
            try:
                policy, engines, _note = load_policy_for(key[0], choice)
                cache[key] = (policy, engines)
            except Exception as e:  # remembered, so every case file of the policy reports it
                cache[key] = e
        found = cache[key]
        if isinstance(found, Exception):
            raise found
        loaded: tuple[Policy, tuple[str, ...]] = found
        return loaded

    def collect(self) -> Iterator[pytest.Item]:
        from accountrules.parse.yaml_source import load_yaml_file
        from accountrules.testing.cases import is_case_file, parse_case_file

        node = load_yaml_file(self.path, display_name=_display(self.config, self.path))
        if not is_case_file(node):
            return
        policy, engines = self._policy()
        cases = parse_case_file(node, policy)
        for case in cases.cases:
            for engine in engines:
                name = case.name if len(engines) == 1 else f"{case.name}[{engine}]"
                yield PolicyCaseItem.from_parent(self, name=name, policy=policy, case=case, engine=engine)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        from accountrules.errors import AccountRulesError

        if isinstance(excinfo.value, AccountRulesError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class PolicyCaseFailed(Exception):
    """A case that did not pass; carries its result for the report."""

    def __init__(self, result: CaseResult):
        super().__init__(result.status)
        self.result = result


class PolicyCaseItem(pytest.Item):
    def __init__(self, *, policy: Policy, case: PolicyCase, engine: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.policy = policy
        self.case = case
        self.engine = engine

    def runtest(self) -> None:
        from accountrules.testing.runner import run_case

        result = run_case(self.policy, self.case, self.engine)
        if not result.passed:
            raise PolicyCaseFailed(result)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, PolicyCaseFailed):
            from accountrules.testing.runner import format_result

            return "\n".join(format_result(excinfo.value.result))
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.location.line - 1, f"policy case: {self.case.name} [{self.engine}]"
