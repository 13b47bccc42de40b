"""Class agreement on hand-written preliminary/final pairs (`eval/handpairs-dev`).

Real attendings rewrite sentences, reorder, spell abbreviations out and restyle templates, so
this set measures both failure directions on real writing: a management-changing miss called
"none" (the worst failure) and a restyled correct preliminary called a discrepancy. It prints
the confusion table (expected x called), the targets, and the rates by kind, modality and
region. Use it to find the kind of thing that fails and fix the kind, never the pair: an
independent set of the same kind, written by other hands, is checked with the same targets.

    python bench/eval_handpairs.py [--set handpairs-dev] [--show KIND|ID|none>minor ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpu import reference_loop
from scoring import Scorer, ScoringConfig
from scoring.significance import differs

DATA = Path(os.environ.get("RADAGREE_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
CLASSES = ("none", "minor", "major")
TARGETS = {"major called major": 0.97, "major never none": 1.0, "none called none": 0.90,
           "exact class": 0.85}


def load(name: str) -> list[dict]:
    path = DATA / "eval" / name / "pairs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rates(rows: list[dict]) -> dict[str, float]:
    by = defaultdict(list)
    for r in rows:
        by[r["expected"]].append(r["called"])
    major, none = by["major"], by["none"]
    return {
        "major called major": sum(c == "major" for c in major) / max(len(major), 1),
        "major never none": 1 - sum(c == "none" for c in major) / max(len(major), 1),
        "none called none": sum(c == "none" for c in none) / max(len(none), 1),
        "exact class": sum(r["called"] == r["expected"] for r in rows) / max(len(rows), 1),
    }


def show(row: dict) -> None:
    r = row["result"]
    print(f"\n--- {row['id']} {row['modality']} {row['region']} {row['kind']} "
          f"expected {row['expected']} called {row['called']} esas {r.esas:.2f} "
          f"grade {r.grade} exam {r.exam.modality}/{r.exam.region}")
    print(f"    note: {row['note']}")
    for e in r.entities:
        if e.category == "matched" and not args_verbose:
            continue
        flag = "" if e.counted else " (not counted)"
        flag += " *" if differs(e) else ""
        crit = " [critical]" if e.critical else ""
        sig = f" <{e.significance}>" if getattr(e, "significance", None) else ""
        print(f"    {e.category:10} {e.reason or '':10} {e.prelim_text!r:40} | "
              f"{e.final_text!r}{crit}{sig}{flag}")
    print("    " + r.explanation.replace("\n", "\n    "))


args_verbose = False


def main() -> int:
    global args_verbose
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="handpairs-dev")
    ap.add_argument("--show", nargs="*", default=[],
                    help="print the rows of failures of these kinds, ids or 'expected>called'")
    ap.add_argument("--verbose", action="store_true", help="also print matched rows")
    args = ap.parse_args()
    args_verbose = args.verbose
    pairs = load(args.set)
    t0 = time.perf_counter()
    scorer = Scorer(ScoringConfig(**json.loads(os.environ.get("RADAGREE_BENCH_CONFIG", "{}"))))
    started = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = scorer.score_many([(p["prelim"], p["final"]) for p in pairs],
                                [p["procedure"] for p in pairs])
    elapsed = time.perf_counter() - t0
    rows = [{**p, "result": r, "called": r.discrepancy} for p, r in zip(pairs, results,
                                                                        strict=True)]
    ref = reference_loop()
    print(f"{args.set}: {len(rows)} pairs scored in {elapsed:.1f} s (start-up {started:.1f} s; "
          f"CPU reference {ref:.1f} Mloop/s)")
    print("\nconfusion (rows expected, columns called):")
    print(f"{'':8}" + "".join(f"{c:>8}" for c in CLASSES) + f"{'n':>6}")
    confusion = Counter((r["expected"], r["called"]) for r in rows)
    for e in CLASSES:
        n = sum(confusion[e, c] for c in CLASSES)
        print(f"{e:8}" + "".join(f"{confusion[e, c]:>8}" for c in CLASSES) + f"{n:>6}")
    print("\ntargets:")
    for name, value in rates(rows).items():
        ok = "ok" if value >= TARGETS[name] - 1e-9 else "BELOW"
        print(f"  {name:20} {value:6.1%}  (target {TARGETS[name]:.0%})  {ok}")
    for key in ("kind", "modality", "region"):
        print(f"\nby {key}: exact (n)   none->none   major->major")
        groups = defaultdict(list)
        for r in rows:
            groups[r[key]].append(r)
        for name in sorted(groups):
            g = groups[name]
            rr = rates(g)
            nn = sum(r["expected"] == "none" for r in g)
            nm = sum(r["expected"] == "major" for r in g)
            print(f"  {name:22} {rr['exact class']:6.1%} ({len(g):3})"
                  f"   {rr['none called none'] if nn else float('nan'):6.1%} ({nn:2})"
                  f"   {rr['major called major'] if nm else float('nan'):6.1%} ({nm:2})")
    grades = defaultdict(list)
    for r in rows:
        grades[r["expected"]].append(r["result"].grade)
    print("\nmean grade by expected class: " + ", ".join(
        f"{c} {sum(g) / len(g):.2f}" for c, g in grades.items()))
    for r in rows:
        wanted = any(s in (r["kind"], r["id"], f"{r['expected']}>{r['called']}")
                     for s in args.show)
        if wanted and (r["called"] != r["expected"] or r["id"] in args.show):
            show(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
