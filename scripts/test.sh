#!/usr/bin/env bash
# The test command: bootstrap, then the whole suite (CPU, offline). Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HALO_FORGE_BOOTSTRAP=tests bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "${HALO_FORGE_VENV:-$ROOT/.venv}/bin/python" -m pytest -q "$@"
