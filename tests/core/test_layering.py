"""core never imports Qt, its layers import only downward, and the GUI sees core only through its face: checked
by a fresh interpreter and by import-linter's contracts (pyproject.toml)."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "replearn_gui")


def test_import_core_loads_no_qt_module():
    code = (
        "import sys, core; core.run_to_end; "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}); "
        "print(','.join(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"core imported {proc.stdout.strip()}"


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is part of the test extra"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for contract in ("core never imports Qt, pyqtgraph, superqt or the GUI", "core's layers: no import runs upward",
                     "replearn_gui imports core only through its face"):
        assert f"{contract} KEPT" in proc.stdout, proc.stdout
    assert "0 broken" in proc.stdout
