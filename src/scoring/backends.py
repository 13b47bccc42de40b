"""The back-end registries: NER, context classifier and explainer chosen by name.

One shape for all three (spaCy's `registry` idea, small): a back-end registers a factory under
a name, and the `Scorer` makes it by the name the configuration gives. A back-end that pulls in
heavy or optional code (the LLM ones need `openai`) lives in its own module, listed once in
`MODULES`; it is imported the first time its name is asked for, so a CPU-only install never
imports it and a typo names every back-end there is.

Every factory takes one `BuildContext`, so adding a back-end that needs something new (the
explainer's post-check reads with the scorer's NER) changes this dataclass, not three call
signatures.

Each registry lives next to its protocol (`scoring.ner.ner_backends` beside `NerBackend`,
`scoring.context_check.classifiers` beside `ContextClassifier`, `scoring.explain.explainers`
beside `Explainer`), typed by it; this module holds only what they share and imports no
back-end, so no plug-in module imports another's home in a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Generic, Literal, TypeVar

from scoring.config import LlmSettings, ScoringConfig
from scoring.errors import BackendUnavailable

Kind = Literal["ner", "classifier", "explainer"]
T = TypeVar("T")

# Where each back-end registers itself: imported on first use of its name.
MODULES: dict[Kind, dict[str, str]] = {
    "ner": {"lexicon": "scoring.ner", "scispacy": "scoring.ner"},
    "classifier": {"rules": "scoring.context_check", "llm": "scoring.llm_context",
                   "hybrid": "scoring.llm_context"},
    "explainer": {"template": "scoring.explain", "llm": "scoring.llm_explain"},
}


@dataclass(frozen=True)
class BuildContext:
    """What a back-end is built from: `[scoring]`, `[llm]` (the only source of LLM settings)
    and, for the explainer, the NER the scorer reads reports with."""

    config: ScoringConfig
    llm: LlmSettings = field(default_factory=LlmSettings)
    # The scorer's `scoring.ner.NerBackend` (typed loosely: see the module's docstring).
    ner: Any = None


class Registry(Generic[T]):
    """Factories of one kind of back-end, by name."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[BuildContext], T]] = {}

    def register(self, name: str) -> Callable[[Callable[[BuildContext], T]],
                                              Callable[[BuildContext], T]]:
        """Decorator: `@classifiers.register("rules")` over a factory or a class."""
        def add(factory: Callable[[BuildContext], T]) -> Callable[[BuildContext], T]:
            self._factories[name] = factory
            return factory
        return add

    def names(self) -> list[str]:
        return sorted({*self._factories, *MODULES[self.kind]})

    def make(self, name: str, context: BuildContext) -> T:
        if name not in self._factories and name in MODULES[self.kind]:
            import_module(MODULES[self.kind][name])
        factory = self._factories.get(name)
        if factory is None:
            raise BackendUnavailable(self.kind, name, "not registered", available=self.names())
        return factory(context)
