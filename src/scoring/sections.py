"""Find the FINDINGS and IMPRESSION sections of a report.

Headings come from NegBio's list of radiology section titles plus the variants seen in US and
UK reports. Only findings and impression are scored: indication, comparison and technique say
nothing a trainee can get right or wrong. A report without such headings is one section,
`report`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
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


_BLANK = re.compile(r"\n[ \t]*\r?\n")
# Lines of a CT or MR report that describe how it was made, not what it shows.
EXTRA_OTHER_TITLES = ("protocol", "dose", "radiation dose", "dlp", "total dlp", "ctdivol",
                      "ctdi", "contrast", "procedure", "clinical data", "reason",
                      "reason for study",
                      "exam", "study", "examination", "prior", "priors", "indications",
                      "dictated by", "electronically signed by", "signed by", "read by",
                      "attending", "resident", "requested by", "referring physician", "sequences",
                      "series", "acquisition", "premedication", "medications", "sedation",
                      "consent", "complications", "estimated blood loss", "specimens",
                      "hx", "clinical hx", "indication", "clinical indication",
                      "reason for exam", "reason for examination", "technique and findings")
# Titles of the NegBio list that hold findings after all.
NOT_OTHER_TITLES = ("addendum", "addenda", "addendum findings")


@cache
def _other_titles() -> tuple[str, ...]:
    text = resources.files("scoring.data").joinpath("section_titles.txt").read_text("utf-8")
    titles = {line.strip().rstrip(":").lower() for line in text.splitlines() if line.strip()}
    titles |= set(EXTRA_OTHER_TITLES)
    titles -= set(NOT_OTHER_TITLES)
    return tuple(sorted(titles - set(FINDINGS_TITLES) - set(IMPRESSION_TITLES)))


@cache
def _titles() -> frozenset[str]:
    return frozenset({*FINDINGS_TITLES, *IMPRESSION_TITLES, *_other_titles()})


# A heading starts a line (or follows a sentence end) and ends with a colon; what comes
# before the colon is looked up among the known titles (one set look-up, not a regex of 450
# alternatives).
_CANDIDATE = re.compile(r"(?:^|(?<=[\n\r.]))[ \t]*([A-Za-z][^\n\r:.]{0,60}?)[ \t]*:")


@dataclass(frozen=True)
class _Heading:
    start: int
    end: int
    title: str


def _kind(title: str) -> str:
    title = " ".join(title.lower().split())
    if title in FINDINGS_TITLES:
        return "findings"
    if title in IMPRESSION_TITLES:
        return "impression"
    return "other"


# Headings that say how the study was made or why, never what it shows: inside a findings
# section only these end it. Any other title there ("CT:", "Head CT:", "PA and lateral:") is a
# sub-heading of the findings (teaching cases and multi-part exams list findings by image).
_META = re.compile(r"technique|comparison|compare|history|indication|reason|protocol|dose|"
                   r"dlp|ctdi|contrast|procedure|clinical|signed|dictated|recommend|notification|"
                   r"consent|medication|sedation|complication|specimen|attending|resident|"
                   r"referring|requested|^exam|examination|^study|prior|wet read|question")


def _headings(text: str) -> list[_Heading]:
    heads = []
    in_findings = False
    titles = _titles()
    for m in _CANDIDATE.finditer(text):
        title = " ".join(m.group(1).lower().split())
        if title not in titles:
            continue
        head = _Heading(m.start(), m.end(), title)
        kind = _kind(title)
        if kind == "other" and in_findings and not _META.search(title):
            continue
        if kind != "other":
            in_findings = kind == "findings"
        heads.append(head)
    return heads


RECOMMENDATION_TITLES = frozenset({"recommendation", "recommendations"})


def recommendation_spans(text: str) -> list[tuple[int, int]]:
    """The bodies of RECOMMENDATION(S): sections, which are not scored as findings but
    carry the advice that is compared (up to the next heading or blank line)."""
    heads = _headings(text)
    out = []
    for i, head in enumerate(heads):
        if head.title not in RECOMMENDATION_TITLES:
            continue
        end = heads[i + 1].start if i + 1 < len(heads) else len(text)
        blank = _BLANK.search(text, head.end, end)
        out.append((head.end, blank.start() if blank else end))
    return out


@lru_cache(maxsize=4096)
def split_sections(text: str) -> list[Section]:
    """Findings and impression spans of `text`, or one `report` span when it has neither.

    Text before the first heading is the findings when the report has an impression but no
    findings heading ("The appendix is dilated ... IMPRESSION: Acute appendicitis."). A
    section that is not scored (technique, comparison, history, dose) ends at the first blank
    line: what follows, up to the next heading, is report text again."""
    heads = _headings(text)
    spans: list[tuple[str, int, int]] = []
    if heads and text[:heads[0].start].strip():
        spans.append(("preamble", 0, heads[0].start))
    for i, head in enumerate(heads):
        end = heads[i + 1].start if i + 1 < len(heads) else len(text)
        kind = _kind(head.title)
        if kind == "other":
            blank = _BLANK.search(text, head.end, end)
            if blank and text[blank.end():end].strip():
                spans.append(("other", head.end, blank.start()))
                spans.append(("preamble", blank.end(), end))
                continue
        spans.append((kind, head.end, end))
    sections = [Section(k, a, b) for k, a, b in spans
                if k in ("findings", "impression") and text[a:b].strip()]
    loose = [Section("findings", a, b) for k, a, b in spans
             if k == "preamble" and text[a:b].strip()]
    if not heads:
        return [Section("report", 0, len(text))] if text.strip() else []
    if not any(s.name == "findings" for s in sections):
        sections += loose
    if not sections:
        return []
    merged: dict[str, Section] = {}
    for s in sorted(sections, key=lambda s: s.start):  # a repeated heading extends its section
        prev = merged.get(s.name)
        merged[s.name] = s if prev is None else Section(s.name, prev.start, s.end)
    return sorted(merged.values(), key=lambda s: s.start)


def scored_text_span(sections: list[Section]) -> Section:
    """Everything from the first scored section to the end of the last, as one `report`."""
    return Section("report", min(s.start for s in sections), max(s.end for s in sections))
