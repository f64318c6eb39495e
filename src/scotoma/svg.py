"""Charts as inline SVG strings, drawn here in Python: the report and the probe's summary.html need no
plotting library, no script and no network to show them. Each chart is an <svg class="chart"
data-chart=NAME> with a <title>; series keep one colour per name across charts (`color`). Missing
values (nan) are drawn as 0 and marked "n/a" in the tooltips (<title> of each point).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
_FONT = 'font-family="system-ui,sans-serif"'


def color(index: int) -> str:
    """The colour of the index-th series."""
    return PALETTE[index % len(PALETTE)]


def _num(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _open(name: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" {_FONT} font-size="11">'
        f"<title>{escape(title)}</title>"
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">'
        f"{escape(title)}</text>"
    )


def legend(names: Sequence[str], x: float, y: float) -> str:
    """A vertical legend of coloured squares, one per series name."""
    parts = []
    for i, name in enumerate(names):
        parts.append(
            f'<rect x="{x}" y="{y + 16 * i}" width="10" height="10" fill="{color(i)}"/>'
            f'<text x="{x + 14}" y="{y + 16 * i + 9}">{escape(name)}</text>'
        )
    return "".join(parts)


def radar(
    name: str, title: str, axes: Sequence[str], series: Mapping[str, Sequence[float]], digits: int = 2
) -> str:
    """One polygon per series over `axes` (3 or more), scaled to the largest value; rings at 25% steps."""
    width, height, cx, cy, radius = 540, 360, 250, 195, 130
    top = max([_num(v) for values in series.values() for v in values] + [1e-9])
    n = len(axes)

    def point(i: int, fraction: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + radius * fraction * math.cos(angle), cy + radius * fraction * math.sin(angle)

    parts = [_open(name, title, width, height)]
    for ring in (0.25, 0.5, 0.75, 1.0):
        ring_points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{ring_points}" fill="none" stroke="#ddd"/>')
    for i, axis in enumerate(axes):
        x, y = point(i, 1.0)
        lx, ly = point(i, 1.12)
        anchor = "middle" if abs(lx - cx) < 10 else ("start" if lx > cx else "end")
        parts.append(f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="#ccc"/>')
        parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">{escape(axis)}</text>')
    parts.append(f'<text x="{cx + 3}" y="{cy - radius - 2}" fill="#888">{_fmt(top, digits)}</text>')
    for s, (label, values) in enumerate(series.items()):
        points = [point(i, _num(v) / top) for i, v in enumerate(values)]
        text = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polygon class="series" data-series="{escape(label)}" points="{text}" fill="{color(s)}" '
            f'fill-opacity="0.12" stroke="{color(s)}" stroke-width="2"/>'
        )
        for (x, y), axis, v in zip(points, axes, values, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color(s)}">'
                f"<title>{escape(label)} - {escape(axis)}: {_fmt(v, digits)}</title></circle>"
            )
    parts.append(legend(list(series), 430, 40))
    return "".join(parts) + "</svg>"


def ticks(top: float, count: int = 5) -> list[float]:
    """Round values from 0 up to `top` for axis labels, about `count` of them: steps of 1, 2 or 5 x 10^k."""
    if not top > 0:
        return [0.0]
    raw = top / (count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    return [step * i for i in range(int(top / step + 1e-9) + 1)]


def _axes(x0: float, y0: float, x1: float, y1: float, y_max: float, y_label: str, digits: int) -> str:
    parts = [f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="#444"/>']
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#444"/>')
    for k in range(5):
        value = y_max * k / 4
        y = y1 - (y1 - y0) * k / 4
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value, digits)}</text>')
    parts.append(
        f'<text x="14" y="{(y0 + y1) / 2}" transform="rotate(-90 14 {(y0 + y1) / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return "".join(parts)


def line_chart(
    name: str,
    title: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    digits: int = 2,
) -> str:
    """Lines of (x, y) points, one per series, over shared axes from 0; both axes carry labelled ticks
    (`digits` decimals on the y axis)."""
    width, height, x0, y0, x1, y1 = 620, 320, 60, 30, 470, 280
    points = [p for values in series.values() for p in values]
    x_top = max([p[0] for p in points] + [1.0])
    y_top = y_max or max([_num(p[1]) for p in points] + [1e-9])
    parts = [_open(name, title, width, height), _axes(x0, y0, x1, y1, y_top, y_label, digits)]
    parts.append(f'<text x="{(x0 + x1) / 2}" y="{height - 8}" text-anchor="middle">{escape(x_label)}</text>')
    for value in ticks(x_top):
        x = x0 + (x1 - x0) * value / x_top
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y1 + 4}" stroke="#444"/>')
        parts.append(f'<text x="{x:.1f}" y="{y1 + 16}" text-anchor="middle">{value:g}</text>')
    for s, (label, values) in enumerate(series.items()):
        xy = [(x0 + (x1 - x0) * x / x_top, y1 - (y1 - y0) * _num(y) / y_top) for x, y in values]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(
            f'<polyline class="series" data-series="{escape(label)}" points="{path}" fill="none" '
            f'stroke="{color(s)}" stroke-width="2"/>'
        )
        for (x, y), (raw_x, raw_y) in zip(xy, values, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color(s)}">'
                f"<title>{escape(label)}: {_fmt(raw_y, digits)} at {raw_x:g}</title></circle>"
            )
    parts.append(legend(list(series), x1 + 15, 40))
    return "".join(parts) + "</svg>"


def bar_chart(
    name: str,
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    y_label: str,
    digits: int = 2,
) -> str:
    """Grouped bars: one group per category, one bar per series."""
    width = max(420, 120 + len(categories) * (18 * max(1, len(series)) + 22))
    height, x0, y0, y1 = 320, 60, 30, 260
    x1 = width - 150
    y_top = max([_num(v) for values in series.values() for v in values] + [1e-9])
    group = (x1 - x0) / max(1, len(categories))
    bar = min(18.0, (group - 10) / max(1, len(series)))
    parts = [_open(name, title, width, height), _axes(x0, y0, x1, y1, y_top, y_label, digits)]
    for c, category in enumerate(categories):
        gx = x0 + group * c + (group - bar * len(series)) / 2
        cx = x0 + group * (c + 0.5)
        parts.append(f'<text x="{cx:.1f}" y="{y1 + 14}" text-anchor="middle">{escape(category)}</text>')
        for s, (label, values) in enumerate(series.items()):
            h = (y1 - y0) * _num(values[c]) / y_top
            tip = f"{escape(label)} - {escape(category)}: {_fmt(values[c], digits)}"
            parts.append(
                f'<rect class="bar" x="{gx + bar * s:.1f}" y="{y1 - h:.1f}" width="{bar - 1:.1f}" '
                f'height="{h:.1f}" fill="{color(s)}"><title>{tip}</title></rect>'
            )
    parts.append(legend(list(series), x1 + 15, 40))
    return "".join(parts) + "</svg>"


def heatmap(
    name: str, title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]]
) -> str:
    """A rows x columns grid shaded from white (0) to dark blue (the largest value)."""
    cell_w, cell_h, left, top = 34, 18, 190, 40
    width = left + cell_w * len(columns) + 20
    height = top + cell_h * len(rows) + 40
    peak = max([_num(v) for row in values for v in row] + [1e-9])
    parts = [_open(name, title, width, height)]
    for r, label in enumerate(rows):
        y = top + cell_h * r
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>')
        for c, value in enumerate(values[r]):
            shade = _num(value) / peak
            fill = f"rgb({int(255 - 224 * shade)},{int(255 - 136 * shade)},{int(255 - 75 * shade)})"
            tip = f"{escape(label)} - {escape(columns[c])}: {_fmt(value)}"
            parts.append(
                f'<rect class="cell" x="{left + cell_w * c}" y="{y}" width="{cell_w - 1}" '
                f'height="{cell_h - 1}" fill="{fill}"><title>{tip}</title></rect>'
            )
    for c, label in enumerate(columns):
        x = left + cell_w * c + cell_w / 2
        parts.append(
            f'<text x="{x}" y="{top + cell_h * len(rows) + 14}" text-anchor="middle">{escape(label)}</text>'
        )
    return "".join(parts) + "</svg>"
