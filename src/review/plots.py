"""Server-side SVG plots (pygal): trends and distributions, served as images.

pygal writes its styles into the SVG and, by default, links its tooltip script from the web;
`js=[]` removes the script, so the SVG is inert, and it is served as its own document with a
CSP of its own (`<img>` never runs script), so the pages keep their strict policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from pygal.style import Style

_LOOK = {"background": "white", "plot_background": "white", "foreground": "#222",
         "foreground_strong": "#222", "foreground_subtle": "#666",
         "font_family": "system-ui, sans-serif", "title_font_size": 14,
         "legend_font_size": 12, "label_font_size": 11, "major_label_font_size": 11}
# Trends: the cohort grey underneath, the person in blue on top.
_STYLE = Style(colors=("#999999", "#1f5fa8"), **_LOOK)
_BARS = Style(colors=("#1f5fa8",), **_LOOK)


# pygal still inlines a config <script> for its (absent) tooltip code: cut it out too.
_SCRIPT = re.compile(rb"<script[^>]*>.*?</script>", re.DOTALL)


def _common(chart: pygal.graph.graph.Graph) -> bytes:
    return _SCRIPT.sub(b"", chart.render(is_unicode=False))


def trend(title: str, months: Sequence[str], series: dict[str, Sequence[float | None]], *,
          percent: bool = False) -> bytes:
    """One line per series over the months (None where a series has no pair that month)."""
    chart = pygal.Line(
        style=_STYLE, js=[], width=640, height=300, title=title, show_dots=True,
        dots_size=3, x_label_rotation=0, legend_at_bottom=True, range=(0, 1),
        truncate_label=-1, stroke_style={"width": 2.5},
        value_formatter=(lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.2f}"),
        allow_interruptions=True, no_data_text="no scored pairs yet",
    )
    # "2026-03" -> "Mar 26": twelve of them fit under the plot without being cut.
    chart.x_labels = [_short(m) for m in months]
    # The last series is drawn on top: put the person's own line last, so that a trainee
    # whose months equal the cohort's still sees their line.
    for name, values in reversed(list(series.items())):
        chart.add(name, list(values))
    return _common(chart)


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _short(month: str) -> str:
    year, _, number = month.partition("-")
    return f"{_MONTHS[int(number) - 1]} {year[2:]}" if number.isdigit() else month


def distribution(title: str, counts: dict[int, int], max_grade: int = 5) -> bytes:
    chart = pygal.Bar(style=_BARS, js=[], width=480, height=280, title=title,
                      show_legend=False, no_data_text="no scored pairs yet")
    chart.x_labels = [str(g) for g in range(1, max_grade + 1)]
    chart.add("pairs", [counts.get(g, 0) for g in range(1, max_grade + 1)])
    return _common(chart)
