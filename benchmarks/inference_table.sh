#!/usr/bin/env bash
# The inference tables of docs/performance.md (issue 20): latency per runtime and the
# quantization before/after, for one model, on the machine this runs on.
#   bash benchmarks/inference_table.sh MODEL WORKDIR OUTDIR [torch|onnx|gguf|all]
# torch: native and hf (on the GPU when there is one) + inference optimize int8/int4;
# onnx: export + ONNX Runtime (CPU provider); gguf: export f16 + llama.cpp (CPU build).
set -euo pipefail
MODEL=$1 WORK=$2 OUT=$3 STAGE=${4:-all}
HF="python3 -m halo_forge"
mkdir -p "$WORK" "$OUT"
LAT=(--prompt-len 128 --new-tokens 128)
if [[ $STAGE == torch || $STAGE == all ]]; then
  $HF inference benchmark -m "$MODEL" --runtime native --batch 1,8,64 "${LAT[@]}" -o "$OUT/lat_native.json"
  $HF inference benchmark -m "$MODEL" --runtime hf --batch 1,8,64 "${LAT[@]}" -o "$OUT/lat_hf.json"
  for q in int8 int4; do
    $HF inference optimize -m "$MODEL" --quant "$q" -o "$WORK/$q" --force --json "$OUT/opt_$q.json"
  done
fi
if [[ $STAGE == onnx || $STAGE == all ]]; then
  t0=$SECONDS; $HF -q inference export -m "$MODEL" --format onnx -o "$WORK/onnx" --force; echo "onnx export: $((SECONDS - t0)) s"
  $HF inference benchmark -m "$MODEL" --runtime onnx --path "$WORK/onnx" --batch 1,8 "${LAT[@]}" -o "$OUT/lat_onnx.json"
fi
if [[ $STAGE == gguf || $STAGE == all ]]; then
  $HF -q inference export -m "$MODEL" --format gguf --dtype f16 -o "$WORK/s.gguf" --force
  $HF inference benchmark -m "$MODEL" --runtime gguf --path "$WORK/s.gguf" --batch 1 "${LAT[@]}" -o "$OUT/lat_gguf.json"
fi
