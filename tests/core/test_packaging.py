"""The wheel holds every package, the resources tree and both entry points."""
import configparser
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def source_packages():
    found = set()
    for top in ("core", "replearn_gui"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    return found


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert source_packages() | {"replearn_resources"} == listed


@pytest.mark.slow
def test_wheel_contents(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheel = next(tmp_path.glob("replearn_studio-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for py in list((ROOT / "core").rglob("*.py")) + list((ROOT / "replearn_gui").rglob("*.py")):
        assert str(py.relative_to(ROOT)) in names, f"{py} is missing from the wheel"
    for res in (ROOT / "resources").rglob("*"):
        if res.is_file() and res.suffix in (".toml", ".qss", ".svg", ".png", ".html", ".css", ".py"):
            assert "replearn_resources/" + str(res.relative_to(ROOT / "resources")) in names, f"{res} missing"
    assert not any(n.startswith(("tests/", "bench/", "resources/")) for n in names)
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = configparser.ConfigParser()
    entry_points.read_string(zipfile.ZipFile(wheel).read(info).decode())
    assert entry_points["console_scripts"]["replearn"] == "core.cli:main"
    assert entry_points["gui_scripts"]["replearn-gui"] == "replearn_gui.app:main"
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: PySide6-Essentials<6.12,>=6.8" in metadata
    assert "Requires-Python: >=3.11" in metadata
