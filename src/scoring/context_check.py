"""The context check: is a shared entity used in the same way in both reports?

Back-ends are chosen by name (`classifier` in the configuration). `rules` compares the
attributes the NER read; the `llm` and `hybrid` back-ends (vLLM, OpenAI API) live in
`scoring.llm_context` and plug in through the same `ContextClassifier` protocol and registry
(`scoring.backends`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scoring.backends import BuildContext, Registry
from scoring.config import ScoringConfig
from scoring.mention import Mention
from scoring.result import Reason
from scoring.significance import size_band
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
    """Everything the scorer asks of a context check: one verdict per shared entity, for a
    batch of pairs at once (the LLM back-end sends a batch's questions together, so vLLM
    batches them; its event loop stays inside its client)."""

    name: str
    model: str | None

    def check(self, pairs: Sequence[PairContext]) -> list[list[Verdict]]: ...


classifiers: Registry[ContextClassifier] = Registry("classifier")


def _acute_denial_of_old(denial: Mention, finding: Mention) -> bool:
    """"No acute osseous abnormality" does not deny "stable degenerative change"; "no new
    hemorrhage" does not deny the known, stable one."""
    if denial.polarity != "absent" or finding.polarity == "absent":
        return False
    old = finding.change in ("chronic", "stable", "decreased") or finding.historical
    if denial.change == "acute":
        return denial.generic and old
    return denial.change == "new" and old


# A denial qualified by one of these words denies only that kind of the finding: "no
# suspicious calcifications" beside "vascular calcifications", "no significant stenosis" beside
# "mild stenosis", "no displaced fracture" beside "a nondisplaced fracture".
_BENIGN_KIND = frozenset({"benign", "vascular", "vessel", "vessels", "secretory", "coarse",
                          "typical", "typically", "dystrophic", "simple", "physiologic",
                          "physiological", "rod", "lucent", "eggshell", "popcorn", "milk",
                          "encapsulated", "hyperplasia"})
_SUSPICIOUS_KIND = frozenset({"suspicious", "malignant", "pleomorphic", "spiculated",
                              "concerning", "worrisome", "enhancing", "lenticular", "obscured",
                              "erased", "irregular", "indistinct", "infiltrative", "atypical"})


def _narrower_denial(denial: Mention, finding: Mention) -> bool:
    if denial.polarity != "absent" or finding.polarity == "absent":
        return False
    qualifiers = denial.sentence_words
    said = finding.sentence_words
    if qualifiers & _SUSPICIOUS_KIND and said & _BENIGN_KIND and not said & _SUSPICIOUS_KIND:
        return True
    mild = finding.severity is not None and finding.severity <= 2
    if qualifiers & {"significant", "large", "severe"} and mild and \
            not said & {"significant", "large", "severe"}:
        return True
    return "displaced" in qualifiers and ("nondisplaced" in said or {"non", "displaced"} <= said)


def _ladder(severity: int) -> int:
    """Neighbours of one meaning agree: "minimal" = "mild" (trace/minimal and small/mild are
    one rung); moderate and severe stay apart."""
    return max(severity, 2)


def _position(m: Mention) -> str:
    """A position said, where "not displaced" says what an unqualified fracture means."""
    return "" if m.position in (None, "nondisplaced") else m.position


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
        if _acute_denial_of_old(p, f) or _acute_denial_of_old(f, p) or \
                _narrower_denial(p, f) or _narrower_denial(f, p):
            return Verdict(True)
        if p.polarity != f.polarity:
            absent = "absent" in (p.polarity, f.polarity)
            return Verdict(False, "negation" if absent else "certainty")
        if p.laterality and f.laterality and p.laterality != f.laterality:
            return Verdict(False, "laterality")
        if not self.vocabulary.compatible(p.anatomy, f.anatomy):
            return Verdict(False, "organ" if self.vocabulary.other_organ(p.anatomy, f.anatomy)
                           else "anatomy")
        if _position(p) != _position(f):
            return Verdict(False, "anatomy")
        if p.severity is not None and f.severity is not None and _ladder(p.severity) != \
                _ladder(f.severity):
            return Verdict(False, "severity")
        if p.size_mm is not None and f.size_mm is not None and (self._sizes_differ(
                p.size_mm, f.size_mm) or size_band(p.head or f.head, p.size_mm) != size_band(
                p.head or f.head, f.size_mm)):
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


@classifiers.register("rules")
def _rules(context: BuildContext) -> ContextClassifier:
    return RulesClassifier(context.config)
