#!/usr/bin/env bash
# The test command: bootstrap, then the whole suite (CPU, offline). Extra args go to pytest.
# Two parts: most tests in parallel (pytest-xdist, one worker per core), then the few marked
# `serial` alone, because they watch host-wide state (sandbox processes, /tmp) that a parallel
# neighbour would disturb. HALO_FORGE_TEST_WORKERS=0 runs everything in one process.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HALO_FORGE_BOOTSTRAP=tests bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY="${HALO_FORGE_VENV:-$ROOT/.venv}/bin/python"
WORKERS="${HALO_FORGE_TEST_WORKERS:-auto}"
[ "$WORKERS" = 0 ] && exec "$PY" -m pytest -q "$@"
rc=0
"$PY" -m pytest -q -n "$WORKERS" --dist worksteal -m "not serial" "$@" || rc=$?
"$PY" -m pytest -q -p no:xdist -m serial "$@" || { r=$?; [ "$r" = 5 ] || rc=$r; }  # 5: none selected
[ "$rc" = 5 ] && rc=0
exit "$rc"
