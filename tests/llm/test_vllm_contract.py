"""Contract tests against the real vLLM engine (CPU, tiny random Llama built by the test).

They prove that every request the LLM back-ends send is accepted by vLLM 0.32 and that the
constrained answers parse. They say nothing about clinical quality: the weights are random.
"""

from __future__ import annotations

import threading
import time

import pytest

from scoring import Scorer, ScoringConfig
from scoring.config import LlmSettings
from scoring.errors import LlmUnavailable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PAIRS = [
    ("FINDINGS: Small left pleural effusion. Mild cardiomegaly. No pneumothorax.\n"
     "IMPRESSION: Small left effusion.",
     "FINDINGS: Large left pleural effusion. Mild cardiomegaly. No pneumothorax.\n"
     "IMPRESSION: Large left effusion."),
    ("FINDINGS: Right lower lobe opacity. Heart size is normal.\nIMPRESSION: Pneumonia.",
     "FINDINGS: Left lower lobe opacity. Heart size is normal.\nIMPRESSION: Pneumonia."),
    ("FINDINGS: 9 mm nodule in the right upper lobe. Stable cardiomegaly.",
     "FINDINGS: 14 mm nodule in the right upper lobe. Stable cardiomegaly."),
]


def make(server, **overrides) -> Scorer:
    classifier = overrides.pop("classifier", "llm")
    explainer = overrides.pop("explainer", "template")
    llm = LlmSettings(**{"base_url": server.base_url, "model": server.model,
                         "timeout_s": 60, **overrides})
    return Scorer(ScoringConfig(classifier=classifier, explainer=explainer), llm)


def shared(result):
    return [e for e in result.entities if e.category in ("matched", "mismatched")]


@pytest.mark.parametrize("style", ["batched", "paper"])
def test_every_request_is_accepted_and_every_answer_parses(vllm_server, style):
    scorer = make(vllm_server, prompt_style=style)
    results = scorer.score_many(PAIRS)
    for result in results:
        assert result.method.fallback is None, result.method.fallback
        assert result.method.classifier == "llm" and result.method.llm_model == "tiny-llama"
        assert shared(result) and all(e.decided_by == "llm" for e in shared(result))
        for e in shared(result):
            assert e.category == "matched" or e.reason is None or e.reason in (
                "negation", "laterality", "anatomy", "certainty", "severity", "size", "change")
    usage = scorer.classifier.client.usage
    n_shared = sum(len(shared(r)) for r in results)
    assert usage.calls == (len(PAIRS) if style == "batched" else n_shared)
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0 and usage.retries == 0


def test_sync_and_async_paths_agree(vllm_server):
    scorer = make(vllm_server)
    one = scorer.score(*PAIRS[0])
    (many,) = scorer.score_many(PAIRS[:1])
    assert [e.category for e in one.entities] == [e.category for e in many.entities]


def test_hybrid_asks_the_llm_less(vllm_server):
    llm, hybrid = make(vllm_server), make(vllm_server, classifier="hybrid")
    llm.score_many(PAIRS)
    results = hybrid.score_many(PAIRS)
    assert all(r.method.fallback is None for r in results)
    assert hybrid.classifier.asked < llm.classifier.asked
    assert hybrid.classifier.decided_by_rules + hybrid.classifier.asked == llm.classifier.asked


def test_llm_explanation_is_kept_or_replaced_with_the_reason(vllm_server):
    scorer = make(vllm_server, explainer="llm")
    for result in scorer.score_many(PAIRS):
        assert result.method.explainer == "llm" and result.explanation.strip()
        fallback = result.method.fallback or ""
        assert fallback == "" or fallback.startswith("explainer:template (")


def test_server_killed_mid_batch(vllm_server):
    """Last in this module: it kills the session's server, then starts it again."""
    pairs = PAIRS * 20
    rules_scorer = make(vllm_server, prompt_style="paper", max_concurrency=2, timeout_s=5,
                        retries=0)
    wait_scorer = make(vllm_server, prompt_style="paper", max_concurrency=2, timeout_s=5,
                       retries=0, fallback="wait")

    def kill_soon() -> None:
        """Once the batch is under way (some answers in), not before, not after."""
        deadline = time.monotonic() + 120
        while rules_scorer.classifier.client.usage.calls < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        vllm_server.kill()

    try:
        killer = threading.Thread(target=kill_soon)
        killer.start()
        started = time.monotonic()
        results = rules_scorer.score_many(pairs)
        killer.join()
        assert len(results) == len(pairs)  # complete, nothing lost
        flagged = [r for r in results if r.method.fallback]
        answered = [r for r in results if not r.method.fallback]
        assert flagged and answered, "some pairs answered before the kill, the rest flagged"
        assert all(e.decided_by in ("llm", "rules-fallback") for r in results for e in shared(r))
        assert time.monotonic() - started < 120  # nothing hangs past the timeouts
        with pytest.raises(LlmUnavailable):
            wait_scorer.score_many(pairs)
    finally:
        vllm_server.start()
    assert make(vllm_server).score(*PAIRS[0]).method.fallback is None  # back in service
