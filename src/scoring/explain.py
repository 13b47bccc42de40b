"""Explanations anchored on the computed score, built from the entity table.

`template` (default) is deterministic: the same table always gives the same words, so a
supervisor can trust that two trainees with the same errors read the same feedback. The `llm`
explainer (`scoring.llm_explain`) registers itself in the same registry (`scoring.backends`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scoring.backends import BuildContext, explainers
from scoring.config import ScoringConfig
from scoring.result import Counts, Discrepancy, EntityRow

_REASON_WORDS = {
    "negation": "present in one report, absent in the other",
    "certainty": "stated with different certainty",
    "laterality": "on a different side",
    "anatomy": "in a different place",
    "severity": "of a different severity",
    "size": "of a different size",
    "change": "with a different change over time",
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


def describe(attributes: dict[str, str], label: str) -> str:
    """"small right pleural effusion (lower lobe)" from the attribute words."""
    words = []
    if attributes.get("polarity") == "absent":
        words.append("no")
    elif attributes.get("polarity") == "possible":
        words.append("possible")
    for key in ("change", "severity", "laterality"):
        if key in attributes:
            words.append(attributes[key])
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


class TemplateExplainer:
    name = "template"

    def __init__(self, config: ScoringConfig | None = None) -> None:
        self.config = config

    def explain_many(self, items: Sequence[ExplanationInput]) -> list[Explanation]:
        return [Explanation(self.explain(data)) for data in items]

    def explain(self, data: ExplanationInput) -> str:
        counted = [r for r in data.rows if r.counted]
        final_total = sum(1 for r in counted if r.category != "surplus")
        head = (f"ESAS {data.esas:.2f}, grade {data.grade} of {data.max_grade}: "
                f"{_DISCREPANCY_WORDS[data.discrepancy]}.")
        if not counted:
            return head + " Neither report asserts a finding, so there is nothing to disagree on."
        parts = [head]
        if final_total:
            parts.append(f"The preliminary agreed with the final on {data.counts.matched} of "
                         f"{final_total} finding{'s' if final_total != 1 else ''} of the final.")
        missing = [r for r in counted if r.category == "missing"]
        surplus = [r for r in counted if r.category == "surplus"]
        changed = [r for r in counted if r.category == "mismatched"]
        if missing:
            parts.append(f"Missed (in the final only): {_names(missing, 'final')}.")
        if surplus:
            parts.append(f"Added (not in the final): {_names(surplus, 'prelim')}.")
        changes: list[str] = []
        for r in changed:
            changes.append(
                f"{r.label.capitalize()} is {_REASON_WORDS.get(r.reason or '', 'different')}: "
                f"preliminary '{describe(r.prelim_attributes, r.label_of('prelim'))}', "
                f"final '{describe(r.final_attributes, r.label)}'"
                + (" [critical]." if r.critical else ".")
            )
        parts += list(dict.fromkeys(changes))
        critical = [r for r in counted if r.critical and r.category != "matched"]
        if data.discrepancy == "major" and critical:
            parts.append("This matters clinically: "
                         + ", ".join(dict.fromkeys(r.label for r in critical))
                         + " is on the list of findings that must not be missed or misstated.")
        return " ".join(parts)


@explainers.register("template")
def _template(context: BuildContext) -> Explainer:
    return TemplateExplainer(context.config)
