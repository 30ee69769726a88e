#!/usr/bin/env bash
# Issue 19, GSM8K efficacy: for each seed, RAFT (configs/recipes/raft_gsm8k_qwen.yaml: held-out
# GSM8K test greedy before and after each cycle) and its compute-matched control (SFT on the gold
# train solutions for the same number of optimizer steps, batch size and peak LR), the control
# scored on the same 1,319 test questions, then the paired comparisons.
# Usage: benchmarks/efficacy_gsm8k.sh MODEL OUT SEED [SEED...]   (PYTHON=python3 by default;
# RAFT_FLAGS / CONTROL_FLAGS / BENCH_FLAGS add flags, e.g. a small smoke run on a CPU)
set -euo pipefail
MODEL="$1"; OUT="$2"; shift 2
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
for seed in "$@"; do
  d="$OUT/seed_$seed"
  echo "== seed $seed: RAFT ($(date -u +%T))"
  "$PY" -m halo_forge -q raft train --config configs/recipes/raft_gsm8k_qwen.yaml --model "$MODEL" --seed "$seed" \
    --no-report -o "$d/raft" ${RAFT_FLAGS:-} > "$d.raft.log" 2> "$d.raft.err" || { tail -20 "$d.raft.err"; exit 1; }
  cat "$d.raft.log"
  steps=$("$PY" -c "import json,sys; print(sum(c['train_steps'] for c in json.load(open(sys.argv[1]))['cycles']))" \
    "$d/raft/training_summary.json")
  [ "$steps" -gt 0 ] || { echo "== seed $seed: RAFT kept nothing to train on: no control to match"; continue; }
  echo "== seed $seed: SFT control, $steps steps ($(date -u +%T))"
  "$PY" -m halo_forge -q sft train --task reasoning --dataset gsm8k --split train --model "$MODEL" --dtype float32 \
    --no-lora --lr 1e-5 --batch-size 8 --grad-accum 4 --epochs 1 --max-steps "$steps" --max-seq-len 640 --seed "$seed" ${CONTROL_FLAGS:-} \
    -o "$d/control" > "$d.control.log" 2>&1 || { tail -20 "$d.control.log"; exit 1; }
  "$PY" -m halo_forge -q benchmark run --config configs/recipes/benchmark_gsm8k_greedy.yaml \
    --model "$d/control/final_model" --max-new-tokens 384 --no-report -o "$d/control.json" ${BENCH_FLAGS:-} > /dev/null
  rm -rf "$d/control/final_model" "$d/control/checkpoints" "$d"/raft/cycle_*/model "$d/raft/final_model"
  "$PY" -m halo_forge -q benchmark compare "$d/control.json" "$d/raft/cycle_3/heldout.json" --k 1 \
    | tee "$d/compare_control_vs_raft.txt"
  # one archive per seed (a GPU host may return files of at most 16 MB: generations.jsonl repeats samples.jsonl)
  tar czf "$OUT/seed_$seed.tgz" --exclude=generations.jsonl --exclude="*.safetensors" --exclude="*.pt" --exclude="*.pth" -C "$OUT" "seed_$seed" "seed_$seed.raft.log" \
    "seed_$seed.control.log"
  echo "== seed $seed done ($(date -u +%T)): $OUT/seed_$seed.tgz"
done
