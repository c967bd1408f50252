"""Atomic writes: a target is complete or untouched, and two writers of one target never share a temporary file."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from deblur_cli.atomic import atomic_path, write_bytes_atomically, write_text_atomically
from deblur_cli.train import checkpoint, rundir


def test_two_writers_of_one_target_get_their_own_temporary_files(tmp_path):
    """Both are inside ``atomic_path`` at once (a barrier holds them there): each writes its own temporary file,
    both renames succeed, and the target is one writer's bytes, whole."""
    target = tmp_path / "out" / "result.png"
    both_open = threading.Barrier(2, timeout=10)
    temps, errors = [], []

    def write(data: bytes) -> None:
        try:
            with atomic_path(target) as tmp:
                temps.append(tmp)
                tmp.write_bytes(data)
                both_open.wait()
                assert tmp.read_bytes() == data  # the other writer did not touch it
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    payloads = (b"a" * 100_000, b"b" * 50_000)
    threads = [threading.Thread(target=write, args=(data,)) for data in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(temps)) == 2 and all(t.parent == target.parent and t.name.startswith(".") for t in temps)
    assert target.read_bytes() in payloads
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.png"]  # no temporary file left


@pytest.mark.parametrize("name, write", [
    ("run.json", lambda p: rundir.write_json(p, {"step": 1})),
    (checkpoint.LATEST, lambda p: checkpoint.publish(p.parent, p.parent / "step-00000001")),
])
def test_training_writers_no_longer_use_a_fixed_temporary_name(tmp_path, name, write):
    """The old helpers wrote `.<name>.tmp`; a file already there (another process's) must not matter."""
    target = tmp_path / name
    fixed = tmp_path / f".{name}.tmp"
    fixed.write_text("another writer's half-written file")
    write(target)
    assert target.is_file() and fixed.read_text() == "another writer's half-written file"


def test_failed_write_leaves_the_target_untouched_and_no_temporary_file(tmp_path):
    target = tmp_path / "weights.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_new_files_get_the_umask_mode_and_replaced_ones_keep_theirs(tmp_path):
    mask = os.umask(0o022)
    try:
        fresh = tmp_path / "a.json"
        write_text_atomically(fresh, "{}\n")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "b.bin"
        kept.write_bytes(b"")
        kept.chmod(0o600)
        write_bytes_atomically(kept, b"new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and kept.read_bytes() == b"new"
    finally:
        os.umask(mask)
