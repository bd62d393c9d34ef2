#!/usr/bin/env bash
# The CUDA path in one call on a lent GPU machine (the device tool's `run`), within 8 minutes:
#   bash bench/gpu_check.sh            (there: carry .whl and .gpu; see bench/gpu_prepare.sh)
# Installs what that machine lacks from carried wheels, runs the CUDA tests, then bench/gpu_bench.py,
# and writes every output under $OUT (./gpu-out where OUT is unset), the benchmark's JSON too. On a CPU it
# still runs: the CUDA tests skip with their reason and the benchmark runs its --smoke sizes, and
# tests/test_gpu_check.py runs it so, so that the script a lent GPU gets cannot rot unseen.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1
export TEXTGEN_BENCH_RESULTS="$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site:$PWD" || { echo "wheels did not install" | tee "$OUT/summary.txt"; exit 1; }
else
  export PYTHONPATH="$PWD"
fi
if [ -f .gpu/tinyshakespeare.txt ]; then export TEXTGEN_SHAKESPEARE="$PWD/.gpu/tinyshakespeare.txt"; fi
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
} | tee "$OUT/summary.txt"
smoke=()
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || smoke=(--smoke --name gpu_smoke)
timeout 200 python3 -m pytest -q -rs -p no:cacheprovider tests/test_cuda.py -s 2>&1 | tee "$OUT/cuda_tests.txt"
tests=${PIPESTATUS[0]}
timeout 330 python3 bench/gpu_bench.py "${smoke[@]}" 2>&1 | tee "$OUT/gpu_bench.txt"
bench=${PIPESTATUS[0]}
echo "cuda tests exit $tests, benchmark exit $bench" | tee -a "$OUT/summary.txt"
[ "$tests" = 0 ] && [ "$bench" = 0 ]
