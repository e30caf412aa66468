"""Charts drawn on the server as SVG: no JavaScript, readable in Chinese, accessible.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (named by
``aria-labelledby``) and a ``<title>`` on every bar and point, so a screen reader (and a
mouse hovering) gets the exact figure; the pages show the same numbers in a table too.
All text is escaped here; the result is safe to mark up as :class:`markupsafe.Markup`.

- :func:`bar_chart`: horizontal bars, one per label (long Chinese names fit on the left).
- :func:`line_chart`: one line per series over the same x labels (gaps where None).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
FONT_SIZE = 13
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#d9dee3"
# colour-blind-safe palette (Okabe-Ito), dark enough against white for the lines
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
BAR = "#1565c0"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None: nothing to draw) and the text shown at its end."""

    label: str
    value: float | None
    text: str
    color: str = BAR


@dataclass(frozen=True)
class Series:
    """One line of a line chart: its name and one value per x label (None: a gap)."""

    name: str
    values: Sequence[float | None]


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """Roughly how wide ``text`` is drawn: wide (CJK) characters a full em, others ~0.6."""
    return sum(
        size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.6 for ch in text
    )


def fit(text: str, width: float, size: int = FONT_SIZE) -> str:
    """``text`` cut with an ellipsis to fit ``width``."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _open(width: float, height: float, title: str, description: str) -> tuple[str, list[str]]:
    n = next(_ids)
    tid, did = f"chart-{n}-title", f"chart-{n}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="{tid} {did}" font-family="{FONT}" font-size="{FONT_SIZE}">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<desc id="{did}">{escape(description)}</desc>',
    ]
    return tid, parts


def _empty(title: str, description: str, message: str, width: int) -> Markup:
    _, parts = _open(width, 60, title, description)
    parts.append(f'<text x="10" y="35" fill="{MUTED}">{escape(message)}</text></svg>')
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)


def bar_chart(
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    maximum: float | None = None,
    empty: str = "",
    width: int = 640,
) -> Markup:
    """Horizontal bars from 0 to ``maximum`` (default: the largest value)."""
    if not bars:
        return _empty(title, description, empty, width)
    row, pad = 28, 12
    label_w = min(max(text_width(b.label) for b in bars) + 8, width * 0.4)
    text_w = max(text_width(b.text) for b in bars) + 8
    plot_x, plot_w = pad + label_w, width - 2 * pad - label_w - text_w
    top = pad
    height = top + row * len(bars) + pad
    top_value = maximum if maximum is not None else max((b.value or 0) for b in bars)
    top_value = top_value or 1
    _, parts = _open(width, height, title, description)
    parts.append(
        f'<line x1="{plot_x:.1f}" y1="{top}" x2="{plot_x:.1f}" y2="{height - pad}" '
        f'stroke="{GRID}"/>'
    )
    for i, bar in enumerate(bars):
        y = top + i * row
        mid = y + row / 2
        share = max(0.0, min(1.0, (bar.value or 0) / top_value))
        length = plot_w * share
        parts.append("<g>")
        parts.append(f"<title>{escape(bar.label)}：{escape(bar.text)}</title>")
        parts.append(
            f'<text x="{plot_x - 6:.1f}" y="{mid:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{INK}">{escape(fit(bar.label, label_w - 8))}</text>'
        )
        if bar.value is not None:
            parts.append(
                f'<rect x="{plot_x:.1f}" y="{y + 5:.1f}" width="{length:.1f}" '
                f'height="{row - 10}" fill="{escape(bar.color)}" rx="2"/>'
            )
        parts.append(
            f'<text x="{plot_x + length + 6:.1f}" y="{mid:.1f}" dominant-baseline="middle" '
            f'fill="{INK if bar.value is not None else MUTED}">{escape(bar.text)}</text>'
        )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)


def line_chart(
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    maximum: float = 1.0,
    percent: bool = True,
    empty: str = "",
    width: int = 640,
) -> Markup:
    """Lines over ``x_labels`` from 0 to ``maximum``, a legend under the plot."""
    if not series or not x_labels:
        return _empty(title, description, empty, width)
    pad, axis_w, plot_h, x_h = 12, 48, 200, 28
    legend_rows = len(series)
    height = pad + plot_h + x_h + legend_rows * 20 + pad
    plot_x, plot_w = pad + axis_w, width - 2 * pad - axis_w - 10
    _, parts = _open(width, height, title, description)

    def y_of(value: float) -> float:
        return pad + plot_h * (1 - max(0.0, min(1.0, value / (maximum or 1))))

    def label(value: float) -> str:
        return f"{value * 100:.0f}%" if percent else f"{value:g}"

    for k in range(5):  # grid lines at 0, 25, 50, 75, 100 %
        grid_value = maximum * k / 4
        y = y_of(grid_value)
        parts.append(
            f'<line x1="{plot_x}" y1="{y:.1f}" x2="{plot_x + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
            f'<text x="{plot_x - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{MUTED}">{escape(label(grid_value))}</text>'
        )
    step = plot_w / max(len(x_labels) - 1, 1)
    xs = [plot_x + i * step for i in range(len(x_labels))]
    for x, text in zip(xs, x_labels, strict=True):
        parts.append(
            f'<text x="{x:.1f}" y="{pad + plot_h + 18}" text-anchor="middle" '
            f'fill="{MUTED}">{escape(text)}</text>'
        )
    for n, line in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        parts.append(f"<g><title>{escape(line.name)}</title>")
        segment: list[str] = []
        segments: list[list[str]] = []
        for x, value in zip(xs, line.values, strict=True):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x:.1f},{y_of(value):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                    f'stroke-width="2.5"/>'
                )
        for x, value, week in zip(xs, line.values, x_labels, strict=True):
            if value is not None:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y_of(value):.1f}" r="4" fill="{color}">'
                    f"<title>{escape(line.name)} {escape(week)}：{escape(label(value))}</title>"
                    "</circle>"
                )
        parts.append("</g>")
        legend_y = pad + plot_h + x_h + n * 20 + 10
        parts.append(
            f'<rect x="{plot_x}" y="{legend_y - 6}" width="14" height="4" fill="{color}"/>'
            f'<text x="{plot_x + 20}" y="{legend_y}" dominant-baseline="middle" '
            f'fill="{INK}">{escape(line.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)
