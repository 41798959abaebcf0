"""Inline SVG charts drawn in Python: no JavaScript, no fonts or files fetched, prints as vectors.

Every chart is an ``<svg role="img">`` with a ``<title>`` (read by screen readers) and its data
marks carry ``class="mark"``; the page puts the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#3b6ea5", "#e07b39", "#5a9e6f", "#c4474d", "#8a6bb8", "#8c6d4f", "#d47fb3", "#7f7f7f",
           "#b5b83b", "#3bb5c4")
ROW_H = 22
LABEL_W = 250
MAX_LABEL = 34


def _svg(width: int, height: int, title: str, body: str) -> str:
    return (f'<svg role="img" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}"><title>{escape(title)}</title>{body}</svg>')


def _fmt(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return f"{round(v):,}"
    return f"{v:,.2f}"


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, width: int = 560,
         colors: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per label, with the value written at the end of each."""
    top = max((abs(v) for v in values), default=0.0) or 1.0
    span = width - LABEL_W - 90
    parts = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = 6 + i * ROW_H
        w = max(1.0, span * abs(v) / top) if v else 0.0
        color = (colors[i] if colors else PALETTE[0])
        short = lab if len(lab) <= MAX_LABEL else lab[: MAX_LABEL - 1] + "…"
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(short)}</text>'
                     f'<rect class="mark" x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 6}" '
                     f'fill="{color}"><title>{escape(lab)}: {_fmt(v)}</title></rect>'
                     f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 15}">{_fmt(v)}</text>')
    return _svg(width, 12 + ROW_H * max(1, len(labels)), title, "".join(parts))


def pyramid(title: str, labels: Sequence[str], values: Sequence[float], *, width: int = 420) -> str:
    """The customer pyramid: top tier first, each layer wider than the one above (the shape is the
    ranking; the count is written on the layer and in the table)."""
    parts = []
    n = max(1, len(labels))
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        w = (width - 20) * (0.35 + 0.65 * (i + 1) / n)
        y = 6 + i * 30
        parts.append(f'<rect class="mark" x="{(width - w) / 2:.1f}" y="{y}" width="{w:.1f}" height="26" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(lab)}: {_fmt(v)}</title></rect>'
                     f'<text x="{width / 2}" y="{y + 18}" text-anchor="middle" class="on">'
                     f'{escape(lab)} · {_fmt(v)}</text>')
    return _svg(width, 12 + 30 * max(1, len(labels)), title, "".join(parts))


def curve(title: str, points: Sequence[tuple[float, float]], *, mark_x: float | None = None,
          mark_y: float | None = None, x_label: str = "", y_label: str = "", size: int = 320) -> str:
    """A cumulative-share curve on the unit square, with the diagonal and one marked point."""
    pad = 40
    s = size - 2 * pad

    def xy(x: float, y: float) -> str:
        return f"{pad + x * s:.1f},{pad + (1 - y) * s:.1f}"

    path = " ".join(xy(x, y) for x, y in points)
    body = [f'<rect x="{pad}" y="{pad}" width="{s}" height="{s}" fill="none" stroke="#999"/>',
            f'<polyline points="{xy(0, 0)} {xy(1, 1)}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>',
            f'<polyline class="mark" points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>']
    for t in (0.2, 0.4, 0.6, 0.8):
        body.append(f'<text x="{pad + t * s:.1f}" y="{size - pad + 14}" text-anchor="middle">{t:.1f}</text>'
                    f'<text x="{pad - 4}" y="{pad + (1 - t) * s + 4:.1f}" text-anchor="end">{t:.1f}</text>')
    if mark_x is not None and mark_y is not None:
        cx, cy = xy(mark_x, mark_y).split(",")
        body.append(f'<circle class="mark" cx="{cx}" cy="{cy}" r="5" fill="{PALETTE[1]}">'
                    f'<title>{mark_x:.0%} → {mark_y:.1%}</title></circle>'
                    f'<text x="{float(cx) + 8:.1f}" y="{float(cy) + 14:.1f}">{mark_y:.1%}</text>')
    body.append(f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle">{escape(x_label)}</text>'
                f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" '
                f'text-anchor="middle">{escape(y_label)}</text>')
    return _svg(size, size, title, "".join(body))


def heatmap(title: str, rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]], *,
            notes: Sequence[Sequence[str]] | None = None, cell: int = 64, row_label_w: int = 150) -> str:
    """A matrix of cells shaded by value; each cell shows its value (and an optional note)."""
    top = max((v for r in values for v in r), default=0.0) or 1.0
    head = 40
    w = row_label_w + cell * len(cols) + 8
    h = head + cell * len(rows) + 8
    parts = [f'<text x="{row_label_w + j * cell + cell / 2}" y="{head - 8}" text-anchor="middle">'
             f'{escape(c)}</text>' for j, c in enumerate(cols)]
    for i, r in enumerate(rows):
        y = head + i * cell
        parts.append(f'<text x="{row_label_w - 6}" y="{y + cell / 2 + 4}" text-anchor="end">{escape(r)}</text>')
        for j, v in enumerate(values[i]):
            x = row_label_w + j * cell
            alpha = 0.08 + 0.85 * v / top if v else 0.0
            note = notes[i][j] if notes else ""
            parts.append(f'<rect class="mark" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="{PALETTE[0]}" fill-opacity="{alpha:.2f}" stroke="#ddd">'
                         f'<title>{escape(r)} × {escape(cols[j])}: {_fmt(v)}'
                         f'{" · " + escape(note) if note else ""}</title></rect>'
                         f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2}" text-anchor="middle" '
                         f'class="{"on" if alpha > 0.5 else ""}">{_fmt(v)}</text>')
            if note:
                parts.append(f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 14}" text-anchor="middle" '
                             f'class="small{" on" if alpha > 0.5 else ""}">{escape(note[:12])}</text>')
    return _svg(w, h, title, "".join(parts))


def funnel(title: str, labels: Sequence[str], values: Sequence[float], *, width: int = 480) -> str:
    """Stages as stacked trapezoid-like bars narrowing with the count."""
    top = max(values, default=0.0) or 1.0
    parts = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        w = max(2.0, (width - 20) * v / top) if v else 0.0
        y = 6 + i * 34
        x0 = (width - w) / 2
        parts.append(f'<polygon class="mark" points="{x0:.1f},{y} {x0 + w:.1f},{y} {x0 + w - 6:.1f},{y + 30} '
                     f'{x0 + 6:.1f},{y + 30}" fill="{PALETTE[i % len(PALETTE)]}">'
                     f'<title>{escape(lab)}: {_fmt(v)}</title></polygon>'
                     f'<text x="{width / 2}" y="{y + 20}" text-anchor="middle" class="on">{escape(lab)} · '
                     f'{_fmt(v)}</text>')
    return _svg(width, 12 + 34 * max(1, len(labels)), title, "".join(parts))


def timeline(title: str, days: Sequence[int], values: Sequence[float], *, horizon: int = 90,
             overdue_label: str = "overdue", width: int = 640) -> str:
    """Columns per day from today (0) to ``horizon``; work due before today is one red column on the left."""
    h = 180
    left = 60
    span = width - left - 20
    top = max(values, default=0.0) or 1.0
    step = span / (horizon + 2)
    parts = [f'<line x1="{left}" y1="{h - 30}" x2="{width - 10}" y2="{h - 30}" stroke="#999"/>']
    over = sum(v for d, v in zip(days, values, strict=True) if d < 0)
    if over:
        bh = (h - 50) * over / top
        parts.append(f'<rect class="mark overdue" x="{left - step * 1.5:.1f}" y="{h - 30 - bh:.1f}" '
                     f'width="{max(step, 4):.1f}" height="{bh:.1f}" fill="{PALETTE[3]}">'
                     f'<title>{escape(overdue_label)}: {_fmt(over)}</title></rect>'
                     f'<text x="{left - step}" y="{h - 14}" text-anchor="middle" class="small">'
                     f'{escape(overdue_label)}</text>')
    for d, v in zip(days, values, strict=True):
        if d < 0 or d > horizon:
            continue
        bh = (h - 50) * v / top
        x = left + (d + 0.5) * step
        parts.append(f'<rect class="mark" x="{x:.1f}" y="{h - 30 - bh:.1f}" width="{max(step - 1, 2):.1f}" '
                     f'height="{bh:.1f}" fill="{PALETTE[0]}"><title>+{d}: {_fmt(v)}</title></rect>')
    for t in range(0, horizon + 1, 15):
        parts.append(f'<text x="{left + (t + 0.5) * step:.1f}" y="{h - 14}" text-anchor="middle" '
                     f'class="small">+{t}</text>')
    return _svg(width, h, title, "".join(parts))
