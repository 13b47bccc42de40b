"""`Mention`: one entity found in one report, with everything said about it.

NER back-ends produce mentions; matching, the context check and the entity table consume them.
Keeping the attributes here, in one flat object, is what lets the rules and the LLM back-ends
be swapped without either knowing how the other reads text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Polarity = Literal["present", "absent", "possible"]

SEVERITY_WORDS = {1: "trace/minimal", 2: "small/mild", 3: "moderate", 4: "large/severe"}


@dataclass
class Mention:
    concept: str
    label: str
    kind: str
    text: str
    start: int
    end: int
    section: str
    sentence: tuple[int, int]
    polarity: Polarity = "present"
    historical: bool = False
    laterality: str | None = None
    severity: int | None = None
    size_mm: float | None = None
    change: str | None = None
    anatomy: str | None = None
    position: str | None = None
    words: dict[str, str] = field(default_factory=dict)
    # The generic finding this one is a kind of ("tear" for an ACL tear): mentions of one
    # head in compatible places are the same finding however each report words it.
    head: str | None = None
    # How the NER read it: vocabulary | head | adjective | normal | phrase.
    how: str = "vocabulary"
    # Names of the place for people (the anatomy id is RadLex's), its coarse label (one of the
    # 56 anatomy labels) and the exam-level body region.
    anatomy_label: str | None = None
    coarse: str | None = None
    region: str | None = None
    codes: tuple[str, ...] = ()
    # The words of its sentence: two reports' mentions of one finding in the same sentence
    # belong together when a finding is described more than once.
    sentence_words: frozenset[str] = frozenset()
    # Other finding heads that describe it ("calcified" nodule: calcification).
    descriptors: tuple[str, ...] = ()
    # Said, but no finding of its own: a sentence's main phrase, an unknown noun phrase, a
    # bare finding word ("prominent", "focus"). It counts in the ESAS (leaving its sentence
    # out shows) but never makes a discrepancy: the class is about findings.
    descriptive: bool = False
    # The spinal level it is said at ("L4-L5: ...", "stenosis at C5-6"), where one is named:
    # a level-by-level report pairs the findings of one level with each other.
    level: str | None = None

    @property
    def generic(self) -> bool:
        """A statement about an organ as a whole ("the liver is normal")."""
        return self.head == "abnormality"

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    @property
    def counted(self) -> bool:
        """A negative statement on its own is no assertion to agree or disagree with."""
        return self.polarity != "absent"

    def signature(self) -> tuple[object, ...]:
        """What makes two mentions of one concept in one section say the same thing."""
        return (self.concept, self.polarity, self.laterality, self.severity, self.size_mm,
                self.change, self.anatomy, self.position)

    def attributes(self) -> dict[str, str]:
        """The attributes as words, for the entity table, FHIR and the LLM prompt."""
        out: dict[str, str] = {"polarity": self.polarity}
        if self.laterality:
            out["laterality"] = self.laterality
        if self.severity is not None:
            out["severity"] = self.words.get("severity", SEVERITY_WORDS[self.severity])
        if self.size_mm is not None:
            out["size"] = self.words.get("size", f"{self.size_mm:g} mm")
        if self.change:
            out["change"] = self.change
        if self.anatomy:
            out["anatomy"] = self.anatomy_label or self.anatomy
        if self.position:
            # a fracture is "displaced", a tube "malpositioned": one value, two words
            out["position"] = "displaced" if self.position == "malpositioned" and \
                self.kind != "device" else self.position
        if self.historical:
            out["historical"] = "yes"
        return out
