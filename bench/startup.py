"""First launch: from starting a fresh ``replearn-gui`` process to the window shown (its first paint), and to
"ready to train" (the experiment loaded and Start enabled), in a fresh settings folder (a first launch).

    python bench/startup.py [--repeats 3] [--code OTHER_CHECKOUT]             # Qt offscreen
    xvfb-run -a env QT_QPA_PLATFORM=xcb python bench/startup.py               # a real X session

Targets: window shown < 2 s, ready to train < 5 s. The child is the app's own entry point (``replearn_gui.app
.main``, what the ``replearn-gui`` script calls); it only adds an event filter that notes the window's first
paint and a 20 ms poll of the Start action, then quits. As an install does, the project's modules are compiled to
bytecode first (``compileall``; a wheel install writes the .pyc files, and this machine's PYTHONDONTWRITEBYTECODE
would otherwise make every launch compile them again). Baselines in the same run, each a fresh process: an empty
PySide6 window's first paint, and ``import torch`` (what ready-to-train cannot do without). ``--code DIR``
launches another checkout's code instead (e.g. ``git archive main`` unpacked), for a before / after in one run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PRELUDE = r"""
import os, sys
code = os.environ.get("BENCH_CODE")
if code:  # another checkout: ahead of the editable install's finder
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                        and "editable" not in getattr(f, "__name__", "").lower()]
    sys.path.insert(0, code)
"""
CHILD = PRELUDE + r"""
import sys, time
t0 = float(sys.argv[1])
from replearn_gui import app as entry          # what the replearn-gui script imports
from PySide6.QtCore import QEvent, QObject, QTimer
from replearn_gui.main_window import MainWindow

class FirstPaint(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.seen = False
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            print(f"window {time.time() - t0:.3f}", flush=True)
        return False

show = MainWindow.show
def show_and_watch(self):
    self.installEventFilter(FirstPaint(self))
    show(self)
    def check():
        if self.start_action.isEnabled() and self.experiment is not None:
            print(f"ready {time.time() - t0:.3f}", flush=True)
            from PySide6.QtWidgets import QApplication
            QApplication.instance().quit()
        else:
            QTimer.singleShot(20, check)
    QTimer.singleShot(20, check)
MainWindow.show = show_and_watch
sys.exit(entry.main(["replearn-gui", "--runs", sys.argv[2]]))
"""


BARE_WINDOW = r"""
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print(f"window {time.time() - t0:.3f}", flush=True)
            QApplication.instance().quit()
        return False
app = QApplication([])
w = QMainWindow()
w.resize(1320, 820)
w.installEventFilter(FirstPaint(w))
w.show()
app.exec()
"""
BARE_TORCH = "import sys, time; t0 = float(sys.argv[1]); import torch; print(f'torch {time.time() - t0:.3f}')"


def timed(code: str, key: str, env: dict, *args: str) -> float:
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", code, str(t0), *args], capture_output=True, text=True, env=env,
                          timeout=300)
    values = dict(line.split() for line in proc.stdout.splitlines() if line.startswith(key))
    if key not in values:
        sys.exit(f"no {key!r} from the child:\n{proc.stdout}\n{proc.stderr[-2000:]}")
    return float(values[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", help="another checkout to launch (its core/, replearn_gui/, resources/)")
    args = parser.parse_args()
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(QT_QPA_PLATFORM=platform, OMP_NUM_THREADS="1")
    if args.code:
        code = os.path.abspath(args.code)
        if not os.path.exists(os.path.join(code, "replearn_resources")):
            os.symlink("resources", os.path.join(code, "replearn_resources"))  # the wheel's package name
        env["BENCH_CODE"] = code
    # the packages the child will import (PYTHONPATH may point at another checkout to compare with)
    where = subprocess.run([sys.executable, "-c", PRELUDE + "\nimport core, replearn_gui, replearn_resources as r; "
                            "print(core.__path__[0]); print(replearn_gui.__path__[0]); print(r.__path__[0])"],
                           capture_output=True, text=True, env=env, check=True).stdout.split()
    subprocess.run([sys.executable, "-m", "compileall", "-q", *where], check=True, env=env)  # what installing does
    windows, ready, bare_windows, bare_torch = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            child_env = dict(env, XDG_CONFIG_HOME=os.path.join(tmp, f"config{k}"))  # no settings yet: first launch
            bare_windows.append(timed(BARE_WINDOW, "window", child_env))
            bare_torch.append(timed(BARE_TORCH, "torch", child_env))
            t0 = time.time()
            proc = subprocess.run([sys.executable, "-c", CHILD, str(t0), os.path.join(tmp, "runs")],
                                  capture_output=True, text=True, env=child_env, timeout=300)
            values = dict(line.split() for line in proc.stdout.splitlines() if line.startswith(("window", "ready")))
            if "ready" not in values:
                sys.exit(f"the app did not become ready:\n{proc.stdout}\n{proc.stderr[-2000:]}")
            windows.append(float(values["window"]))
            ready.append(float(values["ready"]))
    med = statistics.median
    print(f"first launch of {os.path.dirname(where[0])}, Qt {platform}, {args.repeats} fresh processes each, load average "
          f"{os.getloadavg()[0]:.1f} (2 cores)")
    print(f"  process start -> window shown (first paint): median {med(windows):.2f} s, best {min(windows):.2f} s "
          f"(target < 2 s); an empty PySide6 window: {med(bare_windows):.2f} s "
          f"({med(windows) / med(bare_windows):.2f}x)")
    print(f"  process start -> ready to train (experiment loaded, Start enabled): median {med(ready):.2f} s, "
          f"best {min(ready):.2f} s (target < 5 s); import torch alone: {med(bare_torch):.2f} s "
          f"({med(ready) / med(bare_torch):.2f}x)")

if __name__ == "__main__":
    main()
