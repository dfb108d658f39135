"""A loss-curve chart as inline SVG, drawn on the server from the run's history (no JS, no
CDN): one line per loss, its own colour, a shared step axis, y range from the data."""
from __future__ import annotations

import math

from django.utils.html import escape

__all__ = ["loss_curve_svg"]

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
WIDTH, HEIGHT = 640, 260
LEFT, TOP, BOTTOM = 56, 14, 34
FONT_PX = 11
# Wider than any sans-serif's average glyph at FONT_PX (DejaVu Sans, the widest common one,
# averages about 0.6 em), so the legend column is sized without measuring text on the server.
CHAR_PX = 0.7 * FONT_PX
LEGEND_SWATCH = 24  # gap, swatch and gap before a legend label


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / count))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= count:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def loss_curve_svg(history: list[dict[str, float]], keys: list[str] | None = None) -> str:
    """SVG markup for ``history`` (entries {"step": s, name: value, ...}); "" if empty."""
    points = [h for h in history if "step" in h]
    if not points:
        return ""
    keys = keys or [k for k in points[-1] if k != "step" and isinstance(points[-1][k], (int, float))]
    values = [h[k] for h in points for k in keys if isinstance(h.get(k), (int, float)) and math.isfinite(h[k])]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    s0, s1 = points[0]["step"], points[-1]["step"]
    span = max(s1 - s0, 1)
    # the legend column is as wide as its longest label (it was a fixed 120 px: "d_accur")
    right = int(10 + LEGEND_SWATCH + CHAR_PX * max(len(key) for key in keys) + 8)
    width = max(WIDTH, LEFT + 320 + right)
    plot_w, plot_h = width - LEFT - right, HEIGHT - TOP - BOTTOM

    def x(step: float) -> float:
        return LEFT + (step - s0) / span * plot_w

    def y(value: float) -> float:
        return TOP + (hi - value) / (hi - lo) * plot_h

    parts = [
        # scales down with a narrow page instead of running past it (width 100%, at most natural size)
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" '
        f'role="img" aria-label="Loss curves" style="background:#fff;font:{FONT_PX}px sans-serif;'
        f'width:100%;max-width:{width}px;height:auto">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>',
    ]
    for t in _ticks(lo, hi):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#555">{t:.3g}</text>')
    for t in _ticks(s0, s1):
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" fill="#555">{int(t)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle" fill="#333">step</text>')
    for i, key in enumerate(keys):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(
            f"{x(h['step']):.1f},{y(h[key]):.1f}" for h in points if isinstance(h.get(key), (int, float)) and math.isfinite(h[key])
        )
        if coords:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>')
        parts.append(f'<rect x="{width - right + 10}" y="{TOP + 16 * i}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{width - right + LEGEND_SWATCH}" y="{TOP + 9 + 16 * i}" fill="#333">{escape(key)}</text>')
    parts.append("</svg>")
    return "".join(parts)
