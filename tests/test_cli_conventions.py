"""Command-line conventions shared by every command: -v / -q before or after the command, exit
codes in each --help, --format json for test and check, progress for check on stderr."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from accountrules.cli import build_parser, log_level, main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small" / "policy.yaml"
COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]

PASSING = """\
cases:
  - name: a loss is lead
    given: {id: A2, transactions: {annual_profit: -5, marketing_cost: 100000}}
    expect: {tier: lead}
"""
FAILING = PASSING.replace("tier: lead", "tier: platinum")


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def policy_dir(tmp_path: Path) -> Path:
    d = tmp_path / "small"
    (d / "tests").mkdir(parents=True)
    shutil.copy(SMALL, d / "policy.yaml")
    return d


def test_the_commands_are_all_there() -> None:
    assert {"decide", "test", "check", "diff", "lint", "features"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_states_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 ok; 1 " in text and "2 could not run" in text
    assert "-q, --quiet" in text and "-v, --verbose" in text


# the smallest argument list each command parses
MINIMAL = {"decide": ["p", "in.csv", "-o", "out.csv"], "test": ["p"], "check": ["p"], "diff": ["a", "b", "c.csv"],
           "lint": ["p"], "features": ["o.csv", "--as-of", "2026-06-30", "-o", "a.csv"],
           "report": ["p", "-o", "r.html"], "backtest": ["p", "o.csv", "--as-of", "2026-06-30", "--horizon", "26w"],
           "schema": ["policy"]}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("flags", "level"), [([], logging.WARNING), (["-v"], logging.INFO),
                                              (["-vv"], logging.DEBUG), (["-q"], logging.ERROR)])
def test_verbosity_before_or_after_the_command(command: str, flags: list[str], level: int) -> None:
    parser = build_parser()
    rest = MINIMAL.get(command, [])
    for argv in ([*flags, command, *rest], [command, *rest, *flags]):
        assert log_level(parser.parse_args(argv)) == level, argv


def test_quiet_and_verbose_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["test", "x", "-q", "-v"])
    assert done.value.code == 2


def test_test_json_matches_the_exit_status(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (policy_dir / "tests" / "a.yaml").write_text(PASSING, encoding="utf-8")
    code, out, _ = run(capsys, "test", policy_dir, "--engine", "compiled", "--format", "json")
    report = json.loads(out)  # stdout is the JSON object and nothing else
    assert code == 0 and report["ok"] is True
    assert (report["passed"], report["failed"], report["errors"]) == (1, 0, 0)
    assert report["policy"]["name"] == "small" and report["engines"] == ["compiled"]
    assert report["cases"][0]["status"] == "PASS" and report["cases"][0]["line"] == 2
    assert report["coverage"]["total"] >= report["coverage"]["covered"] > 0

    (policy_dir / "tests" / "a.yaml").write_text(FAILING, encoding="utf-8")
    code, out, _ = run(capsys, "test", policy_dir, "--engine", "compiled", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["failed"] == 1
    (mismatch,) = report["cases"][0]["mismatches"]
    assert (mismatch["key"], mismatch["expected"], mismatch["actual"]) == ("tier", "platinum", "lead")


def test_quiet_test_prints_only_what_failed(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (policy_dir / "tests" / "a.yaml").write_text(PASSING, encoding="utf-8")
    assert run(capsys, "-q", "test", policy_dir, "--engine", "compiled") == (0, "", "")
    (policy_dir / "tests" / "a.yaml").write_text(FAILING, encoding="utf-8")
    code, out, _ = run(capsys, "test", policy_dir, "--engine", "compiled", "-q")
    assert code == 1
    assert out.startswith("FAIL") and "passed" not in out and "coverage" not in out


def test_check_json_progress_and_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("hypothesis")
    code, out, err = run(capsys, "check", SMALL, "--examples", "5", "--seed", "1", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert [p["name"] for p in report["properties"]] == ["completeness", "determinism", "json round trip"]
    assert {p["status"] for p in report["properties"]} == {"pass"}
    assert err.splitlines() == ["[1/3] completeness", "[2/3] determinism", "[3/3] json round trip"]
    code, out, err = run(capsys, "check", SMALL, "--examples", "5", "--seed", "1", "-q")
    assert (code, out, err) == (0, "", "")


def test_a_missing_policy_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", tmp_path / "nowhere")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no such file or directory" in err and "Traceback" not in err


def test_an_installed_policy_by_name_runs_its_own_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no rulesets/ here: "postal" is the installed one
    code, out, _ = run(capsys, "test", "postal", "--engine", "compiled", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["passed"] > 50
    assert report["coverage"]["percent"] == 100.0


def test_check_leaves_no_files_in_the_working_directory(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "accountrules", "check", str(root / "examples" / "small"),
                           "--examples", "5"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_failure_exits_2_with_its_traceback(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 means findings or refused rows: a bug in any command (not only decide, which had its own guard)
    exited 1 through Python's default handler, which a script reads as "some rows refused"."""
    import accountrules.cli.lint as lint_cli

    def boom(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lint_cli, "run", boom)
    code, out, err = run(capsys, "lint", SMALL)
    assert code == 2
    assert "Traceback" in err and "RuntimeError: a bug" in err and "unexpected failure" in err


# a missing input, the one bad input every command can meet: each names itself in its error line
MISSING_INPUT: dict[str, list[str]] = {
    "backtest": ["express", "{missing}", "--as-of", "2024-01-01", "--horizon", "30d"],
    "check": ["{missing}"],
    "decide": ["express", "{missing}", "-o", "{tmp}/out.csv"],
    "diff": ["express", "{missing}", "{missing}"],
    "features": ["{missing}", "--as-of", "2024-01-01", "-o", "{tmp}/f.csv"],
    "lint": ["{missing}"],
    "report": ["express", "{missing}", "-o", "{tmp}/r.html"],
    "schema": ["policy", "-o", "{tmp}/a-file/schema.json"],  # no input: an output "folder" that is a file
    "test": ["{missing}"],
}


def test_every_command_is_covered_by_the_error_line_test() -> None:
    assert sorted(MISSING_INPUT) == COMMANDS


@pytest.mark.parametrize("lang, word", [("en", "error: "), ("zh", "错误：")])
@pytest.mark.parametrize("command", sorted(MISSING_INPUT))
def test_every_command_names_itself_in_its_one_error_line(command: str, lang: str, word: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # scripts and people reading a log of several commands tell them apart by the prefix, as argparse's own
    # usage errors do; it was missing for test, check and lint and for errors reaching the top-level handler
    missing = str(tmp_path / "no-such-file.csv")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    argv = [a.format(missing=missing, tmp=tmp_path) for a in MISSING_INPUT[command]]
    code, out, err = run(capsys, "--lang", lang, command, *argv)
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"accountrules {command}: {word}"), err
