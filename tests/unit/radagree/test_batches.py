"""`score_batch_or_each`: the batch at once, else pair by pair, with the batch's error
reported first; the LLM being away (fallback "wait") goes through to the caller."""

from __future__ import annotations

import pytest

from radagree.batches import score_batch_or_each
from scoring import Scorer, ScoringConfig
from scoring.config import LlmSettings
from scoring.errors import EmptyReport, LlmUnavailable
from support.openai_fake import FakeOpenAI

PRELIM = "FINDINGS: Small left pleural effusion.\nIMPRESSION: Left effusion."
FINAL = "FINDINGS: Large left pleural effusion.\nIMPRESSION: Left effusion."


def test_a_good_batch_is_scored_at_once(scorer):
    seen: list[Exception] = []
    results = score_batch_or_each(scorer, [(PRELIM, FINAL)] * 2, [None, None],
                                  on_batch_error=seen.append)
    assert seen == [] and [r.esas for r in results] == [scorer.score(PRELIM, FINAL).esas] * 2


def test_one_bad_pair_stays_one_failure_and_the_batch_error_is_reported(scorer):
    seen: list[Exception] = []
    results = score_batch_or_each(scorer, [(PRELIM, FINAL), ("", FINAL), (FINAL, PRELIM)],
                                  [None, None, "CT CHEST"], on_batch_error=seen.append)
    assert [type(e) for e in seen] == [EmptyReport]  # reported once, before the retry
    assert isinstance(results[1], EmptyReport)
    assert results[0].esas == scorer.score(PRELIM, FINAL).esas
    assert results[2].exam == scorer.score(FINAL, PRELIM, "CT CHEST").exam


def test_the_llm_away_with_wait_goes_through_whole():
    server = FakeOpenAI(lambda body, n: (503, {}, {"error": {"message": "down"}}))
    try:
        llm = LlmSettings(base_url=server.base_url, model="fake", timeout_s=2, retries=0,
                          fallback="wait")
        waiting = Scorer(ScoringConfig(classifier="llm"), llm)
        seen: list[Exception] = []
        with pytest.raises(LlmUnavailable):
            score_batch_or_each(waiting, [(PRELIM, FINAL)] * 2, [None, None],
                                passthrough=(LlmUnavailable,), on_batch_error=seen.append)
        assert seen == []
    finally:
        server.close()
