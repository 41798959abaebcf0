"""Every ``python`` and ``sh`` block of the README and of docs/*.md runs as written.

They run in a scratch folder that holds the repository's ``rulesets/`` and ``examples/`` and the
placeholder files the pages name (``accounts.csv``, ``orders.csv``, ``my-changed/express``), so what
they write stays there. An install command (``pip install ...``) is left out: this environment has
the test extra, which holds every other extra. A block that is not meant to run says so in an
``<!-- not-run: reason -->`` line just above it; that is rare, and tested to stay rare.
``console`` blocks are transcripts (a ``$`` command and its output), not programs.

README's and docs/embedding.md's Python blocks have their own tests (tests/test_readme.py runs them
after their own install, also on a fresh install in CI; tests/test_embedding_doc.py checks their output).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OWN_TESTS = {"README.md": "test_readme.py", "embedding.md": "test_embedding_doc.py"}  # Python blocks only
RUNNABLE = ("python", "sh")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
NOT_RUN = re.compile(r"<!-- not-run: (\S.*?) -->\s*\Z")
INSTALL = re.compile(r"^\s*(?:python -m )?pip install [^&\n]*(?:&&\s*)?", re.M)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    not_run: str | None  # the reason given in the marker above the block

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks() -> list[Block]:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            before = text[:m.start()]
            marker = NOT_RUN.search(before)
            out.append(Block(page.name, before.count("\n") + 1, m.group(1), m.group(2),
                             marker.group(1) if marker else None))
    return out


BLOCKS = blocks()


def _runs() -> list[Block]:
    out: list[Block] = []
    for b in BLOCKS:
        if b.lang not in RUNNABLE or b.not_run is not None or (b.lang == "python" and b.page in OWN_TESTS):
            continue
        if any(b.code == seen.code for seen in out):  # the zh and en guides show the same commands: run once
            continue
        out.append(b)
    return out


RUN = _runs()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder where the pages' relative paths exist, and where whatever they write lands."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    shutil.copytree(ROOT / "rulesets", tmp_path / "rulesets")
    shutil.copytree(ROOT / "rulesets" / "express", tmp_path / "my-changed" / "express")
    shutil.copy(ROOT / "examples" / "portfolio" / "accounts.csv", tmp_path / "accounts.csv")
    (tmp_path / "orders.csv").write_text(
        "account_id,date,amount\nKA-001,2026-01-05,1200.5\nKA-001,2026-03-02,800\nKA-002,2026-02-11,90\n",
        encoding="utf-8")
    return tmp_path


def run_env() -> dict[str, str]:
    # the console script of this interpreter's environment comes first
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_pages_have_runnable_blocks() -> None:
    assert len(RUN) >= 12
    assert {b.page for b in RUN} >= {"README.md", "batch.md", "report.md", "owners-guide-en.md", "index.md"}
    ran = {b.code for b in RUN}
    for b in BLOCKS:  # the zh guide's commands are the en guide's, so they run once, as the en guide's
        if b.page == "owners-guide-zh.md" and b.lang in RUNNABLE:
            assert b.code in ran, b.id


def test_not_run_markers_are_rare_and_say_why() -> None:
    runnable = [b for b in BLOCKS if b.lang in RUNNABLE]
    marked = [b for b in runnable if b.not_run is not None]
    assert len(marked) <= max(2, len(runnable) // 8), [b.id for b in marked]
    assert all(len(b.not_run or "") >= 20 for b in marked), "a marker gives its reason"


def test_every_fenced_block_names_its_language() -> None:
    """A block without a language would escape this test; a console block is a transcript."""
    unnamed = [b.id for b in BLOCKS if not b.lang]
    assert unnamed == [], "give these blocks a language (python, sh, yaml, text, console)"
    for b in BLOCKS:
        if b.lang == "console":
            assert b.code.startswith("$ "), f"{b.id}: a console block starts with the command"


def test_pages_with_their_own_snippet_tests_have_them() -> None:
    for test in OWN_TESTS.values():
        assert (ROOT / "tests" / test).is_file()


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_block_runs(block: Block, workspace: Path) -> None:
    if block.lang == "python":
        if 'engine="durable"' in block.code and importlib.util.find_spec("durable") is None:
            pytest.skip("needs durable_rules (extra durable), not installed here")
        script = workspace / "snippet.py"
        script.write_text(block.code, encoding="utf-8")
        command = [sys.executable, str(script)]
    else:
        code = INSTALL.sub("", block.code)
        if not re.search(r"^\s*[^#\s]", code, re.M):
            pytest.skip("an install command only")
        # the property checks as the page writes them, with fewer examples (the full run: ACCOUNTRULES_SLOW=1)
        if not os.environ.get("ACCOUNTRULES_SLOW"):
            code = re.sub(r"^(accountrules check \S+)", r"\1 --examples 5", code, flags=re.M)
        command = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(command, cwd=workspace, capture_output=True, text=True, timeout=300, env=run_env())
    assert done.returncode == 0, f"{block.id}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr


def test_the_owners_guide_quotes_the_error_the_loader_gives(tmp_path: Path) -> None:
    """The parameter error both guides show is the one a wrong value gives today, line numbers included."""
    shutil.copytree(ROOT / "rulesets", tmp_path / "rulesets")
    policy = tmp_path / "rulesets" / "express" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert text.count("platinum_min_percentile: 0.80 ") == 1
    policy.write_text(text.replace("platinum_min_percentile: 0.80 ", "platinum_min_percentile: high "),
                      encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "accountrules", "lint", "rulesets/express"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    for page in ("owners-guide-en.md", "owners-guide-zh.md"):
        quoted = next(b.code for b in BLOCKS if b.page == page and "type error: parameter" in b.code)
        assert quoted.strip() in done.stderr, f"{page} quotes an error the loader no longer gives"


@pytest.mark.parametrize("page", ["owners-guide-en.md", "owners-guide-zh.md"])
def test_the_owners_guides_yaml_is_valid_under_the_shipped_schemas(page: str) -> None:
    """The YAML an owner copies from the guide is a valid policy fragment or case file."""
    import jsonschema
    import yaml

    from accountrules.json_schema import schema

    checked = 0
    for block in (b for b in BLOCKS if b.page == page and b.lang == "yaml"):
        data = yaml.safe_load(block.code)
        if data is None:  # only a comment (the modeline)
            continue
        kind = "case" if "cases" in data else "policy"
        errors = list(jsonschema.Draft7Validator(schema(kind)).iter_errors(data))
        assert errors == [], f"{block.id}: {errors[0].message}"
        checked += 1
    assert checked >= 3
