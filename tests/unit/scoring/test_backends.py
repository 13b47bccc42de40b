"""The back-end registries (`scoring.backends`): one shape for NER, classifier and explainer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scoring import BackendUnavailable, BuildContext, ScoringConfig
from scoring.backends import MODULES, Registry


def test_a_cpu_scorer_never_imports_the_llm_backends():
    """The optional back-ends are imported by name, on first use: scoring on the CPU must
    not load the LLM modules or the openai SDK."""
    code = ("import sys; from scoring import Scorer; s = Scorer(); "
            "s.score('No effusion.', 'Small left pleural effusion.'); "
            "print(sorted(m for m in sys.modules if m in "
            "('scoring.llm_context', 'scoring.llm_explain', 'scoring.llm_client', 'openai')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_every_name_the_configuration_allows_is_registered_somewhere():
    from typing import get_args

    from scoring.config import ClassifierName, ExplainerName, NerName

    for kind, names in (("ner", NerName), ("classifier", ClassifierName),
                        ("explainer", ExplainerName)):
        assert set(get_args(names)) == set(MODULES[kind]), kind  # type: ignore[index]


def test_unknown_name_lists_what_there_is():
    registry: Registry[object] = Registry("classifier")

    @registry.register("mine")
    def _mine(context: BuildContext) -> object:
        return ("built with", context.config.classifier)

    assert registry.make("mine", BuildContext(ScoringConfig())) == ("built with", "rules")
    with pytest.raises(BackendUnavailable) as err:
        registry.make("magic", BuildContext(ScoringConfig()))
    assert "classifier='magic'" in str(err.value)
    assert err.value.available == ["hybrid", "llm", "mine", "rules"]


def test_llm_backends_read_the_llm_section_passed_beside_the_config():
    from scoring import LlmSettings, Scorer

    with pytest.raises(BackendUnavailable, match=r"explainer='llm'.*\[llm\] base_url"):
        Scorer(ScoringConfig(explainer="llm"))
    scorer = Scorer(ScoringConfig(classifier="hybrid", explainer="llm"),
                    LlmSettings(base_url="http://127.0.0.1:9/v1", model="tiny"))
    assert scorer.classifier.model == "tiny" and scorer.method().llm_model == "tiny"
    # the explanation is read with the NER that read the reports
    assert scorer.explainer.ner is scorer.ner  # type: ignore[attr-defined]
