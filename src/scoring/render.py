"""The entity visualisation: one self-contained HTML page a supervisor can open anywhere.

No script, no external resource (a RIS viewer may forbid both), and every piece of report text
goes through `html.escape`, so a report containing markup shows the markup as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from scoring.explain import describe
from scoring.result import EntityRow, ScoreResult

COLOURS = {
    "matched": ("#d4edda", "#1e7b34", "Matched: same entity, same use in both reports"),
    "mismatched": ("#ffe5b4", "#b35900", "Mismatched: same entity, used differently"),
    "missing": ("#f8d7da", "#a71d2a", "Missing: in the final, not in the preliminary"),
    "surplus": ("#e2d9f3", "#5a2d91", "Surplus: in the preliminary, not in the final"),
}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.3rem;margin:0 0 .5rem}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.score{display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap}
.score .big{font-size:2rem;font-weight:700}
.disc-none{color:#1e7b34}.disc-minor{color:#b35900}.disc-major{color:#a71d2a;font-weight:700}
.reports{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.report{border:1px solid #ccc;border-radius:6px;padding:.75rem;white-space:pre-wrap;
 line-height:1.6;background:#fafafa}
mark{border-radius:3px;padding:0 2px;border-bottom:2px solid}
mark.uncounted{background:#eee!important;border-bottom:2px dashed #888!important}
.legend span{display:inline-block;margin-right:1rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:2px;margin-right:.3rem;
 vertical-align:middle}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr.critical td:first-child{border-left:4px solid #a71d2a}
.muted{color:#777}
"""


_NOT_COUNTED = '<span class="muted">no</span>'


def _style(category: str) -> str:
    background, border, _ = COLOURS[category]
    return f"background:{background};border-color:{border}"


def _marked(text: str, marks: Iterable[tuple[tuple[int, int], EntityRow]]) -> str:
    """The report text, escaped, with each entity span wrapped in a coloured <mark>."""
    out: list[str] = []
    cursor = 0
    for (start, end), row in sorted(marks, key=lambda m: m[0]):
        if start < cursor or end > len(text):
            continue
        out.append(html.escape(text[cursor:start]))
        title = f"{row.category}: {row.label}" + (f" ({row.reason})" if row.reason else "")
        if not row.counted:
            title += " - not counted"
        css = "" if row.counted else ' class="uncounted"'
        out.append(f'<mark{css} style="{_style(row.category)}" title="{html.escape(title)}">'
                   f"{html.escape(text[start:end])}</mark>")
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def _table(rows: list[EntityRow]) -> str:
    lines = ["<table><thead><tr><th>Category</th><th>Entity</th><th>Section</th>"
             "<th>Preliminary</th><th>Final</th><th>Reason</th><th>Counted</th></tr></thead>"
             "<tbody>"]
    for r in rows:
        prelim = describe(r.prelim_attributes, r.label_of("prelim")) \
            if r.prelim_text is not None else "—"
        final = describe(r.final_attributes, r.label) if r.final_text is not None else "—"
        critical = ' class="critical"' if r.critical else ""
        lines.append(
            f"<tr{critical}><td><span class=\"swatch\" style=\"{_style(r.category)}\"></span>"
            f"{html.escape(r.category)}</td><td>{html.escape(r.label)}"
            f"{' <strong>(critical)</strong>' if r.critical else ''}</td>"
            f"<td>{html.escape(r.section)}</td><td>{html.escape(prelim)}</td>"
            f"<td>{html.escape(final)}</td><td>{html.escape(r.reason or '')}</td>"
            f"<td>{'yes' if r.counted else _NOT_COUNTED}</td></tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def render_html(result: ScoreResult, prelim: str, final: str) -> str:
    """A complete HTML document: score, legend, both reports marked up, explanation, table."""
    prelim_marks = [(r.prelim_span, r) for r in result.entities if r.prelim_span]
    final_marks = [(r.final_span, r) for r in result.entities if r.final_span]
    legend = "".join(
        f'<span><span class="swatch" style="background:{bg};border:1px solid {fg}"></span>'
        f"{html.escape(words)}</span>" for bg, fg, words in COLOURS.values())
    legend += ('<span><span class="swatch" style="background:#eee;border:1px dashed #888">'
               "</span>Grey: a negative statement in one report only (not counted)</span>")
    c = result.counts
    m = result.method
    disc = html.escape(result.discrepancy)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>radagree: preliminary vs final</title><style>{_CSS}</style></head>
<body>
<h1>Preliminary vs final report agreement</h1>
<div class="score"><span class="big">ESAS {result.esas:.2f}</span>
<span>Grade <strong>{result.grade}</strong> of {len(m.grade_thresholds) + 1}</span>
<span class="disc-{disc}">{disc} discrepancy</span>
<span>matched {c.matched} · mismatched {c.mismatched} · missing {c.missing} ·
surplus {c.surplus}</span>
</div>
<h2>Explanation</h2><p>{html.escape(result.explanation)}</p>
<h2>Legend</h2><div class="legend">{legend}</div>
<div class="reports">
<div><h2>Preliminary</h2><div class="report">{_marked(prelim, prelim_marks)}</div></div>
<div><h2>Final</h2><div class="report">{_marked(final, final_marks)}</div></div>
</div>
<h2>Entities</h2>{_table(result.entities)}
<p class="muted">Method: NER {html.escape(m.ner)}, matcher {html.escape(m.matcher)},
context check {html.escape(m.classifier)}, explanation {html.escape(m.explainer)};
lexicon {html.escape(m.lexicon_version)}; radagree {html.escape(m.version)}.</p>
</body></html>
"""
