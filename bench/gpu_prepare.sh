#!/usr/bin/env bash
# Here, before a GPU run: what bench/gpu_check.sh needs on a machine that reaches no registry. Wheels
# for the packages its image lacks or has at another version (Python 3.12, manylinux x86_64) into
# .whl/, and the tiny Shakespeare corpus into .gpu/; both are ignored by git and travel with `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
mkdir -p .whl .gpu
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do platforms+=(--platform "$p"); done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" \
  -d .whl huggingface-hub==2.4.0 hf-xet==1.8.0 httpx2==2.16.2 httpcore2==2.16.2 truststore click==8.5.1
cp ../shared/corpora/tinyshakespeare.txt .gpu/
ls -l .whl .gpu
