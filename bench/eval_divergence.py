"""The 8 RadEval typed pairs: our ESAS, grade and discrepancy beside seven published metrics.

Target: the paraphrase (1) and the exact pair (5) get discrepancy none; every other pair not.

    python bench/eval_divergence.py [--matcher exact]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _iu import DATA
from scoring import Scorer, ScoringConfig

FOLDER = DATA / "eval" / "radeval-divergence"
NONE_EXPECTED = {1, 5}
METRICS = ("bleu", "bertscore", "f1chexbert", "radgraph", "radcliq", "green", "crimson")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matcher", default="exact")
    args = parser.parse_args()
    pairs = json.loads((FOLDER / "trl_rewards_260429.json").read_text())["divergence"]
    scorer = Scorer(ScoringConfig(matcher=args.matcher))
    print(f"{'id':>2} {'type':<34}{'ESAS':>6}{'grade':>6} {'discrepancy':<11}"
          + "".join(f"{m:>11}" for m in METRICS))
    ok = 0
    for p in pairs:
        r = scorer.score(p["hyp"], p["ref"])  # ref = final, hyp = preliminary
        kind = p["narrative"].split("—")[0].strip()[:33]
        expected_none = p["id"] in NONE_EXPECTED
        ok += (r.discrepancy == "none") == expected_none
        print(f"{p['id']:>2} {kind:<34}{r.esas:>6.2f}{r.grade:>6} {r.discrepancy:<11}"
              + "".join(f"{p['scores'].get(m, float('nan')):>11.3f}" for m in METRICS))
    print(f"\ndiscrepancy class as expected: {ok}/{len(pairs)}  (radcliq: distance, lower=better)")
    return 0 if ok == len(pairs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
