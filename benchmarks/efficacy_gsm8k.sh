#!/usr/bin/env bash
# Issue 19, GSM8K efficacy: for each seed, RAFT (RECIPE, default configs/recipes/raft_gsm8k_qwen.yaml:
# held-out GSM8K test greedy before and after each cycle) and its compute-matched control (SFT on the
# gold train solutions from the same start model, for the same number of optimizer steps, with the
# recipe's batch, accumulation, peak LR, sequence length and dtype), the control scored on the same
# test questions with the recipe's max_new_tokens, then the paired comparisons.
# Usage: benchmarks/efficacy_gsm8k.sh MODEL OUT SEED [SEED...]   (PYTHON=python3 by default;
# RECIPE picks the RAFT recipe; RAFT_FLAGS / CONTROL_FLAGS / BENCH_FLAGS add flags, e.g. a CPU smoke run)
set -euo pipefail
MODEL="$1"; OUT="$2"; shift 2
PY="${PYTHON:-python3}"
RECIPE="${RECIPE:-configs/recipes/raft_gsm8k_qwen.yaml}"
mkdir -p "$OUT"
# the control copies the recipe's training settings (one source of truth, no second list to drift)
read -r LR MICRO ACCUM SEQ DTYPE NEW < <("$PY" -c "
import sys
from halo_forge.config.loader import load_config
from halo_forge.config.schema import RaftConfig
c = load_config(RaftConfig, sys.argv[1]); t = c.training
print(t.learning_rate, t.batch_size, t.grad_accum, t.max_seq_len, c.dtype, c.generation.max_new_tokens)
" "$RECIPE")
for seed in "$@"; do
  d="$OUT/seed_$seed"
  echo "== seed $seed: RAFT, $RECIPE ($(date -u +%T))"
  "$PY" -m halo_forge -q raft train --config "$RECIPE" --model "$MODEL" --seed "$seed" \
    --no-report -o "$d/raft" ${RAFT_FLAGS:-} > "$d.raft.log" 2> "$d.raft.err" || { tail -20 "$d.raft.err"; exit 1; }
  cat "$d.raft.log"
  # optimizer steps RAFT took in all, and its last cycle (RAFT_FLAGS may change --cycles)
  read -r steps last < <("$PY" -c "import json,sys; c = json.load(open(sys.argv[1]))['cycles']
print(sum(x['train_steps'] for x in c), c[-1]['cycle'])" "$d/raft/training_summary.json")
  [ "$steps" -gt 0 ] || { echo "== seed $seed: RAFT kept nothing to train on: no control to match"; continue; }
  # RAFT's weights are not needed any more (a 0.5B fp32 model is 2 GB a cycle; a 64 GB disk filled up with three
  # seeds side by side), and its results travel before the control starts, so a failed control loses nothing
  rm -rf "$d"/raft/cycle_*/model "$d"/raft/cycle_*/trainer "$d/raft/final_model"
  tar czf "$OUT/seed_$seed.raft.tgz" --exclude=generations.jsonl -C "$OUT" "seed_$seed/raft" "seed_$seed.raft.log"
  echo "== seed $seed: SFT control, $steps steps ($(date -u +%T))"
  "$PY" -m halo_forge -q sft train --task reasoning --dataset gsm8k --split train --model "$MODEL" --dtype "$DTYPE" \
    --no-lora --lr "$LR" --batch-size "$MICRO" --grad-accum "$ACCUM" --epochs 1 --max-steps "$steps" \
    --max-seq-len "$SEQ" --seed "$seed" ${CONTROL_FLAGS:-} -o "$d/control" > "$d.control.log" 2>&1 \
    || { tail -20 "$d.control.log"; exit 1; }
  "$PY" -m halo_forge -q benchmark run --config configs/recipes/benchmark_gsm8k_greedy.yaml \
    --model "$d/control/final_model" --max-new-tokens "$NEW" --no-report -o "$d/control.json" ${BENCH_FLAGS:-} > /dev/null
  rm -rf "$d/control/final_model" "$d/control"/checkpoint*
  "$PY" -m halo_forge -q benchmark compare "$d/control.json" "$d/raft/cycle_$last/heldout.json" --k 1 \
    | tee "$d/compare_control_vs_raft.txt"
  # one archive per seed (a GPU host may return files of at most 16 MB: generations.jsonl repeats samples.jsonl)
  tar czf "$OUT/seed_$seed.tgz" --exclude=generations.jsonl --exclude="*.safetensors" --exclude="*.pt" --exclude="*.pth" -C "$OUT" "seed_$seed" "seed_$seed.raft.log" \
    "seed_$seed.control.log"
  echo "== seed $seed done ($(date -u +%T)): $OUT/seed_$seed.tgz"
done
