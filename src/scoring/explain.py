"""Explanations anchored on the computed score, built from the entity table.

`template` (default) is deterministic: the same table always gives the same words, so a
supervisor can trust that two trainees with the same errors read the same feedback. The `llm`
explainer (`scoring.llm_explain`) registers itself in the same registry (`scoring.backends`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scoring.backends import BuildContext, Registry
from scoring.config import ScoringConfig
from scoring.result import Counts, Discrepancy, EntityRow
from scoring.significance import differs

_REASON_WORDS = {
    "negation": "present in one report, absent in the other",
    "certainty": "stated with different certainty",
    "laterality": "on a different side",
    "anatomy": "in a different place",
    "organ": "in another organ",
    "severity": "of a different severity",
    "size": "of a different size",
    "change": "with a different change over time",
    "category": "given another category",
}
_DISCREPANCY_WORDS = {"none": "no discrepancy", "minor": "minor discrepancy",
                      "major": "major discrepancy"}


@dataclass(frozen=True)
class ExplanationInput:
    esas: float
    grade: int
    max_grade: int
    discrepancy: Discrepancy
    counts: Counts
    rows: Sequence[EntityRow]
    prelim_text: str = ""
    final_text: str = ""
    recommendation_changed: bool = False
    # (quantity, preliminary value, final value), scoring.measurements
    measurement_changes: Sequence[tuple[str, float, float]] = ()


_BASE_UNIT = {"length": "mm", "velocity": "cm/s", "percent": "%", "volume": "mL"}


def _measurements(data: ExplanationInput) -> list[str]:
    return [f"A measurement differs: preliminary {a:g} {_BASE_UNIT[q]}, final {b:g} "
            f"{_BASE_UNIT[q]}." for q, a, b in data.measurement_changes[:2]]


@dataclass(frozen=True)
class Explanation:
    """The words shown, and why they are the template's when another explainer was asked
    (None when the configured explainer's own text was kept)."""

    text: str
    fallback: str | None = None


class Explainer(Protocol):
    """Everything the scorer asks of an explainer: one explanation per pair of a batch (the
    LLM explainer sends them together; its event loop stays inside its client)."""

    name: str

    def explain_many(self, items: Sequence[ExplanationInput]) -> list[Explanation]: ...


explainers: Registry[Explainer] = Registry("explainer")


def describe(attributes: dict[str, str], label: str) -> str:
    """"small right pleural effusion (lower lobe)" from the attribute words."""
    words = []
    if attributes.get("polarity") == "absent":
        words.append("no")
    elif attributes.get("polarity") == "possible":
        words.append("possible")
    for key in ("change", "severity", "laterality"):
        if key in attributes and attributes[key] not in label.split():
            words.append(attributes[key])  # not "increased increased t2 signal"
    words.append(label)
    text = " ".join(words)
    extras = [attributes[k] for k in ("size", "anatomy", "position") if k in attributes
              and attributes[k] not in label]
    return f"{text} ({', '.join(extras)})" if extras else text


def _names(rows: Sequence[EntityRow], side: str) -> str:
    parts = []
    for r in rows:
        attrs = r.final_attributes if side == "final" else r.prelim_attributes
        parts.append(describe(attrs, r.label_of(side)) + (" [critical]" if r.critical else ""))
    return "; ".join(dict.fromkeys(parts))


_TIER_WORDS = {
    "critical": "an urgent finding that must not be missed or misstated",
    "significant": "a finding that changes management",
    "incidental": "an incidental finding that does not change management now",
}
_CHECKED = ("presence and negation, side, certainty, severity, size, change over time and "
            "structured categories")


def _ranked(rows: Sequence[EntityRow]) -> list[EntityRow]:
    """The disagreements that make the class, most significant first, each finding once."""
    order = {"critical": 0, "significant": 1, "incidental": 2, None: 3}
    differing = sorted((r for r in rows if differs(r)),
                       key=lambda r: (not r.actionable, order[r.significance],
                                      r.kind != "category"))
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for r in differing:
        key = (r.label_of("final" if r.category != "surplus" else "prelim").lower(),
               r.category, r.reason)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _sentence(r: EntityRow) -> str:
    tier = f" ({_TIER_WORDS[r.significance]})" if r.significance and r.actionable else ""
    if r.category == "missing" and r.reason == "impression":
        return (f"Not in the preliminary's impression, though stated in its findings: "
                f"{describe(r.final_attributes, r.label)}.")
    if r.category in ("missing", "surplus") and r.reason in ("size", "laterality"):
        side = "final" if r.category == "missing" else "preliminary"
        attributes = r.final_attributes if r.category == "missing" else r.prelim_attributes
        return (f"Described with its {'size' if r.reason == 'size' else 'side'} in the "
                f"{side} only: {describe(attributes, r.label)}.")
    if r.category == "missing":
        return f"Missed: {describe(r.final_attributes, r.label)}{tier}."
    if r.category == "surplus":
        return f"Not in the final: {describe(r.prelim_attributes, r.label_of('prelim'))}{tier}."
    reason = _REASON_WORDS.get(r.reason or "", "different")
    if r.concept.startswith(("~laterality of ", "~severity of ")):  # Restatement.swaps
        what = "another side" if r.reason == "laterality" else "another severity"
        return (f"The same sentence names {what}: preliminary '{r.prelim_text}', final "
                f"'{r.final_text}'.")
    detail = {"size": "size", "laterality": "side"}.get(r.reason or "")
    if detail and (detail in r.prelim_attributes) != (detail in r.final_attributes):
        reason = f"given a {detail} by one report only"  # in a sentence the other left out
    if r.reason == "anatomy" and r.prelim_attributes.get("position") != \
            r.final_attributes.get("position"):
        reason = "placed or displaced differently"  # a tube's tip, a fracture's fragments
    return (f"{r.label[:1].upper() + r.label[1:]} is {reason}: "
            f"preliminary '{describe(r.prelim_attributes, r.label_of('prelim'))}', "
            f"final '{describe(r.final_attributes, r.label)}'{tier}.")


class TemplateExplainer:
    name = "template"

    def __init__(self, config: ScoringConfig | None = None) -> None:
        self.config = config

    def explain_many(self, items: Sequence[ExplanationInput]) -> list[Explanation]:
        return [Explanation(self.explain(data)) for data in items]

    def explain(self, data: ExplanationInput) -> str:
        """Ten seconds' reading: the class and score, the most significant disagreement first,
        each finding once, in the reports' own words; "no discrepancy" says what was
        compared."""
        counted = [r for r in data.rows if r.counted]
        head = (f"ESAS {data.esas:.2f}, grade {data.grade} of {data.max_grade}: "
                f"{_DISCREPANCY_WORDS[data.discrepancy]}.")
        agreed = list(dict.fromkeys(
            describe({"polarity": r.final_attributes.get("polarity", "present")}, r.label)
            for r in sorted(counted, key=lambda r: r.final_attributes.get("polarity") ==
                            "absent") if r.category == "matched" and not r.descriptive))
        ranked = _ranked(data.rows)
        tail = _measurements(data)
        if data.recommendation_changed:
            tail.append("The recommendation differs.")
        if agreed:
            tail.append(f"Agreed on {len(agreed)} finding{'s' if len(agreed) != 1 else ''}.")
        if not ranked and (data.recommendation_changed or data.measurement_changes):
            return " ".join([head, *tail])
        if not ranked:
            if not agreed:
                return (head + " Neither report asserts a finding the other contradicts; "
                        f"compared: {_CHECKED}.")
            named = ", ".join(agreed[:5]) + (f" and {len(agreed) - 5} more"
                                            if len(agreed) > 5 else "")
            return (head + f" Both reports state the same findings ({named}); compared: "
                    f"{_CHECKED}. Any other differences are in wording only.")
        parts = [head, *(_sentence(r) for r in ranked[:6])]
        if len(ranked) > 6:
            parts.append(f"{len(ranked) - 6} further difference"
                         f"{'s' if len(ranked) > 7 else ''} in the table.")
        return " ".join(parts + tail)


@explainers.register("template")
def _template(context: BuildContext) -> Explainer:
    return TemplateExplainer(context.config)
