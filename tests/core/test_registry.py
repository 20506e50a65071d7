from dataclasses import dataclass

import pytest

import core
from core.params import Params, param
from core.registry import Registry


class Base:
    pass


def make_registry():
    reg = Registry("gadget", base=Base)

    @reg.register("spinner", data_kinds=("image",))
    class Spinner(Base):
        """Spins things.

        A longer description that the summary leaves out."""

        @dataclass(frozen=True, kw_only=True)
        class Params(Params):
            speed: float = param(1.0, label="Speed", min=0.0, max=10.0, help="Turns per second.")
            mode: str = param("fast", label="Mode")

    return reg, Spinner


def test_register_lookup_and_metadata():
    reg, Spinner = make_registry()
    entry = reg.get("spinner")
    assert entry.cls is Spinner and Spinner.registry_name == "spinner"
    assert reg.names() == ["spinner"] and "spinner" in reg and len(reg) == 1
    assert entry.summary == "Spins things."
    assert "longer description" in entry.description
    assert entry.info["data_kinds"] == ("image",)
    speed = entry.fields[0]
    assert (speed.name, speed.kind, speed.default, speed.label, speed.min, speed.max) == ("speed", "float", 1.0, "Speed", 0.0, 10.0)
    assert speed.help == "Turns per second."
    assert entry.make_params({"speed": 2}).speed == 2.0


def test_unknown_name_suggests_close_matches():
    reg, _ = make_registry()
    with pytest.raises(core.UnknownNameError) as info:
        reg.get("spiner", field="gadget.name")
    err = info.value
    assert err.suggestions == ("spinner",)
    assert "Did you mean 'spinner'?" in str(err)
    assert err.field == "gadget.name"
    assert isinstance(err, core.ConfigError)


def test_register_rejects_duplicates_bad_names_and_missing_params():
    reg, _ = make_registry()
    with pytest.raises(ValueError, match="already registered"):
        reg.register("spinner")(type("X", (Base,), {"Params": reg.get("spinner").Params}))
    with pytest.raises(ValueError, match="lower_snake_case"):
        reg.register("Bad-Name")
    with pytest.raises(TypeError, match="Params"):
        reg.register("noparams")(type("Y", (Base,), {}))
    with pytest.raises(TypeError, match="derive from Base"):
        reg.register("wrongbase")(type("Z", (), {"Params": reg.get("spinner").Params}))


def test_undeclared_field_fails_at_registration():
    reg = Registry("thing")

    class Bad:
        @dataclass(frozen=True, kw_only=True)
        class Params(Params):
            x: int = 3  # not declared with param(): no label for forms

    with pytest.raises(TypeError, match="param"):
        reg.register("bad")(Bad)


@pytest.mark.parametrize("registry", [core.DATASETS, core.ENCODERS, core.OBJECTIVES], ids=lambda r: r.kind)
def test_builtin_entries_are_documented(registry):
    """Every registered entry can generate a form: documented, labelled, defaults valid."""
    assert len(registry) >= 1
    for entry in registry:
        assert entry.summary, f"{entry.name} has no docstring"
        params = entry.make_params(None)  # defaults must validate
        assert isinstance(params, entry.Params)
        for f in entry.fields:
            assert f.label


def test_a_registry_read_from_two_threads_waits_for_its_builtins(tmp_path, monkeypatch):
    """The app reads registries from two threads at start-up; the one that comes second must wait for the
    built-ins being imported by the first, not see "none registered"."""
    import sys
    import threading

    from core.registry import Registry

    registry = Registry("thing", builtins=("slow_builtin_things",))
    (tmp_path / "slow_builtin_things.py").write_text(
        "import time\nfrom dataclasses import dataclass\nimport core\nfrom core.registry import Registry\n"
        "registry = Registry.under_test\ntime.sleep(0.3)\n\n"
        "@registry.register('late')\nclass Late:\n    @dataclass(frozen=True, kw_only=True)\n"
        "    class Params(core.Params):\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(Registry, "under_test", registry, raising=False)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(registry.names())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [["late"], ["late"]]
    sys.modules.pop("slow_builtin_things", None)
