"""Coded errors of the scoring package, each naming what to do about it (spaCy's E-codes)."""

from __future__ import annotations


class ScoringError(Exception):
    """Base of every error the scoring package raises on purpose."""

    code = "S000"


class BackendUnavailable(ScoringError):
    """A back-end named in the configuration cannot run here."""

    code = "S001"

    def __init__(self, kind: str, name: str, why: str, *, available: list[str]) -> None:
        self.kind, self.name, self.available = kind, name, available
        super().__init__(
            f"[{self.code}] {kind}={name!r} unavailable: {why}; available: {', '.join(available)}"
        )


class EmptyReport(ScoringError):
    """A report with no text cannot be compared."""

    code = "S002"

    def __init__(self, which: str) -> None:
        self.which = which
        super().__init__(f"[{self.code}] the {which} report is empty")


class UnknownConcept(ScoringError):
    """A configured finding (e.g. in `critical_findings`) names nothing the NER recognises."""

    code = "S003"

    def __init__(self, setting: str, ids: list[str]) -> None:
        self.ids = ids
        super().__init__(f"[{self.code}] {setting}: no finding recognised in "
                         f"{', '.join(map(repr, ids))}; write the finding as a report would "
                         "(\"ovarian torsion\") or give a vocabulary id")


class LlmUnavailable(ScoringError):
    """The LLM server did not answer usably (unreachable, timed out, or malformed twice).

    With `fallback = "wait"` it reaches the caller, who keeps the pair queued."""

    code = "S004"

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"[{self.code}] LLM unavailable: {why}")


class LlmRejected(LlmUnavailable):
    """The LLM server answered, but cannot serve this request: HTTP 400/413/422 (a prompt over
    the model's context length, say) or a malformed answer twice at temperature 0.

    Waiting would not help (the same request fails the same way), so this pair falls back to
    the rules whatever `fallback` says: with `fallback = "wait"` a single long report
    otherwise held its whole batch in the queue for ever (found by bench/llm_faults.py)."""

    code = "S005"

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.args = (f"[{self.code}] LLM rejected the request: {why}",)
