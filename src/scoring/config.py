"""Scoring configuration: every knob of the method, with the paper's defaults.

The daemon builds one `ScoringConfig` from its TOML `[scoring]` section; the CLI and the
benchmarks build theirs directly. Everything here is plain data, so a `ScoreResult.method`
can record exactly which settings produced a score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from scoring.exam import Modality

NerName = Literal["lexicon", "scispacy"]
MatcherName = Literal["exact", "exact+embedding"]
ClassifierName = Literal["rules", "llm", "hybrid"]
ExplainerName = Literal["template", "llm"]


class EsasWeights(BaseModel):
    """Penalty weights of the ESAS denominator (the paper's 2 / 1.5 / 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing: float = Field(2.0, ge=0)
    mismatch: float = Field(1.5, ge=0)
    surplus: float = Field(1.0, ge=0)


class SectionWeights(BaseModel):
    """How the per-section scores combine; the paper's code weighted impression 3 : findings 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    findings: float = Field(1.0, ge=0)
    impression: float = Field(3.0, ge=0)
    report: float = Field(1.0, ge=0)


class LlmSettings(BaseModel):
    """The OpenAI-compatible server (vLLM) the `llm`/`hybrid` back-ends talk to.

    In the daemon this is the top-level `[llm]` section (DESIGN.md §5); the CLI fills it from
    `--llm-url` / `--llm-model`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = ""
    model: str = ""
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    timeout_s: float = Field(30.0, gt=0)
    # Requests in flight at once: enough to keep vLLM's continuous batching fed.
    max_concurrency: int = Field(16, ge=1)
    # Transport errors, 5xx and 429 (the openai SDK's own backoff).
    retries: int = Field(2, ge=0)
    # "batched": every shared entity of a pair in one constrained call; "paper": one call per
    # entity with the paper's question (shared prefix, so vLLM's prefix cache serves it).
    prompt_style: Literal["batched", "paper"] = "batched"
    # LLM unreachable, slow or answering garbage: score now with the rules (flagged) or keep
    # the pair queued and retry later.
    fallback: Literal["rules", "wait"] = "rules"
    max_tokens: int = Field(512, ge=16)

    def key(self) -> str:
        if self.api_key_file is not None:
            return self.api_key_file.read_text(encoding="utf-8").strip()
        return self.api_key.get_secret_value() if self.api_key else "EMPTY"


class ScoringConfig(BaseModel):
    """All settings of one `Scorer`. Unknown keys are an error, so a typo never goes unnoticed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ner: NerName = "lexicon"
    # Measured on the injection set: with the lexicon NER the embedding step changed no
    # decision (bench/eval_injection.py --ablation), so it is opt-in; use it with scispacy.
    matcher: MatcherName = "exact"
    classifier: ClassifierName = "rules"
    explainer: ExplainerName = "template"

    weights: EsasWeights = EsasWeights()
    section_weights: SectionWeights = SectionWeights()

    # Cosine similarity at or above which two different concepts are proposed as one entity.
    embedding_threshold: float = Field(0.80, ge=0, le=1)
    # Sizes differing by more than this fraction (and by more than size_abs_tolerance_mm) differ.
    size_rel_tolerance: float = Field(0.2, ge=0)
    size_abs_tolerance_mm: float = Field(2.0, ge=0)

    # Grade = 1 + number of thresholds the ESAS reaches; four thresholds give grades 1..5.
    grade_thresholds: tuple[float, ...] = (0.35, 0.55, 0.75, 0.95)
    # A site's own thresholds for one modality (`radagree calibrate --from-store` fits them
    # from its attendings' verdicts): the same number of thresholds, so grades keep one scale.
    # A modality not listed uses `grade_thresholds`.
    grade_thresholds_by_modality: dict[Modality, tuple[float, ...]] = Field(default_factory=dict)

    # Findings whose omission, addition or negation/laterality flip is a major discrepancy, in
    # words ("ovarian torsion") or vocabulary ids. None = the packaged list by body region
    # (src/scoring/data/critical.toml); a list replaces it; `critical_findings_extra` adds to
    # whichever list is in force.
    critical_findings: tuple[str, ...] | None = None
    critical_findings_extra: tuple[str, ...] = ()
    # Significance tiers (`src/scoring/data/significance.toml`): findings read as incidental
    # (a difference is minor) or significant (a difference changes management: major) beside
    # the critical list. Words or vocabulary ids, read by the same NER as the reports; the
    # `_extra` lists add to the packaged ones and move a finding between tiers (a site's
    # significant entry beats a packaged incidental one).
    incidental_findings_extra: tuple[str, ...] = ()
    significant_findings_extra: tuple[str, ...] = ()
    # The tier of a finding on no list.
    default_significance: Literal["significant", "incidental"] = "significant"

    # Where the embedding model lives; None = the packaged all-MiniLM-L6-v2.
    embedding_model_path: str | None = None
    # scispacy back-end: the spaCy model package to load.
    scispacy_model: str = "en_core_sci_lg"
    # The LLM server is not here: it is the top-level `[llm]` section (`LlmSettings`), passed
    # to the `Scorer` beside this one, so there is one place to set it.

    @model_validator(mode="before")
    @classmethod
    def _no_llm_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and "llm" in data:
            raise ValueError("LLM settings belong in the top-level [llm] section, not in "
                             "[scoring] ([scoring.llm] / RADAGREE_SCORING__LLM__*)")
        return data

    @field_validator("grade_thresholds")
    @classmethod
    def _ascending(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if list(value) != sorted(value) or any(not 0 <= v <= 1 for v in value):
            raise ValueError("grade_thresholds must be ascending values in [0, 1]")
        return value

    @field_validator("grade_thresholds_by_modality")
    @classmethod
    def _each_ascending(cls, value: dict[str, tuple[float, ...]]
                        ) -> dict[str, tuple[float, ...]]:
        for modality, thresholds in value.items():
            if list(thresholds) != sorted(thresholds) or any(
                    not 0 <= v <= 1 for v in thresholds):
                raise ValueError(f"{modality}: thresholds must be ascending values in [0, 1]")
        return value

    @model_validator(mode="after")
    def _one_scale(self) -> ScoringConfig:
        for modality, thresholds in self.grade_thresholds_by_modality.items():
            if len(thresholds) != len(self.grade_thresholds):
                raise ValueError(
                    f"grade_thresholds_by_modality.{modality} has {len(thresholds)} thresholds,"
                    f" grade_thresholds {len(self.grade_thresholds)}: one grade scale for all")
        return self

    def thresholds_for(self, modality: str) -> tuple[float, ...]:
        return self.grade_thresholds_by_modality.get(modality,  # type: ignore[call-overload]
                                                     self.grade_thresholds)

    @property
    def max_grade(self) -> int:
        return len(self.grade_thresholds) + 1
