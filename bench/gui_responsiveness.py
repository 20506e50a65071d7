"""How smooth the window stays while work runs: a 10 ms heartbeat timer on the GUI thread measures how late each
tick arrives (the event-loop stall) while a real run trains in the app, while a t-SNE projection computes
in the Embeddings tab, and while the run is evaluated in the Evaluation tab (every evaluation and baseline).

    QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--preset digits-vicreg] [--epochs 6] [--no-evaluate]
    xvfb-run -a env QT_QPA_PLATFORM=xcb python bench/gui_responsiveness.py    # a real X session (xcb)

Offscreen skips the window system's own painting; under Xvfb with the xcb platform every repaint really goes
to an X server, which is what a person's session costs.

Target: p99 stall < 50 ms. Prints p50 / p99 / max per phase.
"""
from __future__ import annotations

import argparse
import dataclasses
import mmap
import os
import struct
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HEARTBEAT_MS = 10
HEARTBEAT_FILE = None  # an mmap of --heartbeat-file: the time of the last tick


class Heartbeat:
    def __init__(self):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.stalls: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.stalls = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> np.ndarray:
        self.timer.stop()
        return np.array(self.stalls)

    def _tick(self) -> None:
        if HEARTBEAT_FILE is not None:  # for an outside watcher that dumps the stacks of a stall (py-spy)
            HEARTBEAT_FILE[:8] = struct.pack("d", time.time())
        now = time.perf_counter()
        self.stalls.append(max(0.0, (now - self._last) * 1000 - HEARTBEAT_MS))
        self._last = now


def wait(app, condition, timeout: float) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            sys.exit("timed out")
        app.processEvents()
        time.sleep(0.001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="digits-vicreg")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--no-evaluate", action="store_true", help="leave out the evaluation phase")
    parser.add_argument("--tsne-iter", type=int, default=750)
    parser.add_argument("--start-at-once", action="store_true",
                        help="start training as soon as the experiment is loaded, while the engine's warm-up still "
                             "runs (by default the bench waits for it, as for a user who looks before pressing Start)")
    parser.add_argument("--heartbeat-file", help="write each tick's time here (8 bytes) for a stall watcher")
    args = parser.parse_args()
    if args.heartbeat_file:
        global HEARTBEAT_FILE
        with open(args.heartbeat_file, "wb") as f:
            f.write(b"\0" * 8)
        HEARTBEAT_FILE = mmap.mmap(os.open(args.heartbeat_file, os.O_RDWR), 8)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from replearn_gui.main_window import MainWindow

    root = tempfile.mkdtemp(prefix="replearn-bench-")
    window = MainWindow(runs_root=root)
    window.resize(1400, 900)
    window.show()
    wait(app, lambda: window.experiment is not None, 120)
    import core

    exp = core.load_preset(args.preset)
    exp = dataclasses.replace(exp, training=dataclasses.replace(exp.training, epochs=args.epochs, device="cpu"))
    window.on_experiment_loaded(exp.with_output(root=root))
    if not args.start_at_once:
        wait(app, lambda: not window.warm_up.busy, 120)
    beat = Heartbeat()
    results = {}

    beat.start()
    t = time.perf_counter()
    window.start_training()
    wait(app, lambda: window.controller.state == "idle" and window.last_result is not None, 600)
    results[f"training {args.preset} ({time.perf_counter() - t:.0f} s)"] = beat.stop()

    window.tabs.setCurrentWidget(window.embeddings)
    view = window.embeddings.primary
    wait(app, lambda: view.coords is not None and not window.embeddings.busy, 120)
    view.projection_panel.set_method("tsne", {"n_iter": args.tsne_iter})
    beat.start()
    t = time.perf_counter()
    view.projection_panel.go.click()
    wait(app, lambda: not view.busy, 600)
    results[f"t-SNE of {view.space.n:,} points ({time.perf_counter() - t:.0f} s)"] = beat.stop()

    if not args.no_evaluate:
        tab = window.evaluation
        window.tabs.setCurrentWidget(tab)
        tab.set_run(window.last_result.run_dir)
        wait(app, lambda: tab.evaluate_button.isEnabled(), 60)
        beat.start()
        t = time.perf_counter()
        tab.evaluate_button.click()
        wait(app, lambda: tab.busy, 10)
        wait(app, lambda: not tab.busy, 600)
        results[f"evaluation, full suite ({time.perf_counter() - t:.0f} s)"] = beat.stop()
    window.close()

    print(f"GUI event-loop stall, {HEARTBEAT_MS} ms heartbeat, Qt {os.environ['QT_QPA_PLATFORM']}, load average "
          f"{os.getloadavg()[0]:.1f} (target p99 < 50 ms)")
    for phase, stalls in results.items():
        print(f"  {phase:<40} p50 {np.percentile(stalls, 50):6.1f} ms   p99 {np.percentile(stalls, 99):6.1f} ms"
              f"   max {stalls.max():6.1f} ms   ({len(stalls)} ticks)")


if __name__ == "__main__":
    main()
