"""Where a big corpus's memory goes on the data path: NumPy's allocations per stage, from a token cache.

    python bench/data_memory.py /tmp/scale/tokens-1024/<key>     # a cache bench/scale.py wrote

Loads the training split's document table, cuts it into pieces and plans two epochs as training
does; reports what each stage holds and its peak on top (tracemalloc, which NumPy reports to), and
the process's anonymous and file-backed resident memory after it.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

from common import report

from textgen.tokencache import read_store
from textgen.windows import epoch_plan, pieces

MB = 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache", help="a token cache folder (meta.json, train.bin, ...)")
    parser.add_argument("--max-piece", type=int, default=1024)
    parser.add_argument("--tokens-per-step", type=int, default=32 * 64)
    parser.add_argument("--seq-len", type=int, default=64)
    args = parser.parse_args()
    stages = []

    def stage(name: str) -> None:
        held, peak = tracemalloc.get_traced_memory()
        lines = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
        status = dict(line.split(":", 1) for line in lines)
        stages.append(
            {
                "stage": name,
                "held_mb": round(held / MB, 1),
                "peak_mb": round(peak / MB, 1),
                "rss_anonymous_mb": round(int(status["RssAnon"].split()[0]) / 1024),
                "rss_file_mb": round(int(status["RssFile"].split()[0]) / 1024),
            }
        )
        print(stages[-1], flush=True)
        tracemalloc.reset_peak()

    tracemalloc.start()
    stage("start")
    store = read_store(Path(args.cache))
    stage(f"document table ({store.train.stream.num_documents:,} training documents)")
    table = pieces(store.train.stream, args.max_piece)
    stage(f"pieces ({len(table.lengths):,})")
    plans = [epoch_plan(table.lengths, args.tokens_per_step, args.seq_len, 0, epoch) for epoch in (0, 1)]
    stage(f"two epochs' plans ({len(plans[0][0]):,} groups each)")
    report("data_memory", {"command": "python bench/data_memory.py " + " ".join(sys.argv[1:]), "stages": stages})


if __name__ == "__main__":
    main()
