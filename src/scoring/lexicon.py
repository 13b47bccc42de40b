"""The radiology lexicon shipped as package data: concepts, anatomy and qualifier words.

The TOML files under `scoring/data/` are the source of truth and are meant to be edited by
people; this module only reads them and derives the spelling variants (plurals, British
spellings) so curators list each term once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

GAP = "*"
# A synonym starting with "!" states the concept's absence ("!heart size * normal" is
# "no cardiomegaly"), so normal statements align with their findings.
ABSENT = "!"


@dataclass(frozen=True)
class Concept:
    id: str
    label: str
    kind: str
    synonyms: tuple[str, ...]
    anatomy: str | None = None
    critical: bool = False
    polarity: str | None = None
    mesh: tuple[str, ...] = ()


@dataclass(frozen=True)
class Anatomy:
    id: str
    synonyms: tuple[str, ...]
    parent: str | None = None


@dataclass(frozen=True)
class Abbreviation:
    words: tuple[str, ...]
    laterality: str | None
    anatomy: str | None


@dataclass(frozen=True)
class Lexicon:
    version: str
    concepts: dict[str, Concept]
    anatomy: dict[str, Anatomy]
    laterality: dict[str, tuple[str, ...]]
    severity: dict[int, tuple[str, ...]]
    change: dict[str, tuple[str, ...]]
    position: dict[str, tuple[str, ...]]
    abbreviations: tuple[Abbreviation, ...] = field(default=())

    def concept(self, concept_id: str) -> Concept:
        return self.concepts[concept_id]

    def anatomy_ancestors(self, anatomy_id: str) -> list[str]:
        """The anatomy itself and every part it belongs to, innermost first."""
        chain = []
        current: str | None = anatomy_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.anatomy[current].parent if current in self.anatomy else None
        return chain

    def anatomy_compatible(self, a: str | None, b: str | None) -> bool:
        """Two places agree when either is unsaid or one contains the other."""
        if a is None or b is None or a == b:
            return True
        return a in self.anatomy_ancestors(b) or b in self.anatomy_ancestors(a)

    @property
    def critical_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.concepts.values() if c.critical)


_IRREGULAR_PLURALS = {"pneumothorax": "pneumothoraces", "vertebra": "vertebrae",
                      "apex": "apices", "bulla": "bullae", "atelectasis": "atelectases",
                      "metastasis": "metastases", "hilum": "hila", "diagnosis": "diagnoses",
                      "granuloma": "granulomata"}
_NO_PLURAL = re.compile(r"(ed|ing|ic|al|ous|ar|ive|[^s]is|ness|ment|ax|um)$")
_BRITISH = [("edema", "oedema"), ("hemo", "haemo"), ("hemorrhag", "haemorrhag"),
            ("hemat", "haemat"), ("esophag", "oesophag"), ("tumor", "tumour"),
            ("orthopedic", "orthopaedic"), ("hemithora", "haemithora"), ("anemi", "anaemi"),
            ("ischemi", "ischaemi"), ("leukemi", "leukaemi"),
            ("hiatal", "hiatus"), ("center", "centre"), ("fiber", "fibre"), ("gray", "grey")]


def plural(word: str) -> str | None:
    """English plural of the last word of a term, or None where a plural makes no sense."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if len(word) < 3 or not word.isalpha() or _NO_PLURAL.search(word):
        return None
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def variants(term: str) -> list[str]:
    """The term, its plural and its British spellings, lower-cased, without duplicates."""
    if term.startswith(ABSENT):
        return [ABSENT + v for v in variants(term[len(ABSENT):])]
    term = " ".join(term.lower().split())
    out = [term]
    words = term.split(" ")
    if words[-1] != GAP:
        p = plural(words[-1])
        if p:
            out.append(" ".join([*words[:-1], p]))
    for american, british in _BRITISH:
        for t in list(out):
            if american in t and american != british:
                out.append(t.replace(american, british))
    return list(dict.fromkeys(out))


def _read(name: str) -> dict:
    return tomllib.loads(resources.files("scoring.data").joinpath(name).read_text("utf-8"))


@cache
def load_lexicon() -> Lexicon:
    """Read the packaged lexicon once per process."""
    raw = _read("lexicon.toml")
    quals = _read("qualifiers.toml")
    concepts = {
        c["id"]: Concept(
            id=c["id"], label=c["label"], kind=c["kind"], synonyms=tuple(c["synonyms"]),
            anatomy=c.get("anatomy"), critical=c.get("critical", False),
            polarity=c.get("polarity"), mesh=tuple(c.get("mesh", ())),
        )
        for c in raw["concept"]
    }
    anatomy = {
        a["id"]: Anatomy(id=a["id"], synonyms=tuple(a["synonyms"]), parent=a.get("parent"))
        for a in raw["anatomy"]
    }
    for c in concepts.values():
        if c.anatomy is not None and c.anatomy not in anatomy:
            raise ValueError(f"concept {c.id!r}: unknown anatomy {c.anatomy!r}")
    abbreviations = tuple(
        Abbreviation(tuple(a["words"]), a.get("laterality"), a.get("anatomy"))
        for a in quals.get("abbreviation", [])
    )
    return Lexicon(
        version=raw["version"],
        concepts=concepts,
        anatomy=anatomy,
        laterality={k: tuple(v) for k, v in quals["laterality"].items()},
        severity={int(k): tuple(v) for k, v in quals["severity"].items()},
        change={k: tuple(v) for k, v in quals["change"].items()},
        position={k: tuple(v) for k, v in quals["position"].items()},
        abbreviations=abbreviations,
    )
