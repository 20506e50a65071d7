"""Faults that used to do lasting damage (issue 19): a torn metrics line, two writers on one run, a lost manifest,
Ctrl-C / SIGTERM, temp files of a killed writer, a bad start leaving a run directory, read-only runs."""
from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import core
from core.cli import main
from core.training import rundir as rundir_module


def quick(exp: core.Experiment, **training) -> core.Experiment:
    return exp.with_training(**{"epochs": 2, "diagnostics_every": 0, "probe_every": 0, "snapshot_every": 0,
                                **training})


def with_data(exp: core.Experiment, name: str, **params) -> core.Experiment:
    import dataclasses

    return dataclasses.replace(exp, data=core.DataConfig(name=name, params=params))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished two-epoch run with a checkpoint per epoch; tests copy it before changing anything."""
    root = tmp_path_factory.mktemp("faults")
    exp = core.Experiment(
        name="faults", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 4}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=2, batch_size=256, device="cpu", snapshot_every=0, diagnostics_every=0,
                                     probe_every=0, keep_checkpoints=0, warmup_epochs=0),
        output=core.OutputConfig(root=str(root / "runs")))
    return Path(core.run_to_end(core.train(exp)).run_dir)


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


# ---- 1. a torn last line in metrics.jsonl --------------------------------------------------------------------


def test_a_torn_last_line_is_skipped_and_the_next_writer_starts_a_fresh_line(run_copy):
    run = core.RunDirectory.open(run_copy)
    records = list(run.read_metrics())
    data = run.metrics_path.read_bytes()
    run.metrics_path.write_bytes(data[: len(data) - 40])  # killed mid-line
    assert list(run.read_metrics()) == records[:-1]  # the fragment is not a record
    result = core.run_to_end(core.resume(run_copy, epochs=3))
    assert result.status == "finished"
    after = list(core.RunDirectory.open(run_copy).read_metrics())  # no JSONDecodeError: nothing glued on
    assert after[: len(records) - 1] == records[:-1]
    assert after[len(records) - 1]["event"] == "run_started" and after[-1]["event"] == "run_finished"
    lines = run.metrics_path.read_bytes().split(b"\n")
    assert lines[len(records) - 1] == data[: len(data) - 40].rsplit(b"\n", 1)[1]  # the fragment, on its own line
    code, out, _err = cli("list", "runs", "--root", str(run_copy.parent))
    assert code == 0 and "finished" in out


def test_a_fragment_glued_onto_a_record_by_an_older_writer_is_repaired(tmp_path):
    run = core.RunDirectory(tmp_path)
    good = {"event": "step", "step": 3, "loss": 0.5}
    run.metrics_path.write_bytes(b'{"event": "step", "step": 1}\n{"event": "st' + json.dumps(good).encode() + b"\n"
                                 + b'\xff\xfe not json\n{"event": "step", "step": 4}\n[1, 2]\n')
    assert list(run.read_metrics()) == [{"event": "step", "step": 1}, good, {"event": "step", "step": 4}]


def test_a_full_disk_reaches_the_user_and_the_run_is_not_left_running(tiny_experiment, monkeypatch):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    # every write to metrics.jsonl really fails with ENOSPC (/dev/full), and so does the atomic run.json update
    monkeypatch.setattr(core.RunDirectory, "metrics_path", property(lambda self: Path("/dev/full")))
    real = rundir_module.atomic_write_json

    def full_disk(path, obj):
        if Path(path).name == "run.json" and obj.get("status") != "running":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, obj)

    monkeypatch.setattr(rundir_module, "atomic_write_json", full_disk)
    with pytest.raises(core.RunDirectoryError, match="cannot write /dev/full: the disk is full"):
        core.run_to_end(core.train(quick(tiny_experiment)))
    (run_dir,) = list(Path(tiny_experiment.output.root).iterdir())
    status = json.loads((run_dir / "run.json").read_text())
    assert status["status"] == "failed" and "the disk is full" in status["message"]
    assert not core.RunDirectory(run_dir).is_locked()


# ---- 2. two writers, and runs whose process vanished ---------------------------------------------------------

HOLDER = textwrap.dedent("""
    import os, signal, sys
    import core
    run = core.RunDirectory.open(sys.argv[1])
    run.acquire()
    run.write_status(status="running")
    print("locked", flush=True)
    if sys.argv[2] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()
""")


def test_a_second_writer_is_refused_with_the_holder_named_and_a_crash_releases_the_lock(run_copy, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_copy), "wait"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        run = core.RunDirectory.open(run_copy)
        assert run.state() == "running" and run.is_locked()
        assert list(run.read_metrics()) and run.read_status()["status"] == "running"  # readers need no lock
        code, out, err = cli("resume", str(run_copy), "--epochs", "3")
        assert code == 1
        assert (f"is being written by another process (process {holder.pid} on {socket.gethostname()}, since "
                in err), err
        code, out, _ = cli("list", "runs", "--root", str(run_copy.parent))
        assert "running" in out
    finally:
        holder.communicate("\n", timeout=60)
    assert core.RunDirectory.open(run_copy).state() == "interrupted"  # ended without saying so
    crashed = subprocess.run([sys.executable, "-c", HOLDER, str(run_copy), "crash"], capture_output=True, text=True,
                             timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    run = core.RunDirectory.open(run_copy)
    assert run.state() == "interrupted"
    code, out, _ = cli("list", "runs", "--root", str(run_copy.parent))
    assert code == 0 and out.split() == ["run", "interrupted", "10", "steps"]
    run.acquire()  # the OS released the dead process's lock
    run.close()


def test_two_resumes_in_one_process_cannot_both_write(run_copy):
    first = core.resume(run_copy, epochs=3)
    next(first)
    with pytest.raises(core.RunDirectoryError, match=f"process {os.getpid()} on"):
        next(core.resume(run_copy, epochs=3))
    first.close()
    assert core.RunDirectory.open(run_copy).state() == "stopped"
    assert core.run_to_end(core.resume(run_copy, epochs=3)).status == "finished"


# ---- 3. a lost or damaged manifest ---------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["deleted", "garbage", "no step"])
def test_a_lost_or_damaged_manifest_is_rebuilt_from_the_checkpoints(run_copy, damage, caplog):
    manifest_path = run_copy / "checkpoints" / "manifest.json"
    original = json.loads(manifest_path.read_text())
    if damage == "deleted":
        manifest_path.unlink()
    elif damage == "garbage":
        manifest_path.write_text("{\"checkpoints\": [")
    else:
        broken = json.loads(manifest_path.read_text())
        del broken["checkpoints"][-1]["step"]
        manifest_path.write_text(json.dumps(broken))
    with caplog.at_level(logging.INFO, logger="replearn"):
        loaded = core.load_checkpoint(run_copy / "checkpoints")
    assert loaded.state.step == original["checkpoints"][-1]["step"]
    assert "was rebuilt from 2 checkpoint file(s)" in caplog.text
    rebuilt = json.loads(manifest_path.read_text())
    assert [(c["file"], c["sha256"], c["step"], c["epoch"]) for c in rebuilt["checkpoints"]] == \
        [(c["file"], c["sha256"], c["step"], c["epoch"]) for c in original["checkpoints"]]
    code, _out, err = cli("resume", str(run_copy), "--epochs", "3", "--quiet")
    assert code == 0, err


# ---- 5. Ctrl-C and SIGTERM -----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_save_a_checkpoint_before_exit_130(tiny_experiment, tmp_path, signum):
    exp = quick(tiny_experiment, epochs=200, checkpoint_every=0)
    core.save_experiment(exp, tmp_path / "exp.toml")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "train", str(tmp_path / "exp.toml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.startswith("epoch"):
                break
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert f"interrupted ({signal.Signals(signum).name})" in err and "Traceback" not in err
    (run_dir,) = list(Path(exp.output.root).iterdir())
    run = core.RunDirectory.open(run_dir)
    status = run.read_status()
    assert status["status"] == "stopped" and run.state() == "stopped"
    loaded = core.load_checkpoint(run.checkpoints)
    assert loaded.state.step == status["steps"] > 0  # the current state, though checkpoint_every = 0


def test_a_keyboard_interrupt_inside_the_generator_keeps_the_current_state(tiny_experiment):
    gen = core.train(quick(tiny_experiment, checkpoint_every=0))
    event = next(gen)
    while not (isinstance(event, core.StepEnded) and event.step == 5):
        event = next(gen)
    with pytest.raises(KeyboardInterrupt):
        gen.throw(KeyboardInterrupt)
    run = core.RunDirectory.open(event_run_dir(tiny_experiment))
    assert core.load_checkpoint(run.checkpoints).state.step == 5
    assert run.read_status()["status"] == "stopped"
    assert core.run_to_end(core.resume(run.path)).status == "finished"


def event_run_dir(exp: core.Experiment) -> Path:
    (run_dir,) = list(Path(exp.output.root).iterdir())
    return run_dir


# ---- 6. temp files of a killed writer ------------------------------------------------------------------------


def test_temp_files_left_by_a_killed_writer_are_removed_at_the_next_open(run_copy):
    left = [run_copy / "checkpoints" / ".step_0000099.safetensors.k2j3.tmp", run_copy / ".run.json.a1.tmp",
            run_copy / "snapshots" / ".epoch_003.npy.x.tmp"]
    for path in left:
        path.write_bytes(b"\0" * 1000)
    keep = run_copy / "reports" / ".evaluation.json.z.tmp"  # reports are written by readers (report), not ours
    keep.write_bytes(b"x")
    gen = core.resume(run_copy, epochs=3)
    next(gen)
    gen.close()
    assert not any(p.exists() for p in left) and keep.exists()


# ---- 7. a config or data error at start ----------------------------------------------------------------------


def test_a_bad_start_leaves_no_run_directory_and_bad_data_exits_2(tiny_experiment, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    exp = with_data(tiny_experiment, "csv", path=str(bad))
    core.save_experiment(exp, tmp_path / "exp.toml")
    code, _out, err = cli("train", str(tmp_path / "exp.toml"))
    assert code == 2 and "bad.csv" in err and "line 3" in err, err
    assert not Path(exp.output.root).exists() or not any(Path(exp.output.root).iterdir())
    with pytest.raises(core.ConfigError, match="batch_size"):  # found once the data is loaded
        core.run_to_end(core.train(quick(tiny_experiment, batch_size=5000)))
    assert not Path(tiny_experiment.output.root).exists() or not any(Path(tiny_experiment.output.root).iterdir())


def test_a_resume_whose_data_went_missing_leaves_the_run_as_it_was(run_copy, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(300)))
    config = (run_copy / "config.toml").read_text()
    exp = core.RunDirectory.open(run_copy).read_config()
    before = (run_copy / "run.json").read_text()
    bad = with_data(exp, "csv", path=str(tmp_path / "gone.csv"))
    core.save_experiment(bad, run_copy / "config.toml")
    code, _out, err = cli("resume", str(run_copy), "--epochs", "3")
    assert code == 2 and "gone.csv" in err and "no such file" in err, err
    assert (run_copy / "run.json").read_text() == before
    assert config  # the original was a valid run


# ---- 11, 12. read-only runs, a corrupt newest checkpoint -----------------------------------------------------


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_a_read_only_run_says_so_and_offers_out(run_copy, monkeypatch, command, tmp_path):
    import tempfile

    real = tempfile.mkstemp

    def read_only(*args, **kwargs):
        if str(kwargs.get("dir", "")).startswith(str(run_copy)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    code, _out, err = cli(command, str(run_copy), "--evaluations", "linear_probe")
    assert code == 1
    assert "reports" in err and "it is not writable; pass --out with a writable place for the results" in err, err
    assert "Errno" not in err and "internal error" not in err


def test_a_corrupt_newest_checkpoint_is_named_with_the_one_used(run_copy):
    first, last = json.loads((run_copy / "checkpoints" / "manifest.json").read_text())["checkpoints"]
    newest = run_copy / "checkpoints" / last["file"]
    data = bytearray(newest.read_bytes())
    data[-10] ^= 0xFF
    newest.write_bytes(bytes(data))
    code, _out, err = cli("resume", str(run_copy), "--epochs", "3", "--quiet")
    assert code == 0, err
    assert (f"replearn: note: checkpoint {last['file']} is corrupt (its sha256 does not match the manifest); "
            f"using {first['file']} (step {first['step']}) instead") in err


# ---- 14. the dataset's notes in the CLI -----------------------------------------------------------------------


def test_the_cli_prints_the_datasets_notes(tiny_experiment, tmp_path):
    path = tmp_path / "latin.csv"
    rows = "".join(f"{i % 7},{(i * 3) % 5},1,caf\xe9{i % 2}\n" for i in range(300))
    path.write_bytes(("a,b,const,label\n" + rows).encode("latin-1"))
    exp = with_data(quick(tiny_experiment, epochs=1), "csv", path=str(path), label_column="label")
    core.save_experiment(exp, tmp_path / "exp.toml")
    code, _out, err = cli("train", str(tmp_path / "exp.toml"), "--quiet")
    assert code == 0, err
    assert f"replearn: note: {path}: the file is not UTF-8; it was read as Latin-1" in err
    assert "const" in err  # the constant column


def test_wait_is_short(tmp_path):
    """A reader probing the lock (the app listing runs) must not make a writer starting then fail."""
    run = core.RunDirectory(tmp_path)
    (tmp_path / "config.toml").write_text("")
    start = time.perf_counter()
    assert not run.is_locked()
    run.acquire()
    assert run.is_locked()
    run.close()
    assert time.perf_counter() - start < rundir_module.LOCK_WAIT_S
