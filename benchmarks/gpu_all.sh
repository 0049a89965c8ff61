#!/usr/bin/env bash
# Every GPU check of the issues in one session (the device machine has torch, transformers, xarray, scipy).
#   OUT=logs CHAOSLIB_DATA=/path/to/shared/data bash benchmarks/gpu_all.sh
set -u
OUT=${OUT:-gpu_logs}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
# script:seconds, most important first (the issues' GPU figures), so a slow one cannot starve the rest
for entry in ${GPU_SCRIPTS:-gpu_trajectory:90 gpu_lyapunov:150 gpu_effective_dimension:140 gpu_glue:90 gpu_mlm:90}; do
  script=${entry%%:*}; limit=${entry##*:}
  echo "=== $script (limit $limit s)"
  start=$(date +%s)
  timeout "$limit" python3 "benchmarks/$script.py" > "$OUT/$script.log" 2>&1
  echo "exit $? after $(( $(date +%s) - start )) s"
  tail -n 14 "$OUT/$script.log"
done
