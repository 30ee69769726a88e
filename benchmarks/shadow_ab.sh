#!/usr/bin/env bash
# Issue 18, item 5: the GSM8K RAFT recipe's cycle (fp32 training masters) generating from a bf16
# shadow of the weights (generation.dtype auto) vs in fp32 (generation.dtype float32), same seed,
# each with held-out GSM8K test greedy before and after the cycle; then the paired comparison of
# the two held-out results. Usage: benchmarks/shadow_ab.sh MODEL OUT [extra raft flags...]
set -euo pipefail
MODEL="$1"; OUT="$2"; shift 2
mkdir -p "$OUT"
for arm in shadow fp32; do
  gen=auto; [ "$arm" = fp32 ] && gen=float32
  "${PYTHON:-python3}" -m halo_forge -q raft train --config configs/recipes/raft_gsm8k.yaml --model "$MODEL" \
    --cycles 1 --generation-dtype "$gen" --eval-dataset gsm8k --eval-split test --no-report \
    -o "$OUT/$arm" "$@" > "$OUT/$arm.log" 2> "$OUT/$arm.err" || { tail -20 "$OUT/$arm.err"; exit 1; }
  cat "$OUT/$arm.log"
done
"${PYTHON:-python3}" -m halo_forge -q benchmark compare "$OUT/fp32/cycle_1/heldout.json" "$OUT/shadow/cycle_1/heldout.json" \
  --k 1 | tee "$OUT/compare_after_cycle.txt"
"${PYTHON:-python3}" -m halo_forge -q benchmark compare "$OUT/fp32/heldout_start/heldout.json" \
  "$OUT/shadow/heldout_start/heldout.json" --k 1 | tee "$OUT/compare_start.txt"
