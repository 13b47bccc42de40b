"""Score a batch at once, else pair by pair: the one rule the scoring worker and
`radagree score-batch` share.

`Scorer.score_many` reads all texts in one NER pass and sends an LLM back-end's requests
together (vLLM batches them), so a batch goes whole first. One bad pair makes the whole call
raise; the batch is then scored pair by pair, so that one failure stays one failure and the
others are still scored. The batch's own error is reported first (`on_batch_error`): it
says why a batch was slow, and a bug in the batched path must not hide behind the retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scoring import Scorer, ScoreResult


def score_batch_or_each(
    scorer: Scorer, pairs: Sequence[tuple[str, str]], procedures: Sequence[str | None], *,
    passthrough: tuple[type[Exception], ...] = (),
    on_batch_error: Callable[[Exception], None] | None = None,
) -> list[ScoreResult | Exception]:
    """One result or exception per pair, in order. An exception of a `passthrough` type
    (the LLM being away with `fallback = "wait"`: the batch goes back to the queue whole)
    is raised, from the batch or from any pair."""
    try:
        return list(scorer.score_many(pairs, procedures))
    except passthrough:
        raise
    except Exception as exc:
        if on_batch_error is not None:
            on_batch_error(exc)
    out: list[ScoreResult | Exception] = []
    for (prelim, final), procedure in zip(pairs, procedures, strict=True):
        try:
            out.append(scorer.score(prelim, final, procedure))
        except passthrough:
            raise
        except Exception as exc:
            out.append(exc)
    return out
