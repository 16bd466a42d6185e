"""Charts drawn on the server as SVG, pure functions of their data (no library, no
I/O): horizontal bars (topics), a line (questions per day), stacked bars (ticket
lights, delivery outcomes). Labels are Chinese; every text is escaped (and stripped
of characters XML cannot carry), so a group or topic name cannot inject markup.
`*_chart(table)` draw the report tables of `insight.service`."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from insight.model import Table

FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
PALETTE = ("#2f6fb3", "#e0a526", "#c8423b", "#4a9c5d", "#8a5fb0", "#6b7785")
LIGHTS = ("#4a9c5d", "#e0a526", "#c8423b")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(value: object) -> str:
    """`value` as XML character data or attribute text."""
    return escape(_NOT_XML.sub("", str(value)), {'"': "&quot;", "'": "&apos;"})


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="{text(FONT)}" font-size="12">',
        f"<title>{text(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{text(title)}</text>',
        *body, "</svg>"])


def _empty(width: int, height: int, title: str) -> str:
    return _svg(width, height, title, [f'<text x="{width / 2:.1f}" y="{height / 2:.1f}" '
                                       'text-anchor="middle" fill="#6b7785">暂无数据</text>'])


def bar_chart(title: str, items: Sequence[tuple[str, float]], *, width: int = 640,
              bar: int = 22, unit: str = "") -> str:
    """Horizontal bars, one per (label, value), in the given order."""
    height = 48 + max(1, len(items)) * (bar + 8) + 12
    if not items:
        return _empty(width, 120, title)
    left, right = 150, 70
    top = _nice_max(max(float(v) for _, v in items))
    span = width - left - right
    body = []
    for i, (name, value) in enumerate(items):
        y = 44 + i * (bar + 8)
        w = span * float(value) / top
        body += [f'<text x="{left - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end">'
                 f"{text(name)}</text>",
                 f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" '
                 f'fill="{PALETTE[0]}"><title>{text(name)}：{text(_number(value))}{text(unit)}'
                 "</title></rect>",
                 f'<text x="{left + w + 6:.1f}" y="{y + bar * 0.7:.1f}">'
                 f"{text(_number(value))}{text(unit)}</text>"]
    return _svg(width, height, title, body)


def line_chart(title: str, points: Sequence[tuple[str, float]], *, width: int = 720,
               height: int = 280, unit: str = "") -> str:
    """One line through (x label, value) points, left to right; a few x labels shown."""
    if not points:
        return _empty(width, height, title)
    left, right, top_margin, bottom = 56, 20, 40, 44
    top = _nice_max(max(float(v) for _, v in points))
    plot_w, plot_h = width - left - right, height - top_margin - bottom
    step = plot_w / max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top_margin + plot_h * (1 - float(v) / top)

    body = []
    for k in range(5):
        value = top * k / 4
        y = top_margin + plot_h * (1 - k / 4)
        body += [f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                 'stroke="#e3e6ea"/>',
                 f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                 f"{text(_number(value))}</text>"]
    every = max(1, math.ceil(len(points) / 8))
    for i, (name, _) in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            x, _ = xy(i, 0)
            body.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                        f"{text(name)}</text>")
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, (_, v)
                                                           in enumerate(points)))
    body.append(f'<polyline points="{coordinates}" fill="none" stroke="{PALETTE[0]}" '
                'stroke-width="2"/>')
    for i, (name, value) in enumerate(points):
        x, y = xy(i, value)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[0]}">'
                    f"<title>{text(name)}：{text(_number(value))}{text(unit)}</title></circle>")
    return _svg(width, height, title, body)


def stacked_bars(title: str, categories: Sequence[str],
                 series: Sequence[tuple[str, Sequence[float]]], *,
                 colors: Sequence[str] = PALETTE, width: int = 720, height: int = 320) -> str:
    """Vertical bars, one per category, stacked from the series (name, values)."""
    if not categories or not series:
        return _empty(width, height, title)
    left, right, top_margin, bottom = 56, 20, 64, 56
    totals = [sum(float(values[i]) for _, values in series) for i in range(len(categories))]
    top = _nice_max(max(totals))
    plot_w, plot_h = width - left - right, height - top_margin - bottom
    slot = plot_w / len(categories)
    bar = min(48.0, slot * 0.7)
    body = []
    x_legend = float(left)
    for k, (name, _) in enumerate(series):
        color = colors[k % len(colors)]
        body += [f'<rect x="{x_legend}" y="34" width="12" height="12" fill="{color}"/>',
                 f'<text x="{x_legend + 16}" y="44">{text(name)}</text>']
        x_legend += 28 + 13 * len(name)
    for k in range(5):
        y = top_margin + plot_h * (1 - k / 4)
        body += [f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                 'stroke="#e3e6ea"/>',
                 f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                 f"{text(_number(top * k / 4))}</text>"]
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar) / 2
        base = float(top_margin + plot_h)
        for k, (name, values) in enumerate(series):
            h = plot_h * float(values[i]) / top
            base -= h
            body.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{colors[k % len(colors)]}"><title>{text(category)} '
                        f"{text(name)}：{text(_number(float(values[i])))}</title></rect>")
        body.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 18}" '
                    f'text-anchor="middle">{text(category)}</text>')
    return _svg(width, height, title, body)


# --- the report tables ---------------------------------------------------------------
def topics_chart(report: Table) -> str:
    return bar_chart(report.title, list(zip(report.column("label"), report.column("questions"),
                                            strict=True)))


def per_day_chart(report: Table) -> str:
    return line_chart(report.title, [(str(d)[5:], float(q)) for d, q in
                                     zip(report.column("day"), report.column("questions"),
                                         strict=True)], unit=" 问")


def lights_chart(report: Table) -> str:
    return stacked_bars(report.title, report.column("label"),
                        [("绿灯", report.column("green")), ("黄灯", report.column("yellow")),
                         ("红灯", report.column("red"))], colors=LIGHTS)


def deliveries_chart(report: Table) -> str:
    return stacked_bars(report.title, report.column("label"),
                        [("已送达", report.column("delivered")),
                         ("失败", report.column("failed")),
                         ("发送中", report.column("pending")),
                         ("已取消", report.column("cancelled"))],
                        colors=(LIGHTS[0], LIGHTS[2], LIGHTS[1], PALETTE[5]))
