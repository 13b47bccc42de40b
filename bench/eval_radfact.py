"""Agreement with RadFact's radiologist-style sentence labels (44 report pairs).

Each sentence of report A (as preliminary) and report B (as final) gets our label from the
entities inside it: any mismatched entity -> contradiction; every entity aligned and the same
-> entailment; otherwise (an unaligned entity, or no entity at all) -> neutral. Target >= 80%.

    python bench/eval_radfact.py [--matcher exact] [--confusion]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _iu import DATA
from scoring import Scorer, ScoringConfig

FOLDER = DATA / "eval" / "radfact"
LABELS = ("entailment", "neutral", "contradiction")


def sentence_label(rows: list, span: tuple[int, int], side: str) -> str:
    inside = [r for r in rows if (getattr(r, f"{side}_span") or (-1, -1))[0] >= span[0]
              and (getattr(r, f"{side}_span") or (-1, -1))[1] <= span[1]]
    if any(r.category == "mismatched" for r in inside):
        return "contradiction"
    if inside and all(r.category == "matched" for r in inside):
        return "entailment"
    return "neutral"


def spans(sentences: list[str]) -> tuple[str, list[tuple[int, int]]]:
    text, out = "", []
    for s in sentences:
        start = len(text)
        text += s.strip() + " "
        out.append((start, start + len(s.strip())))
    return text, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matcher", default="exact")
    parser.add_argument("--confusion", action="store_true")
    args = parser.parse_args()
    examples = (json.loads((FOLDER / "test_examples.json").read_text())
                + json.loads((FOLDER / "nli_few_shot_examples.json").read_text()))
    scorer = Scorer(ScoringConfig(matcher=args.matcher))
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    for ex in examples:
        out = ex["output"]
        text_a, spans_a = spans([p["phrase"] for p in out["phrases_A_evidenced"]])
        text_b, spans_b = spans([p["phrase"] for p in out["phrases_B_evidenced"]])
        rows = scorer.score(text_a, text_b).entities
        for side, labelled, sp in (("prelim", out["phrases_A_evidenced"], spans_a),
                                   ("final", out["phrases_B_evidenced"], spans_b)):
            for item, span in zip(labelled, sp, strict=True):
                confusion[(item["status"], sentence_label(rows, span, side))] += 1
    total = sum(confusion.values())
    agree = sum(n for (gold, ours), n in confusion.items() if gold == ours)
    print(f"pairs: {len(examples)}   sentences: {total}")
    print(f"agreement with RadFact labels: {agree}/{total} = {agree / total:.1%}")
    for label in LABELS:
        gold_n = sum(n for (g, _), n in confusion.items() if g == label)
        hit = confusion[(label, label)]
        print(f"  {label:<14} recall {hit}/{gold_n} = {hit / max(gold_n, 1):.1%}")
    if args.confusion:
        print("gold \\ ours   " + "".join(f"{lab:>15}" for lab in LABELS))
        for g in LABELS:
            print(f"{g:<14}" + "".join(f"{confusion[(g, o)]:>15}" for o in LABELS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
