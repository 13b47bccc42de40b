"""radagree scoring: Llama-EntScore (ESAS) for preliminary vs final radiology reports.

Pure library: texts in, `ScoreResult` out. No HL7, FHIR or store in here.
"""

from scoring.config import EsasWeights, ScoringConfig, SectionWeights
from scoring.context_check import (
    ContextClassifier,
    PairContext,
    Verdict,
    register_classifier,
)
from scoring.errors import BackendUnavailable, EmptyReport, ScoringError
from scoring.explain import ExplanationInput, register_explainer
from scoring.render import render_html
from scoring.result import Counts, EntityRow, Method, ScoreResult, SectionScore
from scoring.scorer import Scorer

__all__ = [
    "BackendUnavailable",
    "ContextClassifier",
    "Counts",
    "EmptyReport",
    "EntityRow",
    "EsasWeights",
    "ExplanationInput",
    "Method",
    "PairContext",
    "ScoreResult",
    "Scorer",
    "ScoringConfig",
    "ScoringError",
    "SectionScore",
    "SectionWeights",
    "Verdict",
    "register_classifier",
    "register_explainer",
    "render_html",
]
