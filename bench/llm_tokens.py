"""LLM cost per pair on the dev injection set: calls and prompt/completion tokens for each
prompt style (`paper`: one call per shared entity; `batched`: one call per pair) and how many
calls `hybrid` saves — against any OpenAI-compatible server (the CPU tiny model in CI, a GPU
with Llama-3.1-8B-Instruct via bench/gpu_check.sh).

Token counts depend on the served model's tokenizer; vLLM's prefix cache makes the `paper`
style's repeated prefix cheap in compute but not in prompt tokens counted here; the server's
own `vllm:prefix_cache_hits_total` says how much of it was served from the cache.

    python bench/llm_tokens.py --llm-url http://127.0.0.1:8000/v1 --llm-model NAME [--n 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_injection import build_cases
from scoring import Scorer, ScoringConfig
from scoring.config import LlmSettings


def prefix_cache(url: str) -> tuple[float, float]:
    """vLLM's prefix cache counters (queries, hits), in tokens; (0, 0) if not exposed."""
    import httpx

    try:
        text = httpx.get(url.rstrip("/").removesuffix("/v1") + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0, 0.0
    values = {"queries": 0.0, "hits": 0.0}
    for line in text.splitlines():
        for key in values:
            if line.startswith(f"vllm:prefix_cache_{key}_total"):
                values[key] += float(line.rsplit(" ", 1)[1])
    return values["queries"], values["hits"]


def run(url: str, model: str, pairs: list[tuple[str, str]], classifier: str, style: str,
        concurrency: int) -> dict:
    llm = LlmSettings(base_url=url, model=model, prompt_style=style, timeout_s=120,
                      max_concurrency=concurrency)
    scorer = Scorer(ScoringConfig(classifier=classifier), llm)
    queries, hits = prefix_cache(url)
    started = time.perf_counter()
    results = scorer.score_many(pairs)
    seconds = time.perf_counter() - started
    queries2, hits2 = prefix_cache(url)
    cached = (hits2 - hits) / (queries2 - queries) if queries2 > queries else float("nan")
    usage = scorer.classifier.client.usage
    shared = [sum(e.category in ("matched", "mismatched") for e in r.entities) for r in results]
    n = len(pairs)
    return {
        "classifier": classifier, "style": style, "pairs": n,
        "shared_entities_per_pair": statistics.mean(shared),
        "llm_calls_per_pair": usage.calls / n,
        "prompt_tokens_per_pair": usage.prompt_tokens / n,
        "completion_tokens_per_pair": usage.completion_tokens / n,
        "asked_entities": scorer.classifier.asked,
        "decided_by_rules": scorer.classifier.decided_by_rules,
        "fallbacks": sum(bool(r.method.fallback) for r in results),
        "pairs_per_s": n / seconds,
        "prefix_cache_hit_rate": cached,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-url", required=True)
    parser.add_argument("--llm-model", required=True)
    parser.add_argument("--n", type=int, default=40, help="dev reports (edits per report vary)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    cases = build_cases(args.n, args.seed)
    pairs = [(c["prelim"], c["final"]) for c in cases]
    print(f"{len(pairs)} dev injection pairs from {args.n} IU reports (uid % 7 != 3)")
    rows = [run(args.llm_url, args.llm_model, pairs, "llm", style, args.concurrency)
            for style in ("paper", "batched")]
    rows.append(run(args.llm_url, args.llm_model, pairs, "hybrid", "batched", args.concurrency))
    print("| classifier | style | calls/pair | prompt tok/pair | completion tok/pair | "
          "prefix-cache hits | entities to LLM | decided by rules | fallbacks | pairs/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['classifier']} | {r['style']} | {r['llm_calls_per_pair']:.2f} | "
              f"{r['prompt_tokens_per_pair']:.0f} | {r['completion_tokens_per_pair']:.0f} | "
              f"{r['prefix_cache_hit_rate']:.0%} | {r['asked_entities']} | "
              f"{r['decided_by_rules']} | {r['fallbacks']} | "
              f"{r['pairs_per_s']:.1f} |")
    llm, hybrid = rows[1], rows[2]
    if llm["asked_entities"]:
        saved = 1 - hybrid["asked_entities"] / llm["asked_entities"]
        print(f"hybrid sends {saved:.0%} fewer entities to the LLM than llm "
              f"({hybrid['asked_entities']} of {llm['asked_entities']})")


if __name__ == "__main__":
    main()
