"""Charts drawn on the server as SVG: no script, no library, no inline style (the content security
policy allows none). Each chart has a title and description for screen readers, a legend, and its
numbers as a table beside it. Series are told apart by colour and by their order in the legend."""

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 520, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 30, 14, 40
MAX_SERIES = 6  # colours the stylesheet defines (.s0 … .s5)


@dataclass(frozen=True)
class Chart:
    key: str  # an id for the page (unique per chart)
    title: str
    description: str
    svg: str
    legend: list[tuple[str, str]]  # (css class, label)
    columns: list[str]
    rows: list[list[str]]


def nice_top(value: Decimal) -> Decimal:
    """The axis maximum: 1, 2, 2.5 or 5 times a power of ten, at or above the value (1 for nothing)."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** math.floor(math.log10(float(value)))
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * power:
            return Decimal(step) * power
    return 10 * power


def compact(value: Decimal, unit: str) -> str:
    """Axis labels: '$12.5k', '$1.2M', '40%', '35 d'."""
    if unit == "$":
        for limit, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
            if abs(value) >= limit:
                return (
                    f"${(value / limit).normalize():f}{suffix}"
                    if value % limit == 0
                    else f"${value / limit:.1f}{suffix}"
                )
        return f"${value:,.0f}"
    return f"{value.normalize():f}{unit}" if value == value.to_integral() else f"{value:.1f}{unit}"


def stacked_bars(key: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal]]],
                 unit: str = "$") -> Chart:  # fmt: skip
    """One bar per label, the series stacked in it (e.g. A/R by age: insurance and patient)."""
    totals = [sum((values[i] for _, values in series), Decimal(0)) for i in range(len(labels))]
    top = nice_top(max(totals, default=Decimal(0)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    parts = _axes(top, unit)
    for i, label in enumerate(labels):
        base = Decimal(0)
        for n, (name, values) in enumerate(series[:MAX_SERIES]):
            value = max(values[i], Decimal(0))
            y1, y0 = _y(base + value, top, plot_h), _y(base, top, plot_h)
            x = LEFT + slot * i + slot * 0.18
            tip = f"{label}, {name}: {compact(values[i], unit) if unit != '$' else _dollars(values[i])}"
            parts.append(f'<rect class="bar s{n}" x="{x:.1f}" y="{y1:.1f}" width="{slot * 0.64:.1f}" '
                         f'height="{max(y0 - y1, 0):.1f}"><title>{_e(tip)}</title></rect>')  # fmt: skip
            base += value
        parts.append(_x_label(LEFT + slot * (i + 0.5), label))
    rows = [
        [label, *(_dollars(values[i]) for _, values in series), _dollars(totals[i])] for i, label in enumerate(labels)
    ]
    description = "; ".join(f"{row[0]}: {row[-1]}" for row in rows)
    return _chart(key, title, description, parts, series, ["", *(name for name, _ in series), "Total"], rows)


def horizontal_bars(key: str, title: str, items: Sequence[tuple[str, Decimal | None]], unit: str = "%") -> Chart:
    """One bar per item, longest first as given (e.g. denial rate by CARC category)."""
    known = [v for _, v in items if v is not None]
    top = nice_top(max(known, default=Decimal(0)))
    row_h = (HEIGHT - TOP - BOTTOM) / max(len(items), 1)
    label_w = 190
    parts = []
    for i, (label, value) in enumerate(items):
        y = TOP + row_h * i
        width = float((value or 0) / top) * (WIDTH - label_w - RIGHT - 50)
        parts.append(f'<text x="{label_w - 6}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">{_e(label)}</text>')
        parts.append(f'<rect class="bar s0" x="{label_w}" y="{y + row_h * 0.2:.1f}" width="{width:.1f}" '
                     f'height="{row_h * 0.6:.1f}"><title>{_e(label)}: {_e(_unit(value, unit))}</title></rect>')  # fmt: skip
        parts.append(f'<text x="{label_w + width + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">{_e(_unit(value, unit))}</text>')
    rows = [[label, _unit(value, unit)] for label, value in items]
    description = "; ".join(f"{label}: {text}" for label, text in rows) or "nothing to show"
    return _chart(key, title, description, parts, [], ["", title], rows)


def lines(key: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal | None]]],
          unit: str = "$") -> Chart:  # fmt: skip
    """One line per series over the labels (e.g. collections by payer per month); a gap where a value is None."""
    known = [v for _, values in series for v in values if v is not None]
    top = nice_top(max(known, default=Decimal(0)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)
    parts = _axes(top, unit)
    for i, label in enumerate(labels):
        parts.append(_x_label(LEFT + step * i if len(labels) > 1 else LEFT + plot_w / 2, label))
    for n, (name, values) in enumerate(series[:MAX_SERIES]):
        points = [(LEFT + step * i if len(labels) > 1 else LEFT + plot_w / 2, _y(v, top, plot_h), v)
                  for i, v in enumerate(values) if v is not None]  # fmt: skip
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(f'<polyline class="line s{n}" points="{path}"/>')
        for (x, y, v), label in zip(points, [lb for lb, v in zip(labels, values, strict=True) if v is not None],
                                    strict=True):  # fmt: skip
            parts.append(f'<circle class="s{n}" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                         f"<title>{_e(name)}, {_e(label)}: {_e(_unit(v, unit))}</title></circle>")  # fmt: skip
    rows = [[label, *(_unit(values[i], unit) for _, values in series)] for i, label in enumerate(labels)]
    description = "; ".join(f"{name}: " + ", ".join(_unit(v, unit) for v in values) for name, values in series)
    return _chart(key, title, description or "nothing to show", parts, series, ["", *(n for n, _ in series)], rows)


def _chart(key: str, title: str, description: str, parts: list[str],
           series: Sequence[tuple[str, Sequence[object]]], columns: list[str], rows: list[list[str]]) -> Chart:  # fmt: skip
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{key}-title {key}-desc" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{key}-title">{_e(title)}</title>'
        f'<desc id="{key}-desc">{_e(description)}</desc>{"".join(parts)}</svg>'
    )
    legend = [(f"s{n}", name) for n, (name, _) in enumerate(series[:MAX_SERIES])]
    return Chart(key, title, description, svg, legend, columns, rows)


def _axes(top: Decimal, unit: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for tick in range(5):
        value = top * tick / 4
        y = _y(value, top, plot_h)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(compact(value, unit))}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    return parts


def _x_label(x: float, label: str) -> str:
    return f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{_e(label)}</text>'


def _y(value: Decimal, top: Decimal, plot_h: float) -> float:
    return TOP + plot_h - float(value / top) * plot_h


def _dollars(value: Decimal) -> str:
    return f"${value:,.2f}" if value >= 0 else f"\u2212${-value:,.2f}"


def _unit(value: Decimal | None, unit: str) -> str:
    if value is None:
        return "\u2013"
    return _dollars(value) if unit == "$" else f"{value}{unit}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
