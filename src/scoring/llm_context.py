"""Context check by an LLM (`classifier = "llm"`) or by rules and LLM together ("hybrid").

Prompts put what is shared first (instructions, then both reports) and what varies last, so
vLLM's prefix cache serves every entity of a pair from one prefill (DESIGN.md §9):

- `paper` style: the paper's own question, one call per shared entity, answer constrained to
  one word (`same` / `different`);
- `batched` style (default): every shared entity of the pair labelled in one call, answer a
  JSON object constrained by a fully bounded schema (label enum + the rules' reason enum).

Hybrid: the rules decide where they are certain — identical attribute sets (same), or a hard
conflict of negation, laterality or organ (different) — and the LLM is asked only about the rest.
When the LLM fails, `fallback = "rules"` scores with the rules and marks those entities
`decided_by = "rules-fallback"`; `fallback = "wait"` raises `LlmUnavailable` to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from scoring.backends import BuildContext
from scoring.context_check import (
    ContextClassifier,
    PairContext,
    RulesClassifier,
    Verdict,
    classifiers,
)
from scoring.errors import BackendUnavailable, LlmRejected, LlmUnavailable
from scoring.llm_client import shared_client
from scoring.mention import Mention

REASONS = ["negation", "laterality", "anatomy", "certainty", "severity", "size", "change"]
INSTRUCTIONS = (
    "You compare a radiology trainee's preliminary report (Text A) with the final report "
    "(Text B). For an entity found in both, decide whether it is used in the same context "
    "or a different context: different means the reports disagree about it (present vs "
    "absent, certain vs uncertain, left vs right, location, severity, size or change over "
    "time). Wording differences alone are not a difference."
)


def _reports(pair: PairContext) -> str:
    return f"Text A (preliminary):\n{pair.prelim_text}\n\nText B (final):\n{pair.final_text}"


def _shared_prefix(pair: PairContext) -> list[dict[str, str]]:
    return [{"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": _reports(pair)}]


def paper_messages(pair: PairContext, p: Mention) -> list[dict[str, str]]:
    """The paper's question for one entity, after the identical prefix."""
    question = (f"Answer with a single word, same or different: is the entity '{p.label}' "
                "used in the same context or different context in these two texts?")
    return [*_shared_prefix(pair), {"role": "user", "content": question}]


def batched_messages(pair: PairContext, items: Sequence[tuple[Mention, Mention]]
                     ) -> list[dict[str, str]]:
    lines = [f"{n}. {p.label} (A: \"{p.text}\"; B: \"{f.text}\")"
             for n, (p, f) in enumerate(items, start=1)]
    ask = ("Label every entity below, in order, one array item each: label same or different, "
           "and when different the main reason (" + ", ".join(REASONS) + "); reason none "
           "when same.\n" + "\n".join(lines))
    return [*_shared_prefix(pair), {"role": "user", "content": ask}]


def batched_schema(n: int) -> dict[str, Any]:
    """Fully bounded: exactly `n` items (one per entity, in order) of two enums."""
    item = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": ["same", "different"]},
            "reason": {"type": "string", "enum": [*REASONS, "none"]},
        },
        "required": ["label", "reason"],
        "additionalProperties": False,
    }
    return {"type": "object",
            "properties": {"entities": {"type": "array", "items": item,
                                        "minItems": n, "maxItems": n}},
            "required": ["entities"], "additionalProperties": False}


class LlmClassifier:
    def __init__(self, context: BuildContext, hybrid: bool = False) -> None:
        self.config = context.config
        self.settings = context.llm
        self.hybrid = hybrid
        self.name = "hybrid" if hybrid else "llm"
        self.model = context.llm.model
        self.rules = RulesClassifier(context.config)
        if not context.llm.base_url or not context.llm.model:
            raise BackendUnavailable(
                "classifier", self.name, "[llm] base_url and model are not set",
                available=["rules"])
        self.client = shared_client(context.llm)  # the explainer's too
        self.asked = 0  # entities sent to the LLM (hybrid saves the others)
        self.decided_by_rules = 0

    def check(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]:
        """Every pair's questions at once, on the client's loop (vLLM batches them)."""
        return self.client.run(self._check_all(pairs))

    async def _check_all(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]:
        return list(await asyncio.gather(*(self._pair(pair) for pair in pairs)))

    def certain(self, p: Mention, f: Mention) -> Verdict | None:
        """Where the rules need no help (hybrid): same attributes, or a hard conflict."""
        if p.attributes() == f.attributes():
            return Verdict(True, decided_by="rules")
        verdict = self.rules.verdict(p, f)
        if not verdict.same and verdict.reason in ("negation", "laterality", "organ"):
            return Verdict(False, verdict.reason, decided_by="rules")
        return None

    async def _pair(self, pair: PairContext) -> list[Verdict]:
        verdicts: list[Verdict | None] = [None] * len(pair.shared)
        todo: list[int] = []
        for n, (p, f) in enumerate(pair.shared):
            decided = self.certain(p, f) if self.hybrid else None
            if decided is None:
                todo.append(n)
            else:
                verdicts[n] = decided
                self.decided_by_rules += 1
        if todo:
            self.asked += len(todo)
            try:
                answers = await self._ask(pair, [pair.shared[n] for n in todo])
            except LlmUnavailable as exc:
                if self.settings.fallback == "wait" and not isinstance(exc, LlmRejected):
                    raise
                answers = [Verdict(v.same, v.reason, decided_by="rules-fallback")
                           for v in (self.rules.verdict(*pair.shared[n]) for n in todo)]
            for n, verdict in zip(todo, answers, strict=True):
                verdicts[n] = verdict
        return [v for v in verdicts if v is not None]

    async def _ask(self, pair: PairContext, items: Sequence[tuple[Mention, Mention]]
                   ) -> list[Verdict]:
        if self.settings.prompt_style == "paper":
            words = await asyncio.gather(*(
                self.client.choice(paper_messages(pair, p), ["same", "different"])
                for p, _ in items))
            # The paper's answer has no reason; where the rules also see a difference, theirs
            # is the best available name for it.
            return [Verdict(True, decided_by="llm") if w == "same" else
                    Verdict(False, self.rules.verdict(p, f).reason, decided_by="llm")
                    for w, (p, f) in zip(words, items, strict=True)]
        answer = await self.client.json(batched_messages(pair, items), "entity_labels",
                                        batched_schema(len(items)))
        out = []
        for entry in answer["entities"]:  # the schema fixed its length to len(items)
            same = entry["label"] == "same"
            reason = None if same or entry["reason"] == "none" else entry["reason"]
            out.append(Verdict(same, reason, decided_by="llm"))
        return out


@classifiers.register("llm")
def _llm(context: BuildContext) -> ContextClassifier:
    return LlmClassifier(context)


@classifiers.register("hybrid")
def _hybrid(context: BuildContext) -> ContextClassifier:
    return LlmClassifier(context, hybrid=True)
