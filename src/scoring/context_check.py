"""The context check: is a shared entity used in the same way in both reports?

Back-ends are chosen by name (`classifier` in the configuration). `rules` compares the
attributes the NER read; the `llm` back-end (vLLM, OpenAI API) plugs in through the same
`ContextClassifier` protocol and is built by the LLM package when configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from scoring.config import ScoringConfig
from scoring.errors import BackendUnavailable
from scoring.mention import Mention
from scoring.result import Reason
from scoring.vocabulary import Vocabulary, load_vocabulary


@dataclass(frozen=True)
class Verdict:
    same: bool
    reason: Reason | None = None
    decided_by: str = "rules"


@dataclass(frozen=True)
class PairContext:
    """What a classifier may look at for one report pair: both texts and the shared entities."""

    prelim_text: str
    final_text: str
    shared: Sequence[tuple[Mention, Mention]]


class ContextClassifier(Protocol):
    name: str
    model: str | None

    def check(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]: ...

    async def acheck(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]: ...


def _acute_denial_of_old(denial: Mention, finding: Mention) -> bool:
    """"No acute osseous abnormality" does not deny "stable degenerative change"."""
    return (denial.generic and denial.polarity == "absent" and denial.change == "acute"
            and finding.polarity != "absent" and finding.change in ("chronic", "stable"))


class RulesClassifier:
    """Attribute by attribute, in order of clinical weight; the first difference is the reason.

    An attribute said in one report and unsaid in the other is no difference: "effusion" and
    "small effusion" agree, "left" and "right" do not.
    """

    name = "rules"
    model = None

    def __init__(self, config: ScoringConfig, vocabulary: Vocabulary | None = None) -> None:
        self.config = config
        self.vocabulary = vocabulary or load_vocabulary()

    def verdict(self, p: Mention, f: Mention) -> Verdict:
        if _acute_denial_of_old(p, f) or _acute_denial_of_old(f, p):
            return Verdict(True)
        if p.polarity != f.polarity:
            absent = "absent" in (p.polarity, f.polarity)
            return Verdict(False, "negation" if absent else "certainty")
        if p.laterality and f.laterality and p.laterality != f.laterality:
            return Verdict(False, "laterality")
        if not self.vocabulary.compatible(p.anatomy, f.anatomy):
            return Verdict(False, "anatomy")
        if (p.position or "") != (f.position or ""):
            return Verdict(False, "anatomy")
        if p.severity is not None and f.severity is not None and p.severity != f.severity:
            return Verdict(False, "severity")
        if p.size_mm is not None and f.size_mm is not None and self._sizes_differ(
                p.size_mm, f.size_mm):
            return Verdict(False, "size")
        if p.change and f.change and p.change != f.change:
            return Verdict(False, "change")
        return Verdict(True)

    def _sizes_differ(self, a: float, b: float) -> bool:
        diff = abs(a - b)
        return (diff > self.config.size_abs_tolerance_mm
                and diff > self.config.size_rel_tolerance * max(a, b))

    def check(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]:
        return [[self.verdict(p, f) for p, f in pair.shared] for pair in pairs]

    async def acheck(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]:
        return self.check(pairs)


ClassifierFactory = Callable[[ScoringConfig], ContextClassifier]
CLASSIFIERS: dict[str, ClassifierFactory] = {"rules": RulesClassifier}


def register_classifier(name: str, factory: ClassifierFactory) -> None:
    """Where the LLM back-ends plug in, without scoring importing them."""
    CLASSIFIERS[name] = factory


def make_classifier(config: ScoringConfig) -> ContextClassifier:
    if config.classifier in ("llm", "hybrid") and config.classifier not in CLASSIFIERS:
        import scoring.llm_context  # noqa: F401 - registers the LLM back-ends
    factory = CLASSIFIERS.get(config.classifier)
    if factory is None:
        raise BackendUnavailable("classifier", config.classifier, "not registered",
                                 available=sorted(CLASSIFIERS))
    return factory(config)
