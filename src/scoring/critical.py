"""Critical findings: the packaged list by body region (`data/critical.toml`), or a site's.

Entries are words, read by the same NER as the reports in the entry's region, so a site writes
"ovarian torsion" rather than a vocabulary id, and an entry covers every wording the NER
recognises ("torsion of the right ovary", "torsed left adnexa"). A report's finding is critical
when it is the entry's concept, or the entry's head at the entry's place or within it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scoring.errors import UnknownConcept
from scoring.exam import REGIONS
from scoring.mention import Mention
from scoring.sections import Section
from scoring.vocabulary import Vocabulary, read_data_toml

if TYPE_CHECKING:
    from scoring.ner import NerBackend

LARGE = 4
ANY = "any"


@dataclass(frozen=True)
class Rule:
    name: str
    region: str  # a body region, or "any"
    concept: str
    head: str | None
    anatomy: str | None


def _kinds_of(rules: list[Rule], vocabulary: Vocabulary) -> list[Rule]:
    """Concepts whose name is a rule's concept with words in front ("obstructive
    hydrocephalus", "tension pneumothorax") are kinds of it, and as critical."""
    by_last: dict[str, list[str]] = {}
    for f in vocabulary.findings.values():
        by_last.setdefault(f.label.rsplit(" ", 1)[-1], []).append(f.id)
    out = []
    for rule in rules:
        base = vocabulary.findings.get(rule.concept)
        if base is None:
            continue
        for fid in by_last.get(base.label.rsplit(" ", 1)[-1], []):
            label = vocabulary.findings[fid].label
            if fid != base.id and label.endswith(" " + base.label):
                out.append(Rule(rule.name, rule.region, fid, rule.head, rule.anatomy))
    return out


def default_entries() -> list[tuple[str, str]]:
    """(region, words) of the packaged list."""
    raw = read_data_toml("critical.toml")
    return [(region, words) for region, table in raw.items() for words in table["findings"]]


class CriticalFindings:
    """Which mentions are critical, given the exam region."""

    def __init__(self, rules: Iterable[Rule], vocabulary: Vocabulary) -> None:
        self.rules = tuple(rules)
        self.vocabulary = vocabulary
        self._by_concept: dict[str, list[Rule]] = {}
        self._by_head: dict[str, list[Rule]] = {}
        for r in self.rules:
            self._by_concept.setdefault(r.concept, []).append(r)
            if r.head:
                self._by_head.setdefault(r.head, []).append(r)

    @classmethod
    def resolve(cls, ner: NerBackend, vocabulary: Vocabulary,
                entries: Sequence[tuple[str, str]], setting: str = "critical_findings",
                vocabulary_flags: bool = True, strict: bool = True) -> CriticalFindings:
        """Read each entry with the NER; a vocabulary id stands for itself. The vocabulary's
        own `critical` concepts join the list unless `vocabulary_flags` is off (a list of
        another tier read the same way)."""
        rules: list[Rule] = []
        unread: list[str] = []
        texts = [words for _, words in entries]
        reads = ner.read_many([(t, [Section("report", 0, len(t))]) for t in texts])
        speller = getattr(ner, "speller", None)
        for (region, words), read in zip(entries, reads, strict=True):
            if words in vocabulary.findings:
                f = vocabulary.findings[words]
                rules.append(Rule(words, region, f.id, f.head, f.anatomy))
                continue
            if strict and speller is not None and speller.correct(words) is not None:
                unread.append(words)  # a site's typo is named, not read as a guess
                continue
            found = [m for m in ner.mentions(read, region if region in REGIONS else "unknown")
                     if m.polarity != "absent" and m.how not in ("normal", "statement")]
            if not found:
                unread.append(words)
            for m in found:
                rules.append(Rule(words, region, m.concept, m.head, m.anatomy))
        if unread and strict:
            raise UnknownConcept(setting, unread)
        if vocabulary_flags:
            rules += [Rule(f.id, ANY, f.id, f.head, f.anatomy)
                      for f in vocabulary.findings.values() if f.critical]
        return cls(rules + _kinds_of(rules, vocabulary), vocabulary)

    def is_critical(self, m: Mention | None, exam_region: str = "unknown") -> bool:
        """Current (not old, healed or resolved), stated, and on the list; or a large pleural
        effusion; or a device said to be in the wrong place."""
        if m is None or m.polarity == "absent" or m.how == "normal":
            return False
        if m.change in ("chronic", "resolved") or m.historical:
            return False
        if m.kind == "device" and m.position == "malpositioned":
            return True
        if m.head == "effusion" and m.anatomy and (m.severity or 0) >= LARGE and \
                self.vocabulary.within(m.anatomy, "RID1362"):
            return True
        return self.listed(m, exam_region) > 0

    def listed(self, m: Mention, exam_region: str = "unknown") -> int:
        """How closely the list names the mention: 2 its concept, 1 its head (at the entry's
        place), 0 not at all; no special cases (what a tier list needs)."""
        region = m.region if m.region not in (None, "unknown", "whole_body") else exam_region
        if any(self._matches(rule, m, region) for rule in self._by_concept.get(m.concept, [])):
            return 2
        heads = self._by_head.get(m.head or "", [])
        return 1 if any(self._matches(rule, m, region) for rule in heads) else 0

    def _matches(self, rule: Rule, m: Mention, region: str) -> bool:
        if rule.region not in (ANY, region):
            return False
        if m.concept == rule.concept:
            return True
        if rule.head is None or m.head != rule.head:
            return False
        if rule.anatomy is None:
            return True
        if m.anatomy is None:
            # A finding no words place ("a mass" on a chest film) is taken to be in the entry's
            # place when that place lies in the exam's region.
            return self.vocabulary.region(rule.anatomy) == region
        return self.vocabulary.within(m.anatomy, rule.anatomy)
