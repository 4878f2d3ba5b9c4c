"""Charts as inline SVG, drawn on the server: readable without JavaScript, printable, and
described for screen readers (role="img", a title and a description; every mark has a title).

Geometry is worked out in Decimal like the figures it draws; coordinates are written to 0.1 px.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from html import escape

SAVING_COLOUR = "#1d6b3e"  # 6.5:1 on white
INCREASE_COLOUR = "#b42318"  # 6.1:1 on white
POINT_COLOUR = "#1f4e8c"
INK = "#1a1a1a"
GRID = "#d5d9d2"
MUTED = "#4a4f47"  # 8:1 on white

Format = Callable[[Decimal], str]


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart: what it stands for and its length."""

    label: str
    value: Decimal
    # The value as the page writes it elsewhere, e.g. "£1,234.56".
    text: str


@dataclass(frozen=True)
class Point:
    label: str
    x: Decimal
    y: Decimal
    text: str


def ticks(low: Decimal, high: Decimal, count: int = 6) -> list[Decimal]:
    """Round-numbered ticks (1, 2 or 5 times a power of ten) covering low..high in at most
    `count` steps, as few as that allows the finest step."""
    if high <= low:
        high = low + 1
    base = Decimal(10) ** ((high - low) / count).adjusted()
    for step in (base, base * 2, base * 5, base * 10):
        first = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
        last = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
        if (last - first) / step <= count:
            break
    out = [first]
    while out[-1] < last:
        out.append(out[-1] + step)
    return out


def _span(values: Iterable[Decimal]) -> tuple[Decimal, Decimal]:
    """The values' range, always including zero: bars and axes start from it."""
    both = [Decimal(0), *values]
    return min(both), max(both)


def _n(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def _open(
    chart_id: str, title: str, description: str, width: int, height: Decimal, kind: str = ""
) -> list[str]:
    """The chart's opening tags; `kind` is a class beside "chart" (chart-wide, chart-narrow)."""
    classes = f"chart {kind}".strip()
    return [
        f'<svg class="{classes}" id="{escape(chart_id)}" viewBox="0 0 {width} {_n(height)}"'
        f' role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc"'
        ' xmlns="http://www.w3.org/2000/svg" font-family="inherit" font-size="13">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    axis_format: Format,
    width: int = 760,
    kind: str = "",
    narrow: bool = False,
) -> str:
    """Horizontal bars from a zero line: savings to the right, cost increases to the left (in
    another colour and with a minus sign, so colour is never the only cue). Labels and values
    beside each bar; `narrow` (for a phone's screen, about 340 wide) puts them above it."""

    def opening(height: Decimal) -> list[str]:
        return _open(chart_id, title, description, width, height, kind)

    if narrow:
        return _stacked_bars(bars, axis_format, width, opening)
    label_width, value_width, gap = Decimal(230), Decimal(110), Decimal(12)
    row, bar, top = Decimal(30), Decimal(18), Decimal(6)
    left, right = label_width + gap, width - value_width - gap
    scale = ticks(*_span(b.value for b in bars))
    low, high = scale[0], scale[-1]

    def x(value: Decimal) -> Decimal:
        return left + (value - low) / (high - low) * (right - left)

    bottom = top + row * len(bars)
    out = opening(bottom + 26) + _ticks(scale, x, top, bottom, axis_format)
    zero = x(Decimal(0))
    for i, b in enumerate(bars):
        y = top + row * i + (row - bar) / 2
        out.append(
            f"<g><title>{escape(b.label)}: {escape(b.text)}</title>"
            f'<text x="{_n(label_width)}" y="{_n(y + bar / 2)}" text-anchor="end"'
            f' dominant-baseline="central" fill="{INK}">{escape(_short(b.label, 32))}</text>'
            + _bar(zero, x(b.value), y, bar, b.value)
            + _value(width, y + bar / 2, b)
            + "</g>"
        )
    return "".join(out) + _zero_line(zero, top, bottom)


def _stacked_bars(
    bars: Sequence[Bar], axis_format: Format, width: int, opening: Callable[[Decimal], list[str]]
) -> str:
    """The bars with each label and value on a line of their own above the bar, so that on a
    phone the bars get the whole width and the text stays readable."""
    row, bar, top, margin = Decimal(46), Decimal(16), Decimal(4), Decimal(28)
    scale = ticks(*_span(b.value for b in bars), count=4)
    low, high = scale[0], scale[-1]

    def x(value: Decimal) -> Decimal:
        return margin + (value - low) / (high - low) * (width - 2 * margin)

    bottom = top + row * len(bars)
    out = opening(bottom + 26) + _ticks(scale, x, top, bottom, axis_format)
    zero = x(Decimal(0))
    for i, b in enumerate(bars):
        line = top + row * i + 14
        out.append(
            f"<g><title>{escape(b.label)}: {escape(b.text)}</title>"
            f'<text x="0" y="{_n(line)}" fill="{INK}">{escape(_short(b.label, 26))}</text>'
            + _value(width, line, b, central=False)
            + _bar(zero, x(b.value), line + 8, bar, b.value)
            + "</g>"
        )
    return "".join(out) + _zero_line(zero, top, bottom)


def _ticks(
    scale: Sequence[Decimal],
    x: Callable[[Decimal], Decimal],
    top: Decimal,
    bottom: Decimal,
    axis_format: Format,
) -> list[str]:
    """The vertical grid lines of a bar chart, each with its value below the bars."""
    out = []
    for tick in scale:
        out.append(
            f'<line x1="{_n(x(tick))}" y1="{_n(top)}" x2="{_n(x(tick))}" y2="{_n(bottom)}"'
            f' stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{_n(x(tick))}" y="{_n(bottom + 18)}" text-anchor="middle"'
            f' fill="{MUTED}" font-size="12">{escape(axis_format(tick))}</text>'
        )
    return out


def _colour(value: Decimal) -> str:
    return INCREASE_COLOUR if value < 0 else SAVING_COLOUR


def _bar(zero: Decimal, end: Decimal, y: Decimal, height: Decimal, value: Decimal) -> str:
    return (
        f'<rect x="{_n(min(zero, end))}" y="{_n(y)}" width="{_n(abs(end - zero))}"'
        f' height="{_n(height)}" fill="{_colour(value)}" rx="2"/>'
    )


def _value(width: int, y: Decimal, b: Bar, central: bool = True) -> str:
    """The bar's value as text, right-aligned at the chart's edge, in the bar's colour."""
    middle = ' dominant-baseline="central"' if central else ""
    return (
        f'<text x="{width}" y="{_n(y)}" text-anchor="end"{middle} fill="{_colour(b.value)}"'
        f' font-weight="600">{escape(b.text)}</text>'
    )


def _zero_line(zero: Decimal, top: Decimal, bottom: Decimal) -> str:
    return (
        f'<line x1="{_n(zero)}" y1="{_n(top - 4)}" x2="{_n(zero)}" y2="{_n(bottom)}"'
        f' stroke="{INK}" stroke-width="1.5"/></svg>'
    )


def scatter_chart(
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[Point],
    x_label: str,
    y_label: str,
    x_format: Format,
    y_format: Format,
    width: int = 360,
    height: int = 270,
) -> str:
    """One dot per point, x against y, both axes from zero (or below, for negative values)."""
    left, right, top, bottom = Decimal(70), Decimal(width - 24), Decimal(12), Decimal(height - 50)
    xs = ticks(*_span(p.x for p in points), count=5)
    ys = ticks(*_span(p.y for p in points), count=5)

    def px(value: Decimal) -> Decimal:
        return left + (value - xs[0]) / (xs[-1] - xs[0]) * (right - left)

    def py(value: Decimal) -> Decimal:
        return bottom - (value - ys[0]) / (ys[-1] - ys[0]) * (bottom - top)

    out = _open(chart_id, title, description, width, Decimal(height))
    for tick in ys:
        out.append(
            f'<line x1="{_n(left)}" y1="{_n(py(tick))}" x2="{_n(right)}" y2="{_n(py(tick))}"'
            f' stroke="{GRID}"/><text x="{_n(left - 6)}" y="{_n(py(tick))}" text-anchor="end"'
            f' dominant-baseline="central" fill="{MUTED}" font-size="12">'
            f"{escape(y_format(tick))}</text>"
        )
    for tick in xs:
        out.append(
            f'<line x1="{_n(px(tick))}" y1="{_n(top)}" x2="{_n(px(tick))}" y2="{_n(bottom)}"'
            f' stroke="{GRID}"/><text x="{_n(px(tick))}" y="{_n(bottom + 16)}"'
            f' text-anchor="middle" fill="{MUTED}" font-size="12">{escape(x_format(tick))}</text>'
        )
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(py(Decimal(0)))}" x2="{_n(right)}"'
        f' y2="{_n(py(Decimal(0)))}" stroke="{INK}" stroke-width="1.5"/>'
        f'<line x1="{_n(px(Decimal(0)))}" y1="{_n(top)}" x2="{_n(px(Decimal(0)))}"'
        f' y2="{_n(bottom)}" stroke="{INK}" stroke-width="1.5"/>'
    )
    for p in points:
        out.append(
            f"<g><title>{escape(p.label)}: {escape(p.text)}</title>"
            f'<circle cx="{_n(px(p.x))}" cy="{_n(py(p.y))}" r="5.5" fill="{POINT_COLOUR}"'
            ' fill-opacity="0.85" stroke="#ffffff" stroke-width="1.5"/></g>'
        )
    out.append(
        f'<text x="{_n((left + right) / 2)}" y="{height - 8}" text-anchor="middle"'
        f' fill="{INK}" font-size="13">{escape(x_label)}</text>'
        f'<text transform="translate(14 {_n((top + bottom) / 2)}) rotate(-90)"'
        f' text-anchor="middle" fill="{INK}" font-size="13">{escape(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a value per label, drawn in `colour` (dashed when `dashed`,
    so that the lines differ in more than colour)."""

    name: str
    values: Sequence[Decimal]
    colour: str
    dashed: bool = False


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    axis_format: Format,
    value_format: Format,
    width: int = 760,
    height: int = 300,
    kind: str = "",
) -> str:
    """Lines over evenly spaced labels (months), the value axis from zero (or below, for
    negative values); every point has a title with its series, label and value. On a narrow
    chart (under 500 wide) the labels are written at most 4 times, first and last included."""
    # Room on the right for half of the last label, written centred under its point.
    left, right = Decimal(72), Decimal(width - 36)
    top, bottom = Decimal(12), Decimal(height - 32)
    scale = ticks(*_span(v for s in series for v in s.values), count=5)
    low, high = scale[0], scale[-1]
    step = (right - left) / (len(labels) - 1) if len(labels) > 1 else Decimal(0)

    def px(i: int) -> Decimal:
        return left + step * i if len(labels) > 1 else (left + right) / 2

    def py(value: Decimal) -> Decimal:
        return bottom - (value - low) / (high - low) * (bottom - top)

    out = _open(chart_id, title, description, width, Decimal(height), kind)
    for tick in scale:
        out.append(
            f'<line x1="{_n(left)}" y1="{_n(py(tick))}" x2="{_n(right)}" y2="{_n(py(tick))}"'
            f' stroke="{GRID}"/><text x="{_n(left - 6)}" y="{_n(py(tick))}" text-anchor="end"'
            f' dominant-baseline="central" fill="{MUTED}" font-size="12">'
            f"{escape(axis_format(tick))}</text>"
        )
    every = 1 if width >= 500 else max(1, -(-(len(labels) - 1) // 3))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            out.append(
                f'<text x="{_n(px(i))}" y="{_n(bottom + 18)}" text-anchor="middle"'
                f' fill="{MUTED}" font-size="12">{escape(label)}</text>'
            )
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(py(Decimal(0)))}" x2="{_n(right)}"'
        f' y2="{_n(py(Decimal(0)))}" stroke="{INK}" stroke-width="1.5"/>'
    )
    for s in series:
        dash = ' stroke-dasharray="7 5"' if s.dashed else ""
        path = " ".join(f"{_n(px(i))},{_n(py(v))}" for i, v in enumerate(s.values))
        out.append(
            f'<g><polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2.5"'
            f' stroke-linejoin="round"{dash}/>'
        )
        for i, v in enumerate(s.values):
            out.append(
                f"<g><title>{escape(s.name)}, {escape(labels[i])}: {escape(value_format(v))}"
                f'</title><circle cx="{_n(px(i))}" cy="{_n(py(v))}" r="4" fill="{s.colour}"'
                ' stroke="#ffffff" stroke-width="1.5"/></g>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
