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


def test_architecture_doc_names_every_layer_of_the_contract():
    """docs/architecture.md's picture lists the layers the contract enforces, in the same order."""
    import re
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = doc[doc.index(" core/\n"):]
    positions = []
    rows = [re.match(r"\s*│ (.*?)(?:\s{2,}|$)", text) for text in picture.splitlines()]
    for layer in layers:
        line = next((i for i, m in enumerate(rows) if m and m.group(1) == layer), None)
        assert line is not None, f"docs/architecture.md does not show the layer {layer!r}"
        positions.append(line)
    assert positions == sorted(positions)


def test_the_face_contract_forbids_every_submodule_of_core():
    """A new module of core is covered by "the GUI imports core only through its face" the day it appears."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    face = next(c for c in contracts if c["name"] == "replearn_gui imports core only through its face")
    submodules = {f"core.{p.stem}" for p in (ROOT / "core").glob("*.py") if p.stem != "__init__"}
    submodules |= {f"core.{p.parent.name}" for p in (ROOT / "core").glob("*/__init__.py")}
    assert submodules == set(face["forbidden_modules"])
