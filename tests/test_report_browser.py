"""The report in a real headless browser (Debian's chromium): it loads with no console error and no
request of its own, every chart section is drawn with marks, and a screenshot per language is
written for a person to look at (``$ACCOUNTRULES_SCREENSHOTS`` or the test's tmp dir)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from accountrules.policy import load_policy
from accountrules.report import report_from_accounts
from report_html import parse

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (.ci/run installs it)")
# what Chromium itself may reach for despite the flags (its own services), never the page's requests
OWN_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|gvt1\.com|googleapis\.com|gstatic\.com)(/|$)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--no-pings", "--disable-default-apps"]


def _chromium(tmp: Path, url: str, *extra: str) -> tuple[str, str, list[str]]:
    """(dumped DOM, stderr log, URLs in the net log) of one headless load of ``url``."""
    assert BROWSER is not None
    net = tmp / f"net-{len(list(tmp.glob('net-*')))}.json"
    profile = tmp / "profile"
    cmd = [BROWSER, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--log-level=0",
           f"--log-net-log={net}", *extra, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    urls = re.findall(r'"url":"([^"]+)"', net.read_text(encoding="utf-8", errors="replace")) if net.exists() else []
    return done.stdout, done.stderr, urls


def _console(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line]


def _with_broken_rows(src: Path, dst: Path) -> None:
    """The example portfolio with two rows the batch refuses, so the data-quality chart has marks too."""
    with src.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows[:2]:
        r["transactions.count"] = "many"
    with dst.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_console_is_captured(tmp_path: Path) -> None:
    """The control: a page that logs an error is seen, so the empty logs below mean something."""
    page = tmp_path / "control.html"
    page.write_text('<html><body><script>console.error("control-error")</script></body></html>', encoding="utf-8")
    _, log, _ = _chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert any("control-error" in line for line in _console(log))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_in_headless_chromium(tmp_path: Path, lang: str) -> None:
    policy = load_policy(ROOT / "rulesets" / "express")
    accounts = tmp_path / "accounts.csv"
    _with_broken_rows(ROOT / "examples" / "portfolio" / "accounts.csv", accounts)
    html = report_from_accounts(policy, accounts, as_of=dt.date(2026, 6, 30), lang=lang)
    page = tmp_path / f"report-{lang}.html"
    page.write_text(html, encoding="utf-8")
    dom, log, urls = _chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert not _console(log), _console(log)
    page_requests = [u for u in urls if not u.startswith(("file:", "data:", "chrome:", "about:"))
                     and not OWN_HOSTS.match(u)]
    assert not page_requests, page_requests
    drawn = parse(dom)
    sent = parse(html)
    assert len(drawn.charts) == len(sent.charts) >= 17
    for chart in drawn.charts:
        assert chart.svgs == 1 and chart.marks > 0, chart.key
    shots = Path(os.environ.get("ACCOUNTRULES_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"report-{lang}.png"
    _chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1280,6000")
    assert shot.exists() and shot.stat().st_size > 10_000
