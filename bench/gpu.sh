#!/usr/bin/env bash
# On a CUDA machine: train two presets on the GPU (fp32 and bf16) against the CPU, then one process under
# torchrun with NCCL, and print samples/s. Run from the repository root with the project's venv:
#   bash bench/gpu.sh            (PYTHON=.venv/bin/python by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
"$PY" -c "import torch; print('nvidia-smi:'); import subprocess; subprocess.run(['nvidia-smi', '-L'])" || true
"$PY" bench/gpu.py "$@"
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  out=$(mktemp -d)
  echo "torchrun --nproc_per_node=1 (NCCL), digits-simclr on cuda, 5 epochs:"
  start=$(date +%s.%N)
  "$PY" -m torch.distributed.run --standalone --nproc_per_node=1 -m core.cli train digits-simclr \
      --device cuda --epochs 5 --out "$out" --quiet
  end=$(date +%s.%N)
  echo "  whole run: $(echo "$end - $start" | bc) s (the CPU figure for the same run is in the table above)"
  rm -rf "$out"
else
  echo "No CUDA device: torchrun with NCCL was not run."
fi
