#!/usr/bin/env bash
# GSM8K recipe on a GPU: base -> SFT -> SFT+RAFT, each evaluated greedy on the held-out test split.
#   MODEL=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf OUT=results/gsm8k bash benchmarks/recipe_gsm8k.sh [stage...]
# Stages: base sft raft (default: all). RAFT resumes on its own if re-run.
set -euo pipefail
HF="${HALO_FORGE:-python3 -m halo_forge}"
MODEL="${MODEL:-smollm2-135m-instruct}"
OUT="${OUT:-results/gsm8k}"
mkdir -p "$OUT"
stages="${*:-base sft raft}"
bench() { $HF -q benchmark run --config configs/recipes/benchmark_gsm8k_greedy.yaml --model "$1" --output "$OUT/$2.json"; }
for s in $stages; do
  case $s in
    base) bench "$MODEL" gsm8k_base ;;
    sft)  $HF -q sft train --config configs/recipes/sft_gsm8k.yaml --model "$MODEL" > "$OUT/sft_summary.txt"
          bench runs/recipe_gsm8k/sft/final_model gsm8k_sft ;;
    raft) $HF -q raft train --config configs/recipes/raft_gsm8k.yaml | tee "$OUT/raft_table.txt"
          cp runs/recipe_gsm8k/raft/training_summary.json "$OUT/raft_training_summary.json"
          for c in runs/recipe_gsm8k/raft/cycle_*/model; do n=$(basename "$(dirname "$c")"); bench "$c" "gsm8k_raft_$n"; done ;;
  esac
done
