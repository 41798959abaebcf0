"""Error locations open from where the command ran: files are named relative to the working directory (or
absolutely when they lie outside it), and a parameter whose value does not fit its use is reported where
the value is set, with the use as a second location."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import accountrules
from accountrules.errors import PolicyError, PolicyTypeError

ROOT = Path(__file__).resolve().parents[1]

HEAD = 'policy: {name: t, version: "1", label: t}\n'
TIERS = """\
tiers:
  values: {gold: Gold, iron: Iron}
  default: iron
  rows:
    - id: r
      when: {when}
      then: gold
"""


def policy_dir(base: Path, params: str, when: str, name: str = "pol") -> Path:
    d = base / name
    d.mkdir(parents=True)
    (d / "policy.yaml").write_text(HEAD + "include: [tiers.yaml]\n" + params, encoding="utf-8")
    (d / "tiers.yaml").write_text(TIERS.replace("{when}", when), encoding="utf-8")
    return d


def error_of(path: str | Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(path)
    return info.value


def test_a_file_below_the_working_directory_is_named_relative_to_it(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    policy_dir(tmp_path / "work" / "policies", "", "nope > 1")
    monkeypatch.chdir(tmp_path / "work")
    e = error_of("policies/pol")
    assert e.location is not None and e.location.file == str(Path("policies/pol/tiers.yaml"))
    assert (Path.cwd() / e.location.file).is_file()
    # the same policy named by an absolute path below the working directory: still relative
    e = error_of(tmp_path / "work" / "policies" / "pol")
    assert e.location is not None and e.location.file == str(Path("policies/pol/tiers.yaml"))


def test_a_file_outside_the_working_directory_is_named_absolutely(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    d = policy_dir(tmp_path / "policies", "", "nope > 1")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    e = error_of("../policies/pol")
    assert e.location is not None
    assert Path(e.location.file).is_absolute() and Path(e.location.file) == d / "tiers.yaml"
    assert str(e).startswith(f"{d / 'tiers.yaml'}:6:13: type error: unknown field 'nope'")


def test_the_command_line_prints_locations_that_open_from_its_working_directory(tmp_path: Path) -> None:
    policy_dir(tmp_path / "policies", "", "nope > 1")
    done = subprocess.run([sys.executable, "-m", "accountrules", "lint", "policies/pol"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    m = re.search(r"(\S+\.yaml):(\d+):(\d+): type error", done.stderr)
    assert m, done.stderr
    lines = (tmp_path / m.group(1)).read_text(encoding="utf-8").splitlines()
    assert lines[int(m.group(2)) - 1][int(m.group(3)) - 1:].startswith("nope")


def test_a_shipped_policy_names_the_files_it_was_read_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    policy = accountrules.load_policy("rulesets/express")
    shown = {f.display for f in policy.sources}
    assert "rulesets/express/policy.yaml" in shown and all((ROOT / s).is_file() for s in shown)
    # a pickled copy shows the names of the original read, wherever it is unpickled
    monkeypatch.chdir("/")
    assert {f.display for f in pickle.loads(pickle.dumps(policy)).sources} == shown


def test_a_parameter_of_the_wrong_type_is_reported_where_it_is_set(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    policy_dir(tmp_path, "params:\n  cut: high\n", "transactions.annual_profit > params.cut")
    e = error_of("pol")
    assert isinstance(e, PolicyTypeError)
    assert e.location is not None and (e.location.file, e.location.line, e.location.column) == (
        str(Path("pol/policy.yaml")), 4, 8)  # the value 'high'
    assert [(r.file, r.line, r.column) for r in e.related] == [(str(Path("pol/tiers.yaml")), 6, 42)]
    assert "parameter 'cut'" in e.message and "'high'" in e.message
    text = str(e)
    assert text.startswith(f"{Path('pol/policy.yaml')}:4:8: type error")
    assert f"used at {Path('pol/tiers.yaml')}:6:42" in text
    assert e.to_dict()["related"] == [{"file": str(Path("pol/tiers.yaml")), "line": 6, "column": 42}]


@pytest.mark.parametrize(("params", "when"), [
    ("params:\n  flag: 3\n", "params.flag"),                                      # a condition must be true/false
    ("params:\n  since: 5\n", "days_since(params.since) > 3"),                     # a function's argument
    ("params:\n  cut: 0.5\n", "transactions.annual_profit > 1 and params.cut"),    # an operand of 'and'
    ("params:\n  day: 2026-01-01\n", "params.day > transactions.annual_profit"),   # compared with a number
    ("params:\n  name: x\n", "transactions.annual_profit in params.name .. 10"),   # a range bound
])
def test_every_kind_of_misfit_points_at_the_parameter(tmp_path: Path, params: str, when: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    policy_dir(tmp_path, params, when)
    e = error_of("pol")
    assert e.location is not None and e.location.file == str(Path("pol/policy.yaml")) and e.location.line == 4
    assert len(e.related) == 1 and e.related[0].file == str(Path("pol/tiers.yaml")) and e.related[0].line == 6


def test_each_misused_parameter_is_reported_once_per_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "pol"
    d.mkdir()
    (d / "policy.yaml").write_text(HEAD + textwrap.dedent("""\
        params:
          cut: high
        segments:
          size:
            values: {big: Big, small: Small}
            default: small
            rows:
              - {id: a, when: transactions.annual_revenue >= params.cut, then: big}
              - {id: b, when: transactions.annual_profit >= params.cut, then: big}
        """), encoding="utf-8")
    e = error_of("pol")
    located = [(x.location.line if x.location else None, tuple(r.line for r in x.related)) for x in e.errors]
    assert located == [(3, (9,)), (3, (10,))]


def test_a_misfit_that_is_not_the_parameters_stays_at_its_use(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    policy_dir(tmp_path, "params:\n  cut: 0.5\n", "transactions.annual_profit > 'high'")
    e = error_of("pol")
    assert e.location is not None and e.location.file == str(Path("pol/tiers.yaml")) and e.related == ()


def test_a_parameter_inherited_from_a_base_policy_is_reported_in_the_base(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(HEAD + "params:\n  cut: high\n", encoding="utf-8")
    (tmp_path / "child.yaml").write_text(
        HEAD + "extends: base.yaml\n" + TIERS.replace("{when}", "transactions.annual_profit > params.cut"),
        encoding="utf-8")
    e = error_of("child.yaml")
    assert e.location is not None and (e.location.file, e.location.line) == ("base.yaml", 3)
    assert [(r.file, r.line) for r in e.related] == [("child.yaml", 8)]
