#!/usr/bin/env bash
# MBPP and C++ recipes on a GPU: base -> SFT -> SFT+RAFT, each evaluated on held-out problems.
#   MODEL=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf OUT=results/code bash benchmarks/recipe_code.sh [stage...]
# Stages: mbpp_base mbpp_sft mbpp_raft cpp_base cpp_sft cpp_raft (default: all). RAFT resumes if re-run.
set -euo pipefail
HF="${HALO_FORGE:-python3 -m halo_forge}"
MODEL="${MODEL:-smollm2-135m-instruct}"
OUT="${OUT:-results/code}"
mkdir -p "$OUT"
stages="${*:-mbpp_base mbpp_sft mbpp_raft cpp_base cpp_sft cpp_raft}"
mbpp_eval() {
  $HF -q benchmark run --config configs/recipes/benchmark_mbpp_greedy.yaml --model "$1" --output "$OUT/mbpp_greedy_$2.json"
  $HF -q benchmark run --config configs/recipes/benchmark_mbpp_sampled.yaml --model "$1" --output "$OUT/mbpp_t08_$2.json"
}
cpp_eval() { $HF -q benchmark run --config configs/recipes/benchmark_codeforces_compile.yaml --model "$1" --output "$OUT/cpp_$2.json"; }
raft() {  # $1 recipe name, $2 eval function, $3 runs dir
  $HF -q raft train --config "configs/recipes/raft_$1.yaml" | tee "$OUT/raft_$1_table.txt"
  cp "$3/training_summary.json" "$OUT/raft_$1_training_summary.json"
  for c in "$3"/cycle_*/model; do n=$(basename "$(dirname "$c")"); "$2" "$c" "raft_$n"; done
}
for s in $stages; do
  case $s in
    mbpp_base) mbpp_eval "$MODEL" base ;;
    mbpp_sft)  $HF -q sft train --config configs/recipes/sft_mbpp.yaml --model "$MODEL" > "$OUT/mbpp_sft_summary.txt"
               mbpp_eval runs/recipe_mbpp/sft/final_model sft ;;
    mbpp_raft) raft mbpp mbpp_eval runs/recipe_mbpp/raft ;;
    cpp_base)  cpp_eval "$MODEL" base ;;
    cpp_sft)   $HF -q sft train --config configs/recipes/sft_codeforces.yaml --model "$MODEL" > "$OUT/cpp_sft_summary.txt"
               cpp_eval runs/recipe_cpp/sft/final_model sft ;;
    cpp_raft)  raft codeforces cpp_eval runs/recipe_cpp/raft ;;
  esac
done
