"""Loading user files: time and peak memory of our readers beside the plain library calls.

Each measurement runs in a fresh process (so peak memory is its own): a 500 MB float32 .npy file (our reader
memory-maps it; ``np.load`` reads it whole) and a 200,000-row CSV (our reader with its checks; ``np.loadtxt``,
and ``pandas.read_csv`` when pandas is installed).

    python bench/load.py [--npy-mb 500] [--csv-rows 200000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MEASURE = r"""
import json, resource, sys, time
what, path = sys.argv[1], sys.argv[2]
import numpy as np
if what.startswith("ours"):
    import core  # imports (torch, ...) are not loading: measured from here on
    import pyarrow.csv  # noqa: F401  (like pandas below: the library's import is not the reading)
if what == "pandas":
    import pandas as pd
start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if what.startswith("ours"):
    entry = core.DATASETS.get("npy" if what == "ours-npy" else "csv")
    a = entry.cls(entry.make_params({"path": path})).load().X
elif what == "np.load":
    a = np.load(path)
elif what == "np.loadtxt":
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
elif what == "pandas":
    a = pd.read_csv(path).to_numpy(dtype=np.float32)
shape = a.shape
float(np.asarray(a[-1]).sum())  # use the data
seconds = time.perf_counter() - t
peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_rss) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "shape": list(shape)}))
"""


MAKE_FILES = r"""
import sys
import numpy as np
npy, rows, cols, csv, csv_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
np.lib.format.open_memmap(npy, mode="w+", dtype=np.float32, shape=(rows, cols))[:] = 1.0
rng = np.random.default_rng(0)
with open(csv, "w") as fh:
    fh.write(",".join(f"f{j}" for j in range(20)) + "\n")
    for block in range(0, csv_rows, 10_000):
        np.savetxt(fh, rng.normal(size=(min(10_000, csv_rows - block), 20)), delimiter=",", fmt="%.5f")
"""


def measure(what: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, what, str(path)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npy-mb", type=int, default=500)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    args = parser.parse_args()
    try:
        import pandas  # noqa: F401
        has_pandas = True
    except ImportError:
        has_pandas = False
    with tempfile.TemporaryDirectory() as d:
        npy = Path(d) / "big.npy"
        cols = 128
        rows = args.npy_mb * 1024 * 1024 // (4 * cols)
        csv = Path(d) / "table.csv"
        # written by a child process: Linux hands a parent's peak memory down to its children (ru_maxrss)
        subprocess.run([sys.executable, "-c", MAKE_FILES, str(npy), str(rows), str(cols), str(csv), str(args.csv_rows)],
                       check=True)
        print(f"{'file':<34} {'reader':<12} {'seconds':>8} {'peak MB':>9}")
        jobs = [(npy, f"{args.npy_mb} MB float32 .npy ({rows}x{cols})", ["ours-npy", "np.load"]),
                (csv, f"{args.csv_rows:,}-row CSV (20 columns)", ["ours-csv", "np.loadtxt"] + (["pandas"] if has_pandas else []))]
        results = {}
        for path, label, readers in jobs:
            for reader in readers:
                r = results[reader] = measure(reader, path)
                if "error" in r:
                    print(f"{label:<34} {reader:<12} failed: {r['error']}")
                else:
                    print(f"{label:<34} {reader:<12} {r['seconds']:8.2f} {r['peak_mb']:9.0f}")
        ours, pandas_r = results.get("ours-csv", {}), results.get("pandas", {})
        if "seconds" in ours and "seconds" in pandas_r:
            print(f"CSV, ours / pandas: time {ours['seconds'] / pandas_r['seconds']:.2f}x, peak memory "
                  f"{ours['peak_mb'] / max(pandas_r['peak_mb'], 1):.2f}x (target <= 1.5x both)")
        print("peak MB = growth of the process's peak resident memory. ours-npy memory-maps the file: its peak is "
              "the file's pages, read once by the NaN/inf check (clean page cache the OS can drop), not a copy.")
        if not has_pandas:
            print("(pandas is not installed: its column is left out)")


if __name__ == "__main__":
    main()
