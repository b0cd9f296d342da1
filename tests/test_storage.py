"""ssl_lib.storage: the one atomic write, its clean-up of interrupted writes and its permissions;
and a cache that fails after the work keeps the work."""

import os
import stat
import time

import pytest

from ssl_lib import experiments, storage


def test_atomic_write_removes_what_an_interrupted_write_left_behind(tmp_path):
    target = tmp_path / "result.json"
    old = tmp_path / ".result.json.abc123.tmp"        # a killed writer's leftover
    fresh = tmp_path / ".result.json.def456.tmp"      # another writer, still at work
    other = tmp_path / ".other.json.ghi789.tmp"       # another file's: not ours to touch
    for leftover in (old, fresh, other):
        leftover.write_text("half")
    hour_ago = time.time() - storage.STALE_TEMPORARY_S - 60
    os.utime(old, (hour_ago, hour_ago)), os.utime(other, (hour_ago, hour_ago))
    storage.write_json(target, {"a": 1})
    assert target.read_text().startswith("{") and not old.exists() and fresh.exists() and other.exists()


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    def fail(f):
        f.write("partial")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError, match="disk full"):
        storage.atomic_write(tmp_path / "x.json", fail)
    assert list(tmp_path.iterdir()) == []


def test_written_files_are_readable_as_the_umask_allows(tmp_path):
    previous = os.umask(0o022)
    try:
        path = storage.write_json(tmp_path / "x.json", [1])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # mkstemp alone gives 0o600


def test_a_cache_that_fails_after_the_work_warns_and_returns_the_result(tmp_path, monkeypatch):
    from ssl_lib.experiments import registry

    monkeypatch.setenv("SSL_LIB_CACHE", str(tmp_path))

    def full_disk(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(registry, "write_json", full_disk)
    with pytest.warns(UserWarning, match="could not cache nt_xent_toy.*SSL_LIB_CACHE"):
        result = experiments.cached_run("nt_xent_toy", scale="quick", seed=0)
    assert result.claims
