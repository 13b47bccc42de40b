"""What a vocabulary term means: its kind and value, written once as a span label.

The term tagger (`scoring.pipeline`) marks every term of a sentence in `doc.spans[TERMS]`
with a label "<kind>:<value>"; the entity reader (`scoring.entities`) and the sentence
reading (`scoring.analysis`) read them back. This leaf module is the one place that knows the
codes, so neither side imports the other for them.
"""

from __future__ import annotations

from enum import StrEnum

from scoring.nlp import Span, filter_spans

TERMS = "radagree_terms"  # the span group the tagger fills


class TermKind(StrEnum):
    FINDING = "F"          # a vocabulary finding: value = finding id
    ABSENT = "F!"          # a term that states the finding's absence ("no pneumothorax")
    ANATOMY = "A"          # value = anatomy id
    HEAD = "H"             # a finding head by its noun: value = head id
    ADJECTIVE = "J"        # a finding head by its adjective ("dilated"): value = head id
    QUALIFIER = "Q"        # value = "kind=value[;kind=value]" (side, severity, change ...)
    NORMAL = "N"           # the words of a normal statement


def label(kind: TermKind, value: str) -> str:
    return f"{kind.value}:{value}"


def parse(text: str) -> tuple[TermKind, str]:
    """A span label back into its kind and value."""
    code, _, value = text.partition(":")
    return TermKind(code), value


def kind(span: Span) -> TermKind:
    return parse(span.label_)[0]


def value(span: Span) -> str:
    return parse(span.label_)[1]


def longest(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, longest first (spaCy's rule), in text order."""
    return sorted(filter_spans(spans), key=lambda s: s.start)
