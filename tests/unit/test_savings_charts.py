"""Server-side SVG charts: round ticks, bars from a zero line, dots where the numbers say."""

import re
from decimal import Decimal

from services.savings.charts import (
    INCREASE_COLOUR,
    SAVING_COLOUR,
    Bar,
    Point,
    Series,
    bar_chart,
    line_chart,
    scatter_chart,
    ticks,
)


def d(*values: str) -> list[Decimal]:
    return [Decimal(v) for v in values]


def test_ticks_are_round_and_cover_the_range_in_few_steps() -> None:
    # 107,875.06 / 6 = 17,979 -> powers of 10,000: step 10,000 needs 11 steps, 20,000 needs 6.
    assert ticks(Decimal(0), Decimal("107875.06")) == d(
        "0", "20000", "40000", "60000", "80000", "100000", "120000"
    )
    # -50..3,750: 3,800 / 6 = 633 -> steps of 100 (39), 200 (20), 500 (9), 1,000 (5).
    assert ticks(Decimal(-50), Decimal(3750)) == d("-1000", "0", "1000", "2000", "3000", "4000")
    # 0..0.5: 0.083 -> steps of 0.01 (50), 0.02 (25), 0.05 (10), 0.1 (5).
    assert ticks(Decimal(0), Decimal("0.5")) == d("0", "0.1", "0.2", "0.3", "0.4", "0.5")


def test_an_empty_range_still_gets_an_axis() -> None:
    assert ticks(Decimal(0), Decimal(0))[0] == 0
    assert len(ticks(Decimal(0), Decimal(0))) > 1


def test_bars_grow_from_zero_and_cost_increases_go_left_in_another_colour() -> None:
    svg = bar_chart(
        "c",
        "Saving by school",
        "Bars",
        [Bar("Alder", Decimal(3000), "£3,000.00"), Bar("Cedar", Decimal(-1000), "\u2212£1,000.00")],
        str,
    )
    # Plot from x = 230 + 12 = 242 to 760 - 110 - 12 = 638 (396 px); ticks -1,000..3,000
    # (4,000 / 6 = 667 -> step 1,000). Zero at 242 + 1,000 / 4,000 x 396 = 341.
    # Alder: 341 to 638 (297 px wide). Cedar: 242 to 341 (99 px wide).
    assert re.search(
        rf'<rect x="341" y="[\d.]+" width="297" height="18" fill="{SAVING_COLOUR}"', svg
    )
    assert re.search(
        rf'<rect x="242" y="[\d.]+" width="99" height="18" fill="{INCREASE_COLOUR}"', svg
    )
    assert '<line x1="341"' in svg
    # The value is written out too, not left to the colour.
    assert "\u2212£1,000.00</text>" in svg


def test_charts_describe_themselves_for_screen_readers() -> None:
    svg = bar_chart("schools", "Saving <per> school", "A & B", [Bar("<b>", Decimal(1), "£1")], str)
    assert 'role="img" aria-labelledby="schools-title schools-desc"' in svg
    assert '<title id="schools-title">Saving &lt;per&gt; school</title>' in svg
    assert '<desc id="schools-desc">A &amp; B</desc>' in svg
    assert "<title>&lt;b&gt;: £1</title>" in svg
    assert "<b>" not in svg


def test_long_labels_are_shortened_but_kept_whole_in_the_title() -> None:
    name = "The Very Long Named Church of England Primary Academy"
    svg = bar_chart("c", "t", "d", [Bar(name, Decimal(5), "£5.00")], str)
    assert f"<title>{name}: £5.00</title>" in svg
    assert ">The Very Long Named Church of E\u2026</text>" in svg


def test_scatter_places_each_dot_by_its_numbers() -> None:
    svg = scatter_chart(
        "p",
        "Pooling",
        "Dots",
        [Point("Small", Decimal(0), Decimal(0), "0"), Point("Big", Decimal(100), Decimal(50), "x")],
        "volume",
        "saving",
        str,
        str,
    )
    # Plot box x 70..336, y 12..220 (width 360, height 270). Ticks: x 0..100 (100 / 5 = 20:
    # step 20), y 0..50 (step 10). (0, 0) -> (70, 220); (100, 50) -> (336, 12).
    assert '<circle cx="70" cy="220"' in svg
    assert '<circle cx="336" cy="12"' in svg
    assert svg.count("<circle") == 2
    assert "<title>Big: x</title>" in svg


def test_a_narrow_bar_chart_puts_each_label_above_its_bar() -> None:
    bars = [Bar("Alder Primary School", Decimal(500), "£500.00")]
    svg = bar_chart("c", "t", "d", bars, str, width=340, kind="chart-narrow", narrow=True)
    assert svg.startswith('<svg class="chart chart-narrow" id="c" viewBox="0 0 340 ')
    label = re.search(r'<text x="0" y="([\d.]+)"[^>]*>Alder Primary School</text>', svg)
    bar = re.search(r'<rect x="[\d.]+" y="([\d.]+)"', svg)
    assert label and bar and float(bar.group(1)) > float(label.group(1))
    assert '<text x="340" y="18" text-anchor="end" fill="#1d6b3e"' in svg


def test_lines_run_through_their_points_from_a_zero_line() -> None:
    promised = Series("Promised", d("0", "50", "100"), "#1f4e8c", dashed=True)
    realised = Series("Realised", d("-10", "30", "80"), SAVING_COLOUR)
    svg = line_chart(
        "m", "Running totals", "Two lines", ["Apr", "May", "Jun"], [promised, realised], str, str
    )
    # Plot box x 72..724, y 12..268 (width 760, height 300); three labels 326 apart. Ticks
    # -10..100 (110 / 5 = 22 -> steps of 10 need 11, of 20 need 6, of 50 need 3: -50..100).
    # y(v) = 268 - (v + 50) / 150 x 256: y(100) = 12, y(0) = 182.7, y(50) = 97.3, y(-10) = 199.7.
    assert '<polyline points="72,182.7 398,97.3 724,12"' in svg
    assert (
        'stroke="#1f4e8c" stroke-width="2.5" stroke-linejoin="round" stroke-dasharray="7 5"/>'
        in svg
    )
    assert (
        f'<polyline points="72,199.7 398,131.5 724,46.1" fill="none" stroke="{SAVING_COLOUR}"'
        in svg
    )
    assert '<line x1="72" y1="182.7" x2="724" y2="182.7" stroke="#1a1a1a"' in svg
    assert "<title>Realised, Jun: 80</title>" in svg
    assert svg.count("<circle") == 6


def test_a_narrow_line_chart_writes_a_few_labels_only() -> None:
    months = [f"M{i}" for i in range(12)]
    svg = line_chart(
        "m",
        "t",
        "d",
        months,
        [Series("S", [Decimal(i) for i in range(12)], "#000")],
        str,
        str,
        width=340,
    )
    # Every 4th month (11 steps / 3, rounded up), and the last: M0, M4, M8, M11.
    assert re.findall(r">(M\d+)</text>", svg) == ["M0", "M4", "M8", "M11"]
    # One month alone sits in the middle: (72 + 724) / 2 = 398.
    one = line_chart("o", "t", "d", ["Apr"], [Series("S", d("5"), "#000")], str, str)
    assert '<circle cx="398"' in one
