#!/usr/bin/env bash
# One lease of a GPU machine (the `device` tool), as one prepared command: train the paper-size bag on photos
# (preset gpu/bag-photos) for TRAIN_S seconds, check CUDA inference against the CPU beside it, and put the EMA
# weights (last, best by held-out photos, and one kept step) in OUT/{last,best,mid}, and the logs, the check's
# table and the export manifest in OUT/logs.tar.gz.
#
#   bash tools/device_bag_photos.sh PHOTOS OUT TRAIN_S [WORKERS [INIT]]   # PHOTOS holds train/ and val/
#
# INIT: an exported bag file to continue (`deblur train --init-from`); without it the run starts from scratch.
#
# The package is used from the checkout (PYTHONPATH), with the machine's own torch. If the preset's bf16 +
# channels_last run dies, a run with fp32 and the default memory layout takes the time that is left.
set -u
photos=$1 out=$2 train_s=$3 workers=${4:-13} init=${5:-} device=${DEVICE:-cuda}
start_from=(--from-scratch)
[ -n "$init" ] && start_from=(--init-from "$init")
logs=/tmp/device-logs
mkdir -p $logs
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
deblur() { python3 -m deblur_cli "$@"; }
start=$(date +%s)
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; python3 -c "import torch; print(torch.__version__)"; } > $logs/machine.txt 2>&1

run=/tmp/run-bag-photos
deblur train --preset gpu/bag-photos --data-root "$photos/train" --device "$device" --workers "$workers" \
    "${start_from[@]}" --run-dir $run --time-budget "${train_s}s" --no-progress > $logs/train.log 2>&1 &
trainer=$!
# after the loader processes have started, so that the check takes its share of the CPU beside them
(sleep 60; python3 tools/check_cuda.py > $logs/cuda_check.txt 2>&1) &
checker=$!
if ! wait $trainer; then
    left=$(( train_s - ($(date +%s) - start) ))
    echo "bf16 + channels_last run failed; fp32 run for ${left}s" >> $logs/train.log
    printf 'extends = "gpu/bag-photos"\n[train]\namp = "off"\nchannels_last = false\n' > /tmp/bag-photos-fp32.toml
    run=/tmp/run-bag-photos-fp32
    [ "$left" -gt 60 ] && deblur train --config /tmp/bag-photos-fp32.toml --data-root "$photos/train" --device "$device" \
        --workers "$workers" "${start_from[@]}" --run-dir $run --time-budget "${left}s" --no-progress >> $logs/train.log 2>&1
fi
wait $checker

cp weights_manifest.json "$out/manifest.json"
cp $run/train.csv $run/val.csv $run/run.json $logs/ 2>/dev/null
for which in last best; do
    # fp16, not export's int8 for an 8M-parameter network: these files are the masters the next lease continues;
    # tools/bundle_file.py stores the bundled copy in int8
    deblur train export $run --$which --ema --dtype fp16 --weights-dir "$out/$which" --manifest "$out/manifest.json" >> $logs/export.log 2>&1
done
# the kept checkpoint halfway through, for a look at how the weights changed
steps=($(ls $run/checkpoints | sed -n 's/^step-0*\([0-9][0-9]*\)$/\1/p' | sort -n))
if [ ${#steps[@]} -gt 2 ]; then
    mid=${steps[$(( ${#steps[@]} / 2 ))]}
    deblur train export $run --step "$mid" --ema --dtype fp16 --weights-dir "$out/mid" --manifest "$out/manifest.json" >> $logs/export.log 2>&1
fi
ls -la "$out" "$out"/* >> $logs/export.log
cp "$out/manifest.json" $logs/ && rm "$out/manifest.json"
tar -czf "$out/logs.tar.gz" -C $logs .  # at most 8 files come back: the logs travel as one
