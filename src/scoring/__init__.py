"""radagree scoring: Llama-EntScore (ESAS) for preliminary vs final radiology reports.

Pure library: texts in, `ScoreResult` out. No HL7, FHIR or store in here.

The configuration and result types import in milliseconds; everything that pulls in spaCy,
medspaCy or torch (`Scorer`, the back-end registries, `render_html`) is loaded on first use,
so a process that only reads configuration (the daemon's listener) does not pay 2 s and
~300 MB for models it never runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from scoring.config import EsasWeights, LlmSettings, ScoringConfig, SectionWeights
from scoring.errors import BackendUnavailable, EmptyReport, ScoringError
from scoring.exam import MODALITIES, REGIONS
from scoring.result import Counts, EntityRow, Method, ScoreResult, SectionScore

if TYPE_CHECKING:
    from scoring.backends import BuildContext
    from scoring.context_check import ContextClassifier, PairContext, Verdict, classifiers
    from scoring.explain import Explainer, Explanation, ExplanationInput, explainers
    from scoring.ner import ner_backends
    from scoring.render import render_html
    from scoring.scorer import Scorer

_LAZY = {
    "ContextClassifier": "scoring.context_check",
    "PairContext": "scoring.context_check",
    "Verdict": "scoring.context_check",
    "BuildContext": "scoring.backends",
    "classifiers": "scoring.context_check",
    "explainers": "scoring.explain",
    "ner_backends": "scoring.ner",
    "Explainer": "scoring.explain",
    "Explanation": "scoring.explain",
    "ExplanationInput": "scoring.explain",
    "render_html": "scoring.render",
    "Scorer": "scoring.scorer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scoring' has no attribute {name!r}")


__all__ = [
    "MODALITIES",
    "REGIONS",
    "BackendUnavailable",
    "BuildContext",
    "ContextClassifier",
    "Counts",
    "EmptyReport",
    "EntityRow",
    "EsasWeights",
    "Explainer",
    "Explanation",
    "ExplanationInput",
    "LlmSettings",
    "Method",
    "PairContext",
    "ScoreResult",
    "Scorer",
    "ScoringConfig",
    "ScoringError",
    "SectionScore",
    "SectionWeights",
    "Verdict",
    "classifiers",
    "explainers",
    "ner_backends",
    "render_html",
]
