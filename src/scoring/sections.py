"""Find the FINDINGS and IMPRESSION sections of a report.

Headings come from NegBio's list of radiology section titles plus the variants seen in US and
UK reports. Only findings and impression are scored: indication, comparison and technique say
nothing a trainee can get right or wrong. A report without such headings is one section,
`report`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

FINDINGS_TITLES = ("findings", "finding", "description", "observations", "report findings",
                   "chest findings", "results", "body", "discussion")
IMPRESSION_TITLES = ("impression", "impressions", "conclusion", "conclusions", "opinion",
                     "summary", "diagnosis", "interpretation", "assessment",
                     "final impression", "clinical impression", "impression and recommendation",
                     "impression and recommendations")


@dataclass(frozen=True)
class Section:
    name: str  # findings | impression | report
    start: int
    end: int


@cache
def _other_titles() -> tuple[str, ...]:
    text = resources.files("scoring.data").joinpath("section_titles.txt").read_text("utf-8")
    titles = {line.strip().rstrip(":").lower() for line in text.splitlines() if line.strip()}
    return tuple(sorted(titles - set(FINDINGS_TITLES) - set(IMPRESSION_TITLES)))


@cache
def _heading_re() -> re.Pattern[str]:
    titles = sorted({*FINDINGS_TITLES, *IMPRESSION_TITLES, *_other_titles()}, key=len,
                    reverse=True)
    alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in titles)
    # A heading starts a line (or follows a sentence end) and ends with a colon.
    return re.compile(rf"(?:^|(?<=[\n\r.]))[ \t]*({alternatives})[ \t]*:", re.IGNORECASE)


def _kind(title: str) -> str:
    title = " ".join(title.lower().split())
    if title in FINDINGS_TITLES:
        return "findings"
    if title in IMPRESSION_TITLES:
        return "impression"
    return "other"


def split_sections(text: str) -> list[Section]:
    """Findings and impression spans of `text`, or one `report` span when it has neither."""
    heads = list(_heading_re().finditer(text))
    sections: list[Section] = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        kind = _kind(head.group(1))
        if kind != "other" and text[head.end():end].strip():
            sections.append(Section(kind, head.end(), end))
    if not sections:
        return [Section("report", 0, len(text))] if text.strip() else []
    merged: dict[str, Section] = {}
    for s in sections:  # a repeated heading (addendum) extends its section
        prev = merged.get(s.name)
        merged[s.name] = s if prev is None else Section(s.name, prev.start, s.end)
    return sorted(merged.values(), key=lambda s: s.start)


def scored_text_span(sections: list[Section]) -> Section:
    """Everything from the first scored section to the end of the last, as one `report`."""
    return Section("report", min(s.start for s in sections), max(s.end for s in sections))
