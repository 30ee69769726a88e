#!/usr/bin/env bash
# Issue 19's efficacy experiment for any RAFT recipe with an `eval:` section. For each seed: RAFT
# (RECIPE, default configs/recipes/raft_gsm8k_qwen.yaml: held-out before and after each cycle) and its
# compute-matched control (SFT on the gold solutions of the recipe's own train pool, from the same
# start model, for the same number of optimizer steps, with the recipe's batch, accumulation, peak LR,
# sequence length and dtype), the control scored on the recipe's held-out split with its generation
# settings, then the paired comparison. EXTRA_EVALS="humaneval:test ..." also scores the start model (once),
# RAFT's final_model and the control on more held-out splits, greedy (e.g. HumanEval beside MBPP test).
# Usage: benchmarks/efficacy.sh MODEL OUT SEED [SEED...]
#   PYTHON=python3; PARALLEL=1 runs the seeds side by side (one GPU fits three 0.5B runs at micro-batch 4);
#   RAFT_FLAGS / CONTROL_FLAGS / BENCH_FLAGS add flags (e.g. --batch-size 4 --grad-accum 8, or a CPU smoke run)
set -euo pipefail
MODEL="$1"; OUT="$2"; shift 2
PY="${PYTHON:-python3}"
RECIPE="${RECIPE:-configs/recipes/raft_gsm8k_qwen.yaml}"
# everything the control and the benchmarks copy comes from the recipe (benchmarks/recipe_settings.py)
read -r TASK DATASET SPLIT LR MICRO ACCUM SEQ DTYPE NEW GENB EVAL_DATASET EVAL_SPLIT \
  < <("$PY" "$(dirname "$0")/recipe_settings.py" "$RECIPE")
[ -n "$EVAL_SPLIT" ] || exit 1  # recipe_settings.py said why
mkdir -p "$OUT"

greedy() {  # greedy benchmark of model $1 on dataset:split $2 into $3
  "$PY" -m halo_forge -q benchmark run --task "$TASK" --dataset "${2%%:*}" --split "${2##*:}" -n 1 --k 1 \
    --temperature 0 --max-new-tokens "$NEW" --gen-batch-size "$GENB" --dtype "$DTYPE" --model "$1" \
    --no-report -o "$3" ${BENCH_FLAGS:-} > /dev/null
}

one_seed() {
  local seed=$1 d="$OUT/seed_$1" steps final
  echo "== seed $seed: RAFT, $RECIPE ($(date -u +%T))"
  "$PY" -m halo_forge -q raft train --config "$RECIPE" --model "$MODEL" --seed "$seed" \
    --no-report -o "$d/raft" ${RAFT_FLAGS:-} > "$d.raft.log" 2> "$d.raft.err" || { tail -20 "$d.raft.err"; return 1; }
  cat "$d.raft.log"
  # optimizer steps RAFT took in all, and the cycle final_model is: the best on the validation slice
  # (validation_prompts) or else the last (RAFT_FLAGS may change --cycles)
  read -r steps final < <("$PY" -c "import json,sys; s = json.load(open(sys.argv[1])); c = s['cycles']
print(sum(x['train_steps'] for x in c), s.get('selected_cycle') or c[-1]['cycle'])" "$d/raft/training_summary.json")
  [ "$steps" -gt 0 ] || { echo "== seed $seed: RAFT kept nothing to train on: no control to match"; return 0; }
  for x in ${EXTRA_EVALS:-}; do greedy "$d/raft/final_model" "$x" "$d/extra_${x%%:*}_raft.json"; done
  # RAFT's weights are not needed any more (a 0.5B fp32 model is 2 GB a cycle; a 64 GB disk filled up with three
  # seeds side by side), and its results travel before the control starts, so a failed control loses nothing
  rm -rf "$d"/raft/cycle_*/model "$d"/raft/cycle_*/trainer "$d/raft/final_model"
  # every cycle's rollouts (samples.jsonl: 46 MB a cycle for GSM8K's whole pool at 4 samples) in an archive of their
  # own, so the results' archives stay under a GPU host's 16 MB a file
  tar czf "$OUT/seed_$seed.rollouts.tgz" -C "$OUT" $(cd "$OUT" && ls seed_"$seed"/raft/cycle_*/samples.jsonl)
  tar czf "$OUT/seed_$seed.raft.tgz" --exclude=generations.jsonl --exclude=samples.jsonl -C "$OUT" "seed_$seed/raft" \
    "seed_$seed.raft.log" "seed_$seed.raft.err"
  echo "== seed $seed: SFT control, $steps steps ($(date -u +%T))"
  # --no-checkpoints: two resumable checkpoints of a 0.5B full fine-tune are 12 GB a seed (three seeds and a
  # SmolLM2 run beside them filled a 64 GB disk and took the machine down); --epochs 1000: max_steps ends it (a small pool, MBPP's 149
  # prompts, needs several passes for RAFT's steps)
  "$PY" -m halo_forge -q sft train --task "$TASK" --dataset "$DATASET" --split "$SPLIT" --model "$MODEL" --dtype "$DTYPE" \
    --no-lora --lr "$LR" --batch-size "$MICRO" --grad-accum "$ACCUM" --epochs 1000 --max-steps "$steps" \
    --max-seq-len "$SEQ" --seed "$seed" --no-checkpoints ${CONTROL_FLAGS:-} -o "$d/control" > "$d.control.log" 2>&1 \
    || { tail -20 "$d.control.log"; return 1; }
  greedy "$d/control/final_model" "$EVAL_DATASET:$EVAL_SPLIT" "$d/control.json"
  for x in ${EXTRA_EVALS:-}; do greedy "$d/control/final_model" "$x" "$d/extra_${x%%:*}_control.json"; done
  rm -rf "$d/control/final_model" "$d/control"/checkpoint*
  # a failed comparison must not cost the archive below (the files are what count; compare can be re-run)
  "$PY" -m halo_forge -q benchmark compare "$d/control.json" "$d/raft/cycle_$final/heldout.json" --k 1 \
    2>&1 | tee "$d/compare_control_vs_raft.txt" || echo "== seed $seed: the comparison failed (above)"
  # one archive per seed (a GPU host may return files of at most 16 MB: generations.jsonl repeats samples.jsonl, and
  # the rollouts are in seed_S.rollouts.tgz)
  tar czf "$OUT/seed_$seed.tgz" --exclude=generations.jsonl --exclude=samples.jsonl --exclude="*.safetensors" \
    --exclude="*.pt" --exclude="*.pth" \
    -C "$OUT" "seed_$seed" "seed_$seed.raft.log" "seed_$seed.raft.err" "seed_$seed.control.log"
  echo "== seed $seed done ($(date -u +%T)): $OUT/seed_$seed.tgz"
}

for x in ${EXTRA_EVALS:-}; do greedy "$MODEL" "$x" "$OUT/extra_${x%%:*}_start.json"; done
# the start model's extra results with their per-sample files, in one archive beside the seeds' (without the
# samples, RAFT vs start cannot be paired: session 15 brought back only the JSON)
[ -z "${EXTRA_EVALS:-}" ] || tar czf "$OUT/start_extra.tgz" -C "$OUT" $(cd "$OUT" && ls extra_*_start.*)
if [ "${PARALLEL:-0}" = 1 ]; then
  for seed in "$@"; do mkdir -p "$OUT/seed_$seed"; one_seed "$seed" > "$OUT/log_$seed" 2>&1 & done
  wait
  cat "$OUT"/log_*
else
  for seed in "$@"; do mkdir -p "$OUT/seed_$seed"; one_seed "$seed"; done
fi
