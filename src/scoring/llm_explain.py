"""Explanation by an LLM (`explainer = "llm"`), anchored on the computed score.

The prompt gives the ESAS, the grade, the discrepancy and the entity table, and asks the model
to justify them, not to score. A post-check then rejects an explanation that
- names a finding that is not in the table (read with the same lexicon NER as the reports), or
- states a score or grade other than the computed ones;
a rejected (or failed) explanation is replaced by the deterministic template, and the result's
`method.fallback` says so.
"""

from __future__ import annotations

import asyncio
import re

from scoring.config import ScoringConfig
from scoring.errors import BackendUnavailable, LlmUnavailable
from scoring.explain import ExplanationInput, TemplateExplainer, describe, register_explainer
from scoring.llm_client import LlmClient
from scoring.sections import Section

_NUMBER = re.compile(r"(?<![\w.])(0?\.\d+|1\.0+|[01])(?![\w.])")
_GRADE = re.compile(r"\bgrade\s*(?:of\s*)?(\d+)", re.IGNORECASE)


def explanation_messages(data: ExplanationInput) -> list[dict[str, str]]:
    rows = "\n".join(
        f"- {r.category}: {describe(r.final_attributes or r.prelim_attributes, r.label)}"
        + (f" (reason: {r.reason})" if r.reason else "")
        + (" [critical]" if r.critical else "")
        for r in data.rows if r.counted)
    return [
        {"role": "system", "content": (
            "You write feedback for a radiology trainee whose preliminary report was compared "
            "with the final report. The score is already computed: explain it, do not change "
            "it. Mention only findings from the table. Three sentences at most.")},
        {"role": "user", "content": (
            f"Agreement score (ESAS): {data.esas:.2f}\nGrade: {data.grade} of "
            f"{data.max_grade}\nDiscrepancy: {data.discrepancy}\nEntities:\n{rows or '- none'}")},
    ]


class LlmExplainer:
    name = "llm"

    def __init__(self, config: ScoringConfig) -> None:
        if not config.llm.base_url or not config.llm.model:
            raise BackendUnavailable("explainer", "llm", "[llm] base_url and model are not set",
                                     available=["template"])
        self.config = config
        self.client = LlmClient(config.llm)
        self.template = TemplateExplainer(config)
        # The lexicon NER that reads the explanation; the Scorer shares its own when it has one.
        self.ner: object | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.rejected = 0

    def explain(self, data: ExplanationInput) -> str:
        return self.explain_checked(data)[0]

    def explain_checked(self, data: ExplanationInput) -> tuple[str, str | None]:
        """Synchronous callers: a private loop that lives as long as this explainer."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self.aexplain(data))

    async def aexplain(self, data: ExplanationInput) -> tuple[str, str | None]:
        """(explanation, fallback): fallback is None when the LLM's text was kept."""
        try:
            text = await self.client.text(explanation_messages(data))
        except LlmUnavailable:
            return self.template.explain(data), "explainer:template (LLM unavailable)"
        problem = self.problem(text, data)
        if problem:
            self.rejected += 1
            return self.template.explain(data), f"explainer:template ({problem})"
        return text, None

    def problem(self, text: str, data: ExplanationInput) -> str | None:
        """Why this explanation may not be shown; None when it passes."""
        for number in _NUMBER.findall(text):
            if abs(float(number) - data.esas) > 0.006 and float(number) not in (0.0, 1.0):
                return f"states score {number}, computed {data.esas:.2f}"
        for grade in _GRADE.findall(text):
            if int(grade) != data.grade:
                return f"states grade {grade}, computed {data.grade}"
        known = {r.concept for r in data.rows} | {r.head for r in data.rows if r.head}
        for concept, head in self._concepts(text):
            if concept not in known and head not in known:
                return f"names {concept!r}, which is not in the entity table"
        return None

    def _concepts(self, text: str) -> set[tuple[str, str | None]]:
        """(concept, head) of each finding the text names ("effusion" is the pleural
        effusion of the table by its head)."""
        if self.ner is None:
            from scoring.ner import make_ner

            self.ner = make_ner("lexicon")
        whole = [Section("report", 0, len(text))]
        mentions = self.ner.extract_many([(text, whole)])[0]  # type: ignore[attr-defined]
        # Only what the vocabulary names: words it only read as a phrase ("the report")
        # and statements of normality are no finding an explanation could invent.
        return {(m.concept, m.head) for m in mentions if m.counted and m.how not in (
            "phrase", "statement", "normal") and not m.generic}


register_explainer("llm", LlmExplainer)
