#!/usr/bin/env bash
# The main job: bootstrap, then a short RAFT demo on the embedded SmolLM2-135M-Instruct (CPU, offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "${HALO_FORGE_VENV:-$ROOT/.venv}/bin/halo-forge" raft train --config configs/raft_demo.yaml "$@"
