#!/bin/bash
# How the bundled files were exported: for each variant, score the EMA and the raw last weights of its CPU run
# on the validation pairs (seed 1000003, never trained on) and bundle the better one.
#   tools/pick_export.sh bag-compact rir-compact
cd "$(dirname "$0")/.."
scratch=$(mktemp -d); cp weights_manifest.json "$scratch/manifest.json"
for v in "$@"; do
  best=""; bestp=-1
  for e in ema no-ema; do
    deblur train export cpu-$v --name $v --weights-dir "$scratch/$e" --manifest "$scratch/manifest.json" --$e --last >/dev/null 2>&1 || continue
    p=$(deblur eval --dataset synthetic --n 16 --seed 1000003 --size 128 -m $v --weights "$scratch/$e"/$v.safetensors --no-flops --format csv 2>/dev/null | tail -1 | cut -d, -f7)
    echo "$v $e val PSNR $p"
    if python3 -c "import sys; sys.exit(0 if float('$p') > float('$bestp') else 1)"; then best=$e; bestp=$p; fi
  done
  echo "$v -> $best"
  deblur train export cpu-$v --name $v --$best --last 2>&1 | tail -3
done
