"""Atomic writes: an interrupted write leaves the old file whole and no temporary file behind."""
import os

import numpy as np
import pytest

from core.fileio import atomic_write_bytes, atomic_write_json, atomic_writer, sha256_file


class Crash(Exception):
    pass


def test_write_interrupted_midway_keeps_the_old_file(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("old contents\n")
    with pytest.raises(Crash), atomic_writer(target) as fh:
        fh.write("new contents, half of th")
        raise Crash()
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "weights.bin"
    target.write_bytes(b"A" * 100)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"B" * 100)
    assert target.read_bytes() == b"A" * 100
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def test_numpy_array_written_through_atomic_writer(tmp_path):
    target = tmp_path / "a.npy"
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    with atomic_writer(target, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)
    np.testing.assert_array_equal(np.load(target, allow_pickle=False), arr)


def test_json_and_hash(tmp_path):
    target = tmp_path / "m.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert target.read_text().startswith('{\n  "a"')
    import hashlib

    assert sha256_file(target) == hashlib.sha256(target.read_bytes()).hexdigest()
    with pytest.raises(ValueError):
        atomic_write_json(target, {"x": float("nan")})
    assert '"b": 1' in target.read_text()


def test_atomic_writes_honour_the_umask(tmp_path):
    """Files written atomically get the mode any other new file would get (0644 under umask 022), not 0600."""
    import os
    import stat

    from core.fileio import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.txt", "x")
        assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_only_durable_writes_are_fsynced_and_both_are_atomic(tmp_path, monkeypatch):
    import os

    from core.fileio import atomic_writer

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    for durable in (True, False):
        target = tmp_path / f"{durable}.bin"
        target.write_bytes(b"old")
        try:
            with atomic_writer(target, "wb", durable=durable) as fh:
                fh.write(b"half")
                raise RuntimeError("killed mid-write")
        except RuntimeError:
            pass
        assert target.read_bytes() == b"old" and list(tmp_path.glob(".*.tmp")) == []
        with atomic_writer(target, "wb", durable=durable) as fh:
            fh.write(b"new")
        assert target.read_bytes() == b"new"
    assert len(synced) == 1  # the durable write alone
