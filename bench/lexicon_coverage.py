"""How many of the IU reports' MeSH-coded findings the lexicon NER recognises.

Target (issue 2): >= 90% of the coded findings, with the right canonical concept, on the
development reports (uid % 7 != 3). `normal` and technical codes are ignored.

    python bench/lexicon_coverage.py [--misses 30]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _iu import iu_reports, report_text
from scoring.lexicon import curated_concepts
from scoring.ner import LexiconNer
from scoring.sections import split_sections

IGNORED = {"normal", "No Indexing", "Technical Quality of Image Unsatisfactory"}


def accepted(code: str, concepts) -> set[str]:
    head, *quals = [p.strip() for p in code.split("/")]
    out = set()
    for concept in concepts.values():
        for entry in concept.mesh:
            e_head, *e_quals = entry.split("/")
            if e_head == head and all(q in quals for q in e_quals):
                out.add(concept.id)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=int, default=25)
    args = parser.parse_args()
    lexicon = curated_concepts()
    ner = LexiconNer()
    total = hit = 0
    per_report = []
    misses: collections.Counter[str] = collections.Counter()
    unmapped: collections.Counter[str] = collections.Counter()
    t = time.perf_counter()
    rows = [r for r in iu_reports() if r["MeSH"].strip() not in IGNORED]
    texts = [report_text(r) for r in rows]
    # Chest radiographs: the exam region is the chest, as the scorer infers it for them.
    found_all = ner.extract_many([(t_, split_sections(t_)) for t_ in texts],
                                 ["chest"] * len(texts))
    for row, found in zip(rows, found_all, strict=True):
        # A finding is recognised by its concept, by the generic finding it is a kind of (a
        # "rib fracture" concept of the whole-body vocabulary is a curated "fracture"), or as
        # what describes another ("calcified nodule": calcification and nodule, as MeSH codes it).
        concepts = {m.concept for m in found} | {m.head for m in found if m.head} | {
            d for m in found for d in m.descriptors}
        codes = [c.strip() for c in row["MeSH"].split(";") if c.strip()]
        codes = [c for c in codes if c.split("/")[0] not in IGNORED]
        if not codes:
            continue
        r_hit = 0
        for code in codes:
            ok = accepted(code, lexicon)
            if not ok:
                unmapped[code.split("/")[0]] += 1
            if ok & concepts:
                r_hit += 1
            else:
                misses[code] += 1
        total += len(codes)
        hit += r_hit
        per_report.append(r_hit / len(codes))
    elapsed = time.perf_counter() - t
    print(f"development reports with coded findings: {len(per_report)}")
    print(f"coded findings recognised (micro): {hit}/{total} = {hit / total:.1%}")
    print(f"mean per-report recall: {sum(per_report) / len(per_report):.1%}")
    print(f"reports with every coded finding recognised: "
          f"{sum(r == 1 for r in per_report) / len(per_report):.1%}")
    print(f"reports with >= 90% recognised: "
          f"{sum(r >= 0.9 for r in per_report) / len(per_report):.1%}")
    print(f"NER time: {elapsed:.1f} s for {len(rows)} reports")
    print(f"codes with no lexicon concept: {sum(unmapped.values())} {unmapped.most_common(10)}")
    print("most frequent misses:")
    for code, n in misses.most_common(args.misses):
        print(f"  {n:4d}  {code}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
