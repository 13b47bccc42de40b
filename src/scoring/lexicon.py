"""Spelling variants of vocabulary terms, and the curated chest lexicon as written.

The curated lexicon (`data/lexicon.toml`) is one layer of the whole-body vocabulary
(`scripts/build_vocabulary.py` merges it); this module derives the spelling variants every
layer shares (plurals, British spellings, possessives) so curators list each term once, and
reads the curated concepts for the tools that need their MeSH codes.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

GAP = "*"
# A synonym starting with "!" states the concept's absence ("!heart size * normal" is
# "no cardiomegaly"), so normal statements align with their findings.
ABSENT = "!"


@dataclass(frozen=True)
class CuratedConcept:
    id: str
    label: str
    mesh: tuple[str, ...] = ()


_IRREGULAR_PLURALS = {"pneumothorax": "pneumothoraces", "vertebra": "vertebrae",
                      "apex": "apices", "bulla": "bullae", "atelectasis": "atelectases",
                      "metastasis": "metastases", "hilum": "hila", "diagnosis": "diagnoses",
                      "granuloma": "granulomata", "diverticulum": "diverticula",
                      "meniscus": "menisci", "embolus": "emboli", "thrombus": "thrombi",
                      "calculus": "calculi", "bronchus": "bronchi", "ovary": "ovaries",
                      "testis": "testes", "femur": "femora", "stenosis": "stenoses"}
_NO_PLURAL = re.compile(r"(ed|ic|al|ous|ar|ive|[^s]is|ness|ment|ax|um)$")
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
    for t in list(out):  # "crohn's disease" is also written "crohns disease", "crohn disease"
        if "'s " in t:
            out += [t.replace("'s ", "s "), t.replace("'s ", " ")]
    return list(dict.fromkeys(out))


@cache
def curated_concepts() -> dict[str, CuratedConcept]:
    """The curated concepts of `lexicon.toml` with their MeSH codes (for coverage figures)."""
    raw = tomllib.loads(resources.files("scoring.data").joinpath("lexicon.toml")
                        .read_text("utf-8"))
    return {c["id"]: CuratedConcept(c["id"], c["label"], tuple(c.get("mesh", ())))
            for c in raw["concept"]}
