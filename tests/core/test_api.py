"""The package face: lazy (no torch at `import core`), complete (every exported name resolves), and registries
that are full the first time they are read."""
import subprocess
import sys

import pytest

import core
from core import api

HEAVY = ("torch", "sklearn", "numba", "umap", "openTSNE", "scipy")


def _fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_core_loads_no_heavy_library():
    out = _fresh(f"import sys, core; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    assert out == "[]"


def test_cheap_names_stay_cheap():
    """The GUI imports these at module top; they must not pull torch in."""
    out = _fresh("import sys; from core import ReplearnError, ConfigError, Params, Registry, RunStarted, StepEnded; "
                 f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    assert out == "[]"


@pytest.mark.parametrize("name", api.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(core, name) is getattr(api, name)


def test_face_lists_its_names_and_refuses_unknown_ones():
    assert set(api.__all__) <= set(dir(core)) and "__version__" in core.__all__
    assert len(api.__all__) == len(set(api.__all__))
    with pytest.raises(AttributeError, match="no_such_name"):
        core.no_such_name  # noqa: B018


def test_version_has_one_source():
    import tomllib
    from pathlib import Path

    from core._version import __version__

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "core._version.__version__"}
    assert core.__version__ == __version__


def test_registries_are_filled_on_first_read():
    """A fresh process that reads a registry before anything else sees every built-in entry."""
    out = _fresh("from core import DATASETS, OBJECTIVES; print('digits' in DATASETS, 'csv' in DATASETS.names(), "
                 "len(OBJECTIVES) > 10, 'vicreg' in OBJECTIVES)")
    assert out == "True True True True"


def test_registry_loads_builtins_before_a_plugin_registers():
    from dataclasses import dataclass

    from core import Registry

    class Base:
        pass

    reg = Registry("thing", base=Base, builtins=("json",))  # any importable module stands in for the built-ins
    assert not reg._loaded

    @reg.register("custom")
    class Custom(Base):
        @dataclass(frozen=True, kw_only=True)
        class Params(core.Params):
            pass

    assert reg._loaded and reg.names() == ["custom"]
