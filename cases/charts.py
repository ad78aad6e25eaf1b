"""Server-side SVG charts (no CDN, no script): a bar chart and a line chart, accessible by title/desc."""

from __future__ import annotations

from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#1f5fbf", "#b42318", "#1a7f37", "#9a6700", "#6f42c1", "#0b7285", "#c2255c", "#5c940d"]


def bar_chart(
    data: list[tuple[str, int]], *, title: str, width: int = 480, height: int = 200
) -> SafeString:
    """Vertical bars with labels and values; the numbers are also in the SVG's description."""
    pad_l, pad_b, pad_t = 36, 28, 14
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t
    top = max([v for _, v in data] + [1])
    n = max(len(data), 1)
    bw = inner_w / n * 0.7
    desc = "; ".join(f"{label}: {value}" for label, value in data)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" aria-labelledby="t d">',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 8}" y2="{pad_t + inner_h}" stroke="#d0d7de"/>',
        f'<text x="4" y="{pad_t + 4}" font-size="10" fill="#57606a">{top}</text>',
    ]
    for i, (label, value) in enumerate(data):
        h = inner_h * value / top
        x = pad_l + i * inner_w / n + (inner_w / n - bw) / 2
        y = pad_t + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="#1f5fbf"><title>{escape(label)}: {value}</title></rect>'
        )
        parts.append(
            f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle" fill="#1b1f24">{value}</text>'
        )
        parts.append(
            f'<text x="{x + bw / 2:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="#57606a">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 # every value is escaped above


def line_chart(
    series: dict[str, list[tuple[date, float]]], *, title: str, width: int = 640, height: int = 240
) -> SafeString:
    """One line per series over dates, y from 0 to 1, with a legend."""
    pad_l, pad_b, pad_t, pad_r = 36, 28, 14, 150
    inner_w, inner_h = width - pad_l - pad_r, height - pad_b - pad_t
    days = sorted({d for points in series.values() for d, _ in points})
    desc = (
        "; ".join(
            f"{name}: " + ", ".join(f"{d}: {v:.2f}" for d, v in pts) for name, pts in series.items()
        )
        or "No decisions yet."
    )
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" aria-labelledby="lt ld">',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
    ]
    for frac in (0, 0.5, 1):
        y = pad_t + inner_h * (1 - frac)
        parts.append(
            f'<line x1="{pad_l}" y1="{y:.1f}" x2="{pad_l + inner_w}" y2="{y:.1f}" stroke="#eaeef2"/>'
        )
        parts.append(f'<text x="4" y="{y + 4:.1f}" font-size="10" fill="#57606a">{frac:.1f}</text>')
    if not days:
        parts.append(
            f'<text x="{pad_l + 10}" y="{pad_t + inner_h / 2:.0f}" font-size="12" fill="#57606a">No decisions yet.</text></svg>'
        )
        return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 # labels escaped, the rest numbers and dates
    span = max((days[-1] - days[0]).days, 1)

    def xy(d: date, v: float) -> tuple[float, float]:
        x = pad_l + (inner_w * (d - days[0]).days / span if len(days) > 1 else inner_w / 2)
        return x, pad_t + inner_h * (1 - v)

    for i, (name, points) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        coords = [xy(d, v) for d, v in sorted(points)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>'
            )
        for (x, y), (d, v) in zip(coords, sorted(points), strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(name)} {d}: {v:.2f}</title></circle>'
            )
        ly = pad_t + 14 * i + 6
        parts.append(
            f'<rect x="{pad_l + inner_w + 10}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{pad_l + inner_w + 24}" y="{ly + 1}" font-size="11" fill="#1b1f24">{escape(name[:20])}</text>'
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 8}" font-size="10" fill="#57606a">{days[0]}</text>'
    )
    parts.append(
        f'<text x="{pad_l + inner_w}" y="{height - 8}" font-size="10" text-anchor="end" fill="#57606a">{days[-1]}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 # labels escaped, the rest numbers and dates
