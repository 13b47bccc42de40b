"""`ScoreResult`: the one object that leaves the scoring package.

Field names are a contract (DESIGN.md §4): outbound maps them to FHIR, the CLI prints them as
JSON, the store keeps them. Add fields; never rename one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scoring.exam import Exam

Category = Literal["matched", "mismatched", "missing", "surplus"]
Reason = Literal["negation", "certainty", "laterality", "severity", "size", "change", "anatomy",
                 "category", "recommendation", "impression", "organ"]
Significance = Literal["critical", "significant", "incidental"]
Discrepancy = Literal["none", "minor", "major"]


class Counts(BaseModel):
    model_config = ConfigDict(frozen=True)

    matched: int = 0
    mismatched: int = 0
    missing: int = 0
    surplus: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            matched=self.matched + other.matched,
            mismatched=self.mismatched + other.mismatched,
            missing=self.missing + other.missing,
            surplus=self.surplus + other.surplus,
        )


class EntityRow(BaseModel):
    """One aligned or unaligned entity: what the preliminary said beside what the final said.

    Spans are character offsets into the full report text as given to `Scorer.score`.
    `counted` is False for rows that do not enter the ESAS (a negative statement made in only
    one report: "no pneumothorax" against silence says the same thing).
    """

    model_config = ConfigDict(frozen=True)

    category: Category
    concept: str
    label: str
    kind: str = Field(description="entity type: finding or device")
    section: str
    prelim_text: str | None = None
    prelim_span: tuple[int, int] | None = None
    final_text: str | None = None
    final_span: tuple[int, int] | None = None
    prelim_attributes: dict[str, str] = Field(default_factory=dict)
    final_attributes: dict[str, str] = Field(default_factory=dict)
    reason: Reason | None = None
    match: Literal["exact", "head", "normal", "embedding"] | None = None
    similarity: float | None = None
    critical: bool = False
    counted: bool = True
    decided_by: str = "rules"
    # Where the finding is: a RadLex RID (or an RA: id where RadLex has no such structure), its
    # name, its coarse anatomy label (one of 56) and the exam-level body region.
    anatomy: str | None = None
    anatomy_label: str | None = None
    coarse_anatomy: str | None = None
    region: str | None = None
    # The generic finding ("tear") this one is a kind of; codes of the concept in its sources
    # ("radlex|RID...", "oifm|OIFM_...", "hpo|HP:..."), for the FHIR output.
    head: str | None = None
    codes: list[str] = Field(default_factory=list)
    # What the preliminary called it, where that differs from `label` ("no intracranial
    # hemorrhage" against the final's "subdural hematoma").
    prelim_label: str | None = None
    # How much a difference about this finding matters (scoring.significance) and whether
    # this row's difference changes management (what makes the discrepancy major).
    significance: Significance | None = None
    actionable: bool = False
    # Words the NER kept without a finding of their own (scoring.clinical): counted in the
    # ESAS, never a discrepancy.
    descriptive: bool = False

    def label_of(self, side: str) -> str:
        """The name of the entity as the report on `side` ("prelim" or "final") put it."""
        return self.prelim_label if side == "prelim" and self.prelim_label else self.label


class Method(BaseModel):
    """What produced the score, so any number can be reproduced and compared."""

    model_config = ConfigDict(frozen=True)

    ner: str
    matcher: str
    classifier: str
    explainer: str
    embedding_model: str | None = None
    llm_model: str | None = None
    weights: dict[str, float]
    section_weights: dict[str, float]
    embedding_threshold: float
    grade_thresholds: list[float]
    lexicon_version: str
    version: str
    fallback: str | None = None


class SectionScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    section: str
    esas: float
    weight: float
    counts: Counts


class ScoreResult(BaseModel):
    """The score of one preliminary/final pair. JSON-serialisable with `model_dump(mode="json")`."""

    model_config = ConfigDict(frozen=True)

    esas: float = Field(ge=0, le=1)
    grade: int
    discrepancy: Discrepancy
    counts: Counts
    entities: list[EntityRow]
    explanation: str
    method: Method
    timings_ms: dict[str, float]
    sections: list[SectionScore] = Field(default_factory=list)
    # The modality and body region scored (from the procedure, else the report), which the
    # metrics and the FHIR output carry.
    exam: Exam = Field(default_factory=Exam)
