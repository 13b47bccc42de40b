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
from collections.abc import Sequence

from scoring.backends import BuildContext
from scoring.errors import BackendUnavailable, LlmUnavailable
from scoring.explain import (
    Explainer,
    Explanation,
    ExplanationInput,
    TemplateExplainer,
    describe,
    explainers,
)
from scoring.llm_client import shared_client
from scoring.ner import NerBackend, ner_backends
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

    def __init__(self, context: BuildContext) -> None:
        if not context.llm.base_url or not context.llm.model:
            raise BackendUnavailable("explainer", "llm", "[llm] base_url and model are not set",
                                     available=["template"])
        self.config = context.config
        self.client = shared_client(context.llm)  # the classifier's too
        self.template = TemplateExplainer(context.config)
        # The explanation is read with the NER that read the reports (the scorer's own).
        self.ner: NerBackend = context.ner or ner_backends.make("lexicon", context)
        self.rejected = 0

    def explain_many(self, items: Sequence[ExplanationInput]) -> list[Explanation]:
        """Every pair's explanation asked at once, on the client's loop."""
        async def ask_all() -> list[Explanation]:
            return list(await asyncio.gather(*(self.aexplain(data) for data in items)))
        return self.client.run(ask_all())

    async def aexplain(self, data: ExplanationInput) -> Explanation:
        """The LLM's text if it passes the post-check, else the template's, saying why."""
        try:
            text = await self.client.text(explanation_messages(data))
        except LlmUnavailable:
            return Explanation(self.template.explain(data),
                               "explainer:template (LLM unavailable)")
        problem = self.problem(text, data)
        if problem:
            self.rejected += 1
            return Explanation(self.template.explain(data), f"explainer:template ({problem})")
        return Explanation(text)

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
        whole = [Section("report", 0, len(text))]
        mentions = self.ner.extract_many([(text, whole)])[0]
        # Only what the vocabulary names: words it only read as a phrase ("the report")
        # and statements of normality are no finding an explanation could invent.
        return {(m.concept, m.head) for m in mentions if m.counted and m.how not in (
            "phrase", "statement", "normal") and not m.generic}


@explainers.register("llm")
def _llm(context: BuildContext) -> Explainer:
    return LlmExplainer(context)
