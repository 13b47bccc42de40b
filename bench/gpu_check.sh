#!/usr/bin/env bash
# GPU check of the LLM back-ends (issue: the GPU path). For a person with a GPU machine where
# vLLM (0.32.x) and the Llama-3.1-8B-Instruct weights are installed; about 10 minutes.
#
#   MODEL=/models/Llama-3.1-8B-Instruct bench/gpu_check.sh        # weights on disk (offline)
#
# It serves the model with `vllm serve` (prefix caching on, xgrammar structured outputs),
# writes the dev injection set (IU reports uid % 7 != 3, edited at run time, never saved in
# the repository), scores it with `radagree score-batch --classifier llm` (and the rules, for
# comparison), then prints the agreement table of bench/eval_injection.py for both, pairs/s,
# GPU-seconds per pair (wall time x mean GPU utilisation, sampled by nvidia-smi), and the
# token cost per pair of both prompt styles (bench/llm_tokens.py).
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:?set MODEL to the Llama-3.1-8B-Instruct weights folder (or a hub id if online)}
SERVED=${SERVED:-llama-3.1-8b-instruct}
PORT=${PORT:-8000}
N=${N:-100}
PY=${PY:-.venv/bin/python}
RADAGREE=${RADAGREE:-.venv/bin/radagree}
OUT=$(mktemp -d)
trap 'kill "${VLLM_PID:-}" "${SMI_PID:-}" 2>/dev/null || true; rm -rf "$OUT"' EXIT

echo "== serving $MODEL"
HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} vllm serve "$MODEL" --served-model-name "$SERVED" \
  --port "$PORT" --max-model-len 8192 --gpu-memory-utilization 0.90 --enable-prefix-caching \
  --structured-outputs-config '{"backend":"xgrammar","disable_any_whitespace":true}' \
  > "$OUT/vllm.log" 2>&1 &
VLLM_PID=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 "$VLLM_PID" || { tail -50 "$OUT/vllm.log"; exit 1; }
  sleep 1
done
URL="http://127.0.0.1:$PORT/v1"

echo "== dev injection set ($N reports)"
"$PY" bench/eval_injection.py --n "$N" --write-csv "$OUT/pairs.csv"
PAIRS=$(($(wc -l < "$OUT/pairs.csv") - 1))

echo "== scoring with the rules (CPU)"
start=$(date +%s.%N)
"$RADAGREE" score-batch "$OUT/pairs.csv" --out "$OUT/rules.jsonl" --no-progress
rules_s=$(echo "$(date +%s.%N) - $start" | bc)

echo "== scoring with the LLM ($SERVED, batched prompts)"
nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 500 > "$OUT/util.txt" &
SMI_PID=$!
start=$(date +%s.%N)
"$RADAGREE" score-batch "$OUT/pairs.csv" --out "$OUT/llm.jsonl" --no-progress \
  --classifier llm --llm-url "$URL" --llm-model "$SERVED"
llm_s=$(echo "$(date +%s.%N) - $start" | bc)
kill "$SMI_PID"; SMI_PID=

echo; echo "== agreement with the injection targets: rules"
"$PY" bench/eval_injection.py --n "$N" --results "$OUT/rules.jsonl" | tail -n +2
echo; echo "== agreement with the injection targets: LLM"
"$PY" bench/eval_injection.py --n "$N" --results "$OUT/llm.jsonl" | tail -n +2
fallbacks=$(grep -c '"fallback": "' "$OUT/llm.jsonl" || true)
util=$(awk '{s += $1; n++} END {if (n) printf "%.3f", s / n / 100; else print 0}' "$OUT/util.txt")
echo
echo "pairs: $PAIRS   LLM fallbacks: $fallbacks"
echo "rules: $(echo "scale=1; $PAIRS / $rules_s" | bc) pairs/s"
echo "llm:   $(echo "scale=1; $PAIRS / $llm_s" | bc) pairs/s;" \
     "GPU-seconds per pair: $(echo "scale=4; $llm_s * $util / $PAIRS" | bc)" \
     "(mean GPU utilisation $util)"
echo; echo "== token cost per pair, both prompt styles, and hybrid's savings"
"$PY" bench/llm_tokens.py --llm-url "$URL" --llm-model "$SERVED" --n 40
