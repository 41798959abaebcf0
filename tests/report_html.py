"""Reading a report page back in tests: its chart blocks, their tables, and well-formedness."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "circle", "rect", "line", "polyline", "polygon", "path"}


@dataclass
class Chart:
    key: str
    svgs: int = 0
    marks: int = 0
    rows: list[list[str]] = field(default_factory=list)


class ReportParser(HTMLParser):
    """Collects ``div.chart`` blocks (SVGs, marks, table rows), every src/href, and tag balance."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.charts: list[Chart] = []
        self.links: list[str] = []
        self.attrs_seen: dict[str, str] = {}
        self._chart: Chart | None = None
        self._depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for k in ("src", "href", "xlink:href", "action", "data", "poster"):
            if k in a:
                self.links.append(a[k])
        for k, v in a.items():
            if k.startswith("data-"):
                self.attrs_seen[k] = v
        if tag == "div" and "data-chart" in a:
            self._chart = Chart(a["data-chart"])
            self.charts.append(self._chart)
            self._depth = len(self.stack)
        if self._chart is not None:
            if tag == "svg":
                self._chart.svgs += 1
            if "mark" in a.get("class", "").split():
                self._chart.marks += 1
            if tag == "tr":
                self._row = []
            if tag in ("td", "th") and self._row is not None:
                self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if self._chart is not None:
            if tag in ("td", "th") and self._cell is not None and self._row is not None:
                self._row.append(" ".join("".join(self._cell).split()))
                self._cell = None
            elif tag == "tr" and self._row is not None:
                self._chart.rows.append(self._row)
                self._row = None
            elif tag == "div" and len(self.stack) == self._depth:
                self._chart = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> ReportParser:
    p = ReportParser()
    p.feed(html)
    p.close()
    return p


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))
