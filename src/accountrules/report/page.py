"""One self-contained HTML document: inline CSS (with a print stylesheet), inline SVG, no script.

Each section is a chart beside a table of the same figures; explanations sit in ``<details>``
so they open without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from accountrules.i18n import gettext_for

CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:1.5rem auto;
max-width:1200px;color:#1d1d1d;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:2px solid #3b6ea5;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
.meta{color:#555}.chart{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start;margin:.5rem 0 1rem}
.chart figure{margin:0;flex:0 1 auto;max-width:100%}.chart svg{max-width:100%;height:auto}
svg text{font-size:12px;fill:#1d1d1d}svg text.on{fill:#fff;font-weight:600}svg text.small{font-size:10px}
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #ccc;padding:.15rem .45rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#eef2f7}caption{text-align:left;
font-weight:600;padding:.2rem 0}.note{background:#fff6e0;border-left:4px solid #e0a030;padding:.4rem .7rem}
details{margin:.3rem 0}summary{cursor:pointer;color:#3b6ea5}pre{white-space:pre-wrap;font-size:.8rem;
background:#f6f6f6;padding:.4rem}.big{font-size:1.4rem;font-weight:700}
@media print{body{max-width:none;margin:0;font-size:10pt}h2{break-before:auto;break-after:avoid}
section{break-inside:avoid-page}.chart{break-inside:avoid}details>*{display:block}
details:not([open])>:not(summary){display:block}summary{color:#000}a{color:#000;text-decoration:none}}
"""


@dataclass
class Table:
    caption: str
    head: Sequence[str]
    rows: Sequence[Sequence[object]]

    def html(self) -> str:
        head = "".join(f"<th scope=\"col\">{escape(h)}</th>" for h in self.head)
        body = []
        for r in self.rows:
            cells = []
            for k, v in enumerate(r):
                if isinstance(v, Raw):
                    cells.append(f"<td>{v.html}</td>")
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    cells.append(f'<td class="n">{_num(v)}</td>')
                elif k == 0:
                    cells.append(f'<th scope="row">{escape(str(v))}</th>')
                else:
                    cells.append(f"<td>{escape(str(v))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return (f'<table class="figures"><caption>{escape(self.caption)}</caption><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>')


@dataclass(frozen=True)
class Raw:
    """Trusted HTML built here (already escaped)."""

    html: str


def _num(v: float) -> str:
    if isinstance(v, int) or abs(v - round(v)) < 1e-9:
        return f"{round(v):,}"
    return f"{v:,.2f}"


@dataclass
class Block:
    """A chart (SVG) and the table of its figures, under a sub-heading."""

    heading: str
    svg: str
    table: Table
    key: str = ""


@dataclass
class Section:
    key: str
    title: str
    about: str
    blocks: list[Block] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # trusted HTML after the blocks
    notes: list[str] = field(default_factory=list)


def details(summary: str, body: str) -> str:
    return f"<details><summary>{escape(summary)}</summary><pre>{escape(body)}</pre></details>"


def render(title: str, lang: str, meta: Sequence[tuple[str, str]], sections: Sequence[Section],
           notes: Sequence[str] = ()) -> str:
    _ = gettext_for(lang)
    about = _("How to read this")
    out = [f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{escape(title)}</title><style>{CSS}</style></head><body><header><h1>{escape(title)}</h1>"
           '<p class="meta">' + " · ".join(f"{escape(k)}: {escape(v)}" for k, v in meta) + "</p>"]
    out += [f'<p class="note">{escape(n)}</p>' for n in notes]
    out.append('<nav><ul>' + "".join(f'<li><a href="#{s.key}">{escape(s.title)}</a></li>' for s in sections)
               + "</ul></nav></header><main>")
    for s in sections:
        out.append(f'<section id="{s.key}" aria-labelledby="{s.key}-h"><h2 id="{s.key}-h">{escape(s.title)}</h2>')
        out.append(f"<details><summary>{escape(about)}</summary><p>{escape(s.about)}</p></details>")
        out += [f'<p class="note">{escape(n)}</p>' for n in s.notes]
        for b in s.blocks:
            out.append(f'<div class="chart" data-chart="{escape(b.key)}"><figure><figcaption><h3>'
                       f"{escape(b.heading)}</h3></figcaption>{b.svg}</figure>{b.table.html()}</div>")
        out += s.extra
        out.append("</section>")
    out.append("</main></body></html>\n")
    return "".join(out)
