"""Start-up: the window appears first; torch and the rest of ``core`` load in the background."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

try:
    from PySide6.QtWidgets import QApplication
except ImportError:  # a headless install (no [gui] extra): say how to get the app instead of a traceback
    sys.exit("replearn-gui: the desktop app needs PySide6; install it with: pip install 'replearn-studio[gui]' "
             "(the `replearn` command works without it)")

import core
from replearn_gui.main_window import MainWindow
from replearn_gui.window_actions import version_text


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="replearn-gui", description="RepLearn Studio: train and explore representations.")
    parser.add_argument("experiment", nargs="?", help="an experiment TOML file, a preset name (default: digits-supervised) or a run "
                        "directory to open (also one still being written)")
    parser.add_argument("--runs", metavar="DIR", help="folder where new runs are written (default: the runs folder "
                        "of Preferences, shared with the replearn command)")
    parser.add_argument("--start", action="store_true", help="start training as soon as the experiment is loaded")
    parser.add_argument("--version", action="version", version=f"replearn-gui {version_text()}")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = parse_args(argv[1:])
    app = QApplication.instance() or QApplication(argv[:1])
    app.setApplicationName("RepLearn Studio")
    app.setOrganizationName("RepLearn")
    run_dir = args.experiment if args.experiment and core.RunDirectory.is_run(args.experiment) else None
    window = MainWindow(experiment=None if run_dir else args.experiment, runs_root=args.runs, autostart=args.start,
                        open_run=run_dir, warm_up_umap=True)
    window.show()
    return app.exec()
