#!/usr/bin/env bash
# The serve load table of docs/performance.md (issue 21): the same bounded load (N concurrent
# streaming chat requests from the official openai client on loopback) against `halo-forge serve`
# on the native engine and on HF generate behind the same server, back to back on one machine.
#   bash benchmarks/serve_table.sh MODEL OUTDIR [REQUESTS] [MAX_TOKENS]
set -euo pipefail
MODEL=$1 OUT=$2 N=${3:-256} TOK=${4:-128}
mkdir -p "$OUT"
for engine in native hf; do
  python3 benchmarks/serve_load.py --model "$MODEL" --engine "$engine" --requests "$N" --concurrency "$N" \
    --max-tokens "$TOK" --max-batch 256 --clients 4 --max-seconds 120 --output "$OUT/serve_$engine.json" | tail -n 25 || true
done
