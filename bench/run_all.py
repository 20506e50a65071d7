"""Run every benchmark, each in its own process (fresh imports, fresh numba caches), show its output, and end
with one table of the headline figures.

    make bench                 # or: QT_QPA_PLATFORM=offscreen python bench/run_all.py [--skip quality]

Each benchmark also runs on its own (see bench/README.md for options).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

# (script, arguments, [(label, regex whose first group is the figure, unit, target)])
BENCHES = [
    ("train_overhead", [], [("training: engine vs a bare loop", r"engine \(events \+ jsonl\)[^\n]*?ratio ([\d.]+)", "x", "<= 1.10")]),
    ("startup", [], [("cold start to a visible window", r"visible window: best ([\d.]+) s", "s", "< 2")]),
    ("gui_responsiveness", [], [
        ("GUI stall p99 while training", r"training [^\n]*?p99\s+([\d.]+) ms", "ms", "< 50"),
        ("GUI stall p99 during t-SNE", r"t-SNE [^\n]*?p99\s+([\d.]+) ms", "ms", "< 50")]),
    ("explorer", [], [
        ("explorer 100k: first draw", r"first draw\s+([\d.]+) ms", "ms", "< 1000"),
        ("explorer 100k: pan repaint", r"pan repaint\s+([\d.]+) ms", "ms", "< 50"),
        ("explorer 100k: recolour", r"recolour \+ repaint\s+([\d.]+) ms", "ms", "< 100"),
        ("explorer 100k: hover pick", r"hover pick\s+([\d.]+) ms", "ms", "< 10"),
        ("explorer 100k: neighbours shown", r"neighbours shown.*?([\d.]+) ms", "ms", "< 100"),
        ("explorer 100k: epoch animation", r"epoch animation\s+([\d.]+) frames/s", "fps", ">= 20")]),
    ("neighbors", [], [
        ("exact kNN, 1 query on 100k x 128", r"core\.ExactIndex\s+([\d.]+)", "ms", "<= 5"),
        ("exact kNN, 1000 queries", r"core\.ExactIndex\s+[\d.]+\s+([\d.]+)", "s", "<= 0.5")]),
    ("neighbors", ["--n", "1000000", "--skip-approximate", "--repeats", "2"], [
        ("exact kNN 1M x 128: 1 query vs faiss IndexFlatIP", r"ratio core / faiss: 1 query ([\d.]+)x", "x", "fastest"),
        ("exact kNN 1M x 128: 1000 queries vs faiss", r"1000 queries ([\d.]+)x \(same", "x", "<= 1")]),
    ("projection", [], [
        ("projection overhead: PCA", r"(?m)^pca\s+[\d.]+\s+[\d.]+\s+([\d.]+)", "x", "<= 1.05"),
        ("projection overhead: t-SNE", r"(?m)^tsne\s+[\d.]+\s+[\d.]+\s+([\d.]+)", "x", "<= 1.05"),
        ("projection overhead: UMAP", r"(?m)^umap\s+[\d.]+\s+[\d.]+\s+([\d.]+)", "x", "<= 1.05")]),
    ("load", [], [
        ("load 500 MB .npy (memory-mapped)", r"ours-npy\s+([\d.]+)", "s", ""),
        ("load 200k-row CSV", r"ours-csv\s+([\d.]+)", "s", ""),
        ("CSV vs pandas: time", r"ours / pandas: time ([\d.]+)x", "x", "<= 1.5"),
        ("CSV vs pandas: peak memory", r"peak memory ([\d.]+)x \(target", "x", "<= 1.5")]),
    ("scaling", [], [
        ("scaling, supervised 20k rows: ms per 1k rows", r"supervised\s+20,000\s+[\d.]+\s+([\d.]+)", "ms", "linear"),
        ("scaling, supervised 2M rows: ms per 1k rows", r"supervised\s+2,000,000\s+[\d.]+\s+([\d.]+)", "ms", "linear"),
        ("scaling, supervised 2M rows: peak memory", r"supervised\s+2,000,000(?:\s+[\d.]+){3}\s+([\d.]+)", "MB",
         "bounded")]),
    ("scale", [], [
        ("1M x 128 embeddings in memory: growth", r"all in memory \(embed\)\s+[\d.]+ s\s+peak\s+[\d,]+ MB\s+\(\+([\d,]+) MB",
         "MB", ""),
        ("1M x 128 embeddings to a file: growth", r"embed_to_file\)\s+[\d.]+ s\s+peak\s+[\d,]+ MB\s+\(\+([\d,]+) MB",
         "MB", "far below"),
        ("training throughput, 2 vs 1 processes", r"2 process\(es\):.*?\(([\d.]+)x\)", "x", "")]),
    ("quality", [], [
        ("quality: supervised, own classifier", r"digits-supervised\s*\|\s*\d+\s*\|\s*([\d.]+)", "acc", ">= 0.97"),
        ("quality: SimCLR linear probe", r"digits-simclr\s*\|\s*\d+\s*\|\s*\S+\s*\|\s*([\d.]+)", "acc",
         "> random init"),
        ("quality: VICReg linear probe", r"digits-vicreg\s*\|\s*\d+\s*\|\s*\S+\s*\|\s*([\d.]+)", "acc",
         "> random init")]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", nargs="*", default=[], help="benchmarks to leave out, e.g. quality")
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    rows = []
    for script, extra, figures in BENCHES:
        if script in args.skip:
            continue
        print(f"\n=== bench/{script}.py", flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE / f"{script}.py"), *extra], capture_output=True, text=True,
                              env=env)
        output = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                           if "propagateSizeHints" not in line)
        print(output, flush=True)
        took = time.perf_counter() - started
        for label, pattern, unit, target in figures:
            m = re.search(pattern, output)
            value = m.group(1) if m and proc.returncode == 0 else ("failed" if proc.returncode else "not found")
            rows.append((label, value, unit, target, f"{took:.0f} s"))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'benchmark':<{width}}  {'figure':>9}  unit  target      (bench took)")
    for label, value, unit, target, took in rows:
        print(f"{label:<{width}}  {value:>9}  {unit:<4}  {target:<10}  ({took})")


if __name__ == "__main__":
    main()
