"""Error-injection evaluation on the IU development reports (uid % 7 != 3).

Final = the real report; preliminary = an edited copy. Prints, per edit type, how often the
score and the discrepancy class behave as the issue's targets demand, and (with --ablation)
the same with and without the embedding matcher.

    python bench/eval_injection.py [--n 300] [--seed 7] [--matcher exact+embedding]
    python bench/eval_injection.py --ablation
    python bench/eval_injection.py --write-csv /tmp/dev_injection.csv   # for score-batch
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _iu import iu_reports, report_text
from injection import BENIGN, ERRORS, SENTENCE
from scoring import Scorer, ScoringConfig

TARGET = 0.95


def SENTENCES(text: str) -> list[str]:
    return [s.strip() for line in text.splitlines() for s in SENTENCE.split(line) if s.strip()]
_single: dict = {}


def transplant(original: str, after_first: str, double: str) -> str | None:
    """The second edit of `double` alone: replay its sentence changes on the original."""
    a, d = SENTENCES(after_first), SENTENCES(double)
    out = original
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=d, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        new = " ".join(d[j1:j2])
        if i1 == i2:  # insertion: before the sentence that follows it
            if i1 >= len(a) or a[i1] not in out:
                return None
            out = out.replace(a[i1], f"{new} {a[i1]}", 1)
            continue
        old = " ".join(a[i1:i2])
        if old not in out:
            return None
        out = out.replace(old + " ", new + " " if new else "", 1) if old + " " in out else \
            out.replace(old, new, 1)
    return out if out != original else None


def build_cases(n: int, seed: int) -> list[dict]:
    """Edited preliminaries for n randomly chosen development reports with both sections."""
    rng = random.Random(seed)
    rows = [r for r in iu_reports() if r["findings"].strip() and r["impression"].strip()]
    rng.shuffle(rows)
    cases = []
    for row in rows[:n]:
        final = report_text(row)
        singles = {}
        for name, edit in {**BENIGN, **ERRORS}.items():
            prelim = edit(final, random.Random(f"{seed}-{row['uid']}-{name}"))
            if prelim is not None:
                cases.append({"uid": row["uid"], "edit": name, "prelim": prelim, "final": final})
                if name in ERRORS:
                    singles[name] = prelim
        names = sorted(singles)
        if len(names) >= 2:
            first, second = random.Random(f"{seed}-{row['uid']}").sample(names, 2)
            # The second edit uses the same random choices as its single-edit case, and must
            # leave the first edit's sentences alone (flipping the sentence just added undoes
            # the first error instead of adding a second).
            first_text = singles[first]
            changed = set(SENTENCES(first_text)) - set(SENTENCES(final))
            for attempt in range(6):
                salt = "" if attempt == 0 else f"-{attempt}"
                double = ERRORS[second](first_text,
                                        random.Random(f"{seed}-{row['uid']}-{second}{salt}"))
                if double and double != first_text and changed <= set(SENTENCES(double)):
                    second_alone = transplant(final, first_text, double)
                    if second_alone is None:
                        continue
                    cases.append({"uid": row["uid"], "edit": "two_edits", "prelim": double,
                                  "final": final, "parts": (first, f"{second}:alone")})
                    cases.append({"uid": row["uid"], "edit": f"{second}:alone",
                                  "prelim": second_alone, "final": final})
                    break
    return cases


def esas_by_case(cases: list[dict]) -> dict[tuple[str, str], float]:
    """(uid, edit) -> ESAS of the scored cases, to compare two edits with each alone."""
    return {(c["uid"], c["edit"]): c["result"].esas for c in cases}


def evaluate(cases: list[dict], matcher: str) -> dict[str, dict[str, float]]:
    scorer = Scorer(ScoringConfig(matcher=matcher))
    t = time.perf_counter()
    results = scorer.score_many([(c["prelim"], c["final"]) for c in cases])
    elapsed = time.perf_counter() - t
    for c, r in zip(cases, results, strict=True):
        c["result"] = r
    return tally(cases, elapsed)


def load_results(cases: list[dict], path: Path) -> float:
    """Attach `score-batch` JSON lines (ids as written by --write-csv) to the cases."""
    from scoring import ScoreResult

    by_id = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "error" not in row:
            by_id[row.pop("id")] = ScoreResult.model_validate(row)
    missing = [c for c in cases if f"{c['uid']}-{c['edit']}" not in by_id]
    if missing:
        raise SystemExit(f"{len(missing)} cases have no result in {path}")
    for c in cases:
        c["result"] = by_id[f"{c['uid']}-{c['edit']}"]
    return 0.0


def tally(cases: list[dict], elapsed: float) -> dict[str, dict[str, float]]:
    """Per edit type, how often score and discrepancy behave as the targets demand."""
    single = esas_by_case(cases)
    by_edit: dict[str, list[dict]] = {}
    for c in cases:
        by_edit.setdefault(c["edit"], []).append(c)
    report: dict[str, dict[str, float]] = {}
    for edit, items in by_edit.items():
        rs = [c["result"] for c in items]
        n = len(rs)
        row = {"n": n, "mean_esas": sum(r.esas for r in rs) / n,
               "disc_none": sum(r.discrepancy == "none" for r in rs) / n}
        if edit == "identity":
            row["pass"] = sum(r.esas >= 0.99 and r.discrepancy == "none" for r in rs) / n
        elif edit in BENIGN:
            row["pass"] = row["disc_none"]
        elif edit == "two_edits":
            lowest = [min(single[(c["uid"], p)] for p in c["parts"]) for c in items]
            row["pass"] = sum(c["result"].esas < lo for c, lo in zip(items, lowest,
                                                                     strict=True)) / n
            row["ties"] = sum(c["result"].esas == lo for c, lo in zip(items, lowest,
                                                                      strict=True)) / n
        else:
            ok = [r.esas < 1 and r.discrepancy != "none" for r in rs]
            if edit == "added_critical":
                ok = [r.discrepancy == "major" for r in rs]
            if edit == "omission":
                ok = [o and r.counts.missing >= 1 for o, r in zip(ok, rs, strict=True)]
            row["pass"] = sum(ok) / n
        report[edit] = row
    report["_time"] = {"seconds": elapsed, "pairs": len(cases)}
    return report


def show(report: dict[str, dict[str, float]], matcher: str) -> None:
    print(f"\nmatcher = {matcher}   ({report['_time']['pairs']} pairs in "
          f"{report['_time']['seconds']:.1f} s)")
    print(f"{'edit':<18}{'n':>6}{'mean ESAS':>11}{'disc none':>11}{'target met':>12}")
    order = [*BENIGN, *ERRORS, "two_edits"]  # "<edit>:alone" rows only serve two_edits
    for edit in order:
        if edit not in report:
            continue
        r = report[edit]
        flag = "yes" if r["pass"] >= (1.0 if edit == "identity" else TARGET) else "NO"
        print(f"{edit:<18}{r['n']:>6}{r['mean_esas']:>11.3f}{r['disc_none']:>11.1%}"
              f"{r['pass']:>9.1%} {flag}"
              + (f"   (ties with a single edit: {r['ties']:.1%})" if "ties" in r else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="reports to edit")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--matcher", default="exact")
    parser.add_argument("--ablation", action="store_true", help="run both matchers")
    parser.add_argument("--write-csv", type=Path, help="write id,preliminary,final and exit")
    parser.add_argument("--show-failures", default="", help="edit type whose failures to print")
    parser.add_argument("--results", type=Path,
                        help="tally `radagree score-batch` JSON lines of the --write-csv pairs "
                             "(e.g. scored with --classifier llm) instead of scoring here")
    args = parser.parse_args()
    cases = build_cases(args.n, args.seed)
    if args.results:
        load_results(cases, args.results)
        show(tally(cases, 0.0), f"results of {args.results}")
        return 0
    if args.write_csv:
        with args.write_csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "preliminary", "final"])
            for c in cases:
                writer.writerow([f"{c['uid']}-{c['edit']}", c["prelim"], c["final"]])
        print(f"wrote {len(cases)} pairs to {args.write_csv}")
        return 0
    matchers = ["exact", "exact+embedding"] if args.ablation else [args.matcher]
    for matcher in matchers:
        report = evaluate(cases, matcher)
        show(report, matcher)
        single = esas_by_case(cases)
        if args.show_failures:
            for c in cases:
                r = c["result"]
                if c["edit"] == "two_edits":
                    bad = r.esas >= min(single[(c["uid"], p)] for p in c["parts"])
                elif c["edit"] in BENIGN:
                    bad = r.discrepancy != "none"
                else:
                    bad = r.discrepancy == "none"
                if c["edit"] == args.show_failures and bad:
                    print("---", c["uid"], r.esas, r.discrepancy, c.get("parts"),
                          [single[(c["uid"], p)] for p in c.get("parts", ())])
                    print("P:", c["prelim"])
                    print("F:", c["final"])
                    print([(e.category, e.concept, e.reason, e.prelim_attributes,
                            e.final_attributes) for e in r.entities if e.category != "matched"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
