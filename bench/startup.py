"""Cold start: from launching the app's process to a visible window, and to the experiment being loaded
(which imports torch and the rest of core in the background).

    python bench/startup.py [--repeats 3]

Target: a visible window in under 2 s on this machine (torch + scikit-learn + umap alone take ~6-7 s to import,
which is why the window does not wait for them).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CHILD = r"""
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from replearn_gui.main_window import MainWindow
app = QApplication([])
w = MainWindow(runs_root=sys.argv[2])
w.show()
app.processEvents()
print(f"window {time.time() - t0:.3f}", flush=True)
def check():
    if w.experiment is not None:
        print(f"loaded {time.time() - t0:.3f}", flush=True)
        app.quit()
    else:
        QTimer.singleShot(50, check)
QTimer.singleShot(50, check)
app.exec()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    import tempfile

    windows, loads = [], []
    with tempfile.TemporaryDirectory() as runs:
        for _ in range(args.repeats):
            t0 = time.time()
            out = subprocess.run([sys.executable, "-c", CHILD, str(t0), runs], capture_output=True, text=True,
                                 env=env, timeout=300).stdout
            values = dict(line.split() for line in out.splitlines() if line.startswith(("window", "loaded")))
            windows.append(float(values["window"]))
            loads.append(float(values["loaded"]))
    print(f"process start -> visible window: best {min(windows):.2f} s, median {sorted(windows)[len(windows) // 2]:.2f} s "
          f"(target < 2 s)")
    print(f"process start -> experiment loaded (torch imported in a worker): best {min(loads):.2f} s")


if __name__ == "__main__":
    main()
