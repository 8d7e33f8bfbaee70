"""Inline SVG bar charts for the HTML reports (no scripts, no external resources)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

LABEL_W, BAR_W, VALUE_W, ROW_H, BAR_H = 170, 430, 200, 24, 15


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: a value, its series name and its CSS class."""

    value: int
    series: str
    css: str


def stacked_bars(rows: list[tuple[str, list[Segment]]], title: str) -> str:
    """Horizontal stacked bars, one per row, lengths proportional to the row totals.

    A non-zero segment is at least 2 px wide, so that a few quarantined rows stay visible.
    """
    top = max((sum(s.value for s in segs) for _, segs in rows), default=0) or 1
    height = ROW_H * len(rows) + 30
    width = LABEL_W + BAR_W + VALUE_W
    parts = [_open(width, height, title)]
    for i, (label, segs) in enumerate(rows):
        y = 6 + i * ROW_H
        parts.append(_label(label, y))
        x = float(LABEL_W)
        for seg in segs:
            if seg.value <= 0:
                continue
            w = max(2.0, BAR_W * seg.value / top)
            parts.append(f'<rect class="{seg.css}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                         f'height="{BAR_H}"><title>{escape(label)}: {seg.value} '
                         f'{escape(seg.series)}</title></rect>')
            x += w
        total = sum(s.value for s in segs)
        detail = " / ".join(str(s.value) for s in segs)
        parts.append(f'<text class="value" x="{x + 6:.1f}" y="{y + 12}">{total} ({detail})'
                     "</text>")
    parts.append(_legend([s for s in rows[0][1]] if rows else [], height - 14))
    parts.append("</svg>")
    return "".join(parts)


def bars(rows: list[tuple[str, int]], title: str, css: str = "bar") -> str:
    """Simple horizontal bars with their values."""
    top = max((v for _, v in rows), default=0) or 1
    height = ROW_H * len(rows) + 10
    parts = [_open(LABEL_W + BAR_W + VALUE_W, height, title)]
    for i, (label, value) in enumerate(rows):
        y = 6 + i * ROW_H
        w = max(2.0, BAR_W * value / top) if value else 0.0
        parts.append(_label(label, y))
        parts.append(f'<rect class="{css}" x="{LABEL_W}" y="{y}" width="{w:.1f}" '
                     f'height="{BAR_H}"><title>{escape(label)}: {value}</title></rect>')
        parts.append(f'<text class="value" x="{LABEL_W + w + 6:.1f}" y="{y + 12}">{value}'
                     "</text>")
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>')


def _label(label: str, y: int) -> str:
    short = label if len(label) <= 24 else label[:23] + "…"
    return (f'<text class="label" x="{LABEL_W - 8}" y="{y + 12}" text-anchor="end">'
            f"{escape(short)}</text>")


def _legend(segments: list[Segment], y: int) -> str:
    parts, x = [], LABEL_W
    for seg in segments:
        parts.append(f'<rect class="{seg.css}" x="{x}" y="{y}" width="12" height="10"/>'
                     f'<text class="legend" x="{x + 16}" y="{y + 9}">{escape(seg.series)}</text>')
        x += 26 + 7 * len(seg.series)
    return "".join(parts)
