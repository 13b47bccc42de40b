"""Whole-body error injection on the MedPix development cases (CT and MR of every region).

For every case and edit type (`medpix_edits.py`), score (edited preliminary, real final) and
report, per body region and per modality, how often the score and the discrepancy class behave
as the targets demand: identity ESAS 1 and no discrepancy (100%); benign rewording no
discrepancy (false alarms <= 5%); each error ESAS < 1 and a discrepancy (>= 95%); an added
critical finding a major discrepancy (>= 95%). `omission_each` leaves out every finding
sentence of a case in turn (one pair each), where `omission` draws one at random. Then
coverage: the share of finals with at least one finding entity (>= 99%) and of diagnoses
recognised as a finding in the impression (>= 95%).

    python bench/eval_medpix.py [--seed 7] [--show-failures EDIT] [--region head]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpu import reference_loop
from medpix_edits import BENIGN, ERRORS, EVERY, REGION, final_report, medpix_cases
from scoring import Scorer, ScoringConfig

TARGET = 0.95
BENIGN_TARGET = 0.95


def modality(case: dict) -> str:
    return "+".join(sorted(case["modalities"])) or "?"


def build(seed: int) -> list[dict]:
    out = []
    for case in medpix_cases():
        final = final_report(case)
        for name, edit in {**BENIGN, **ERRORS}.items():
            prelim = edit(case, random.Random(f"{seed}-{case['id']}-{name}"))
            if prelim is not None:
                out.append({"case": case, "edit": name, "prelim": prelim, "final": final})
        for name, edits in EVERY.items():
            out += [{"case": case, "edit": name, "prelim": prelim, "final": final}
                    for prelim in edits(case)]
    return out


def passed(edit: str, r: object) -> bool:
    if edit == "identity":
        return r.esas >= 0.99 and r.discrepancy == "none"
    if edit in BENIGN:
        return r.discrepancy == "none"
    if edit == "added_critical":
        return r.discrepancy == "major"
    return r.esas < 1 and r.discrepancy != "none"


def table(rows: list[dict], key: str, groups: list[str]) -> None:
    cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row in rows:
        cells[row["edit"], row[key]].append(row["ok"])
        cells[row["edit"], "all"].append(row["ok"])
    print(f"\n{'edit':<22}" + "".join(f"{g:>15}" for g in [*groups, "all"]))
    for edit in [*BENIGN, *ERRORS, *EVERY]:
        line = f"{edit:<22}"
        for g in [*groups, "all"]:
            oks = cells.get((edit, g), [])
            if not oks:
                line += f"{'-':>15}"
                continue
            rate = sum(oks) / len(oks)
            goal = 1.0 if edit == "identity" else BENIGN_TARGET if edit in BENIGN else TARGET
            mark = "" if rate >= goal else "!"
            line += f"{f'{rate:.1%}{mark} ({len(oks)})':>15}"
        print(line)


def coverage(scorer: Scorer, cases: list[dict]) -> None:
    """Finals with a finding entity; diagnoses recognised as a finding in the impression."""
    texts = [final_report(c) for c in cases]
    results = scorer.score_many([(t, t) for t in texts])
    any_finding = diagnosis = 0
    for text, result in zip(texts, results, strict=True):
        findings = [e for e in result.entities if e.kind == "finding"
                    and e.final_attributes.get("polarity") != "absent"]
        any_finding += bool(findings)
        start = text.index("IMPRESSION:")
        diagnosis += any(e.final_span and e.final_span[0] >= start for e in findings)
    n = len(cases)
    print(f"\ncoverage: finals with >= 1 finding entity {any_finding}/{n} = {any_finding / n:.1%}"
          f" (target 99%); diagnosis recognised as a finding {diagnosis}/{n} = "
          f"{diagnosis / n:.1%} (target 95%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-failures", default="", help="edit type whose failures to print")
    parser.add_argument("--region", default="", help="only this region (as in the tables)")
    parser.add_argument("--limit", type=int, default=20, help="failures to print")
    args = parser.parse_args()
    ref = reference_loop()
    scorer = Scorer(ScoringConfig())
    cases = build(args.seed)
    t = time.perf_counter()
    results = scorer.score_many([(c["prelim"], c["final"]) for c in cases])
    elapsed = time.perf_counter() - t
    rows = []
    for c, r in zip(cases, results, strict=True):
        rows.append({"edit": c["edit"], "region": REGION[c["case"]["location_category"]],
                     "modality": modality(c["case"]), "ok": passed(c["edit"], r),
                     "case": c, "result": r})
    print(f"{len(medpix_cases())} MedPix development cases, {len(rows)} pairs scored in "
          f"{elapsed:.1f} s ({len(rows) / elapsed:.0f} pairs/s; CPU reference {ref:.2f} "
          "Mloop/s)")
    print("cells: share of pairs meeting the target (n); '!' = below target")
    table(rows, "region", list(dict.fromkeys(REGION.values())))
    table(rows, "modality", sorted({r["modality"] for r in rows}))
    coverage(scorer, list(medpix_cases()))
    if args.show_failures:
        shown = 0
        for row in rows:
            if row["edit"] != args.show_failures or row["ok"]:
                continue
            if args.region and row["region"] != args.region:
                continue
            r, c = row["result"], row["case"]
            print(f"--- {c['case']['id']} {row['region']} ESAS {r.esas:.2f} {r.discrepancy}")
            print("P:", c["prelim"].replace("\n", " | "))
            print("F:", c["final"].replace("\n", " | "))
            for e in r.entities:
                print(f"    {e.category:10s} {e.label[:50]:50s} {e.reason or '':10s} "
                      f"P={e.prelim_text!r} F={e.final_text!r}")
            shown += 1
            if shown >= args.limit:
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
