"""Shared test settings: the markers ``needs_cifar`` and ``slow``, and ``tools/`` on the import path.

* ``needs_cifar``: the test loads CIFAR-10. It is skipped unless the library can load it without
  a download, read from the same settings the library reads (``SSL_LIB_CIFAR10``, or decoded
  arrays in ``ssl_lib.data.cache_dir()``, which follows ``SSL_LIB_CACHE``).
* ``cli``: a fixture that runs ``python -m ssl_lib ARGS`` and returns the finished process.
* ``slow``: the test runs an experiment, a training or a notebook (seconds or more). ``make check``
  runs the others (``pytest -m "not slow"``); ``make test`` runs everything.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ssl_lib.data import MIRROR_ENV, cache_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/notebooks.py, tools/student_edition.py, ...


def cifar_available() -> bool:
    """Whether ssl_lib can load CIFAR-10 here without downloading it."""
    return bool(os.environ.get(MIRROR_ENV)) or any(cache_dir().glob("cifar10-*train*.npz"))


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_cifar: loads CIFAR-10 (skipped unless SSL_LIB_CIFAR10 or a cache has it)")
    config.addinivalue_line("markers", "slow: runs an experiment, a training or a notebook (not in `make check`)")


def pytest_collection_modifyitems(config, items):
    if cifar_available():
        return
    skip = pytest.mark.skip(reason=f"needs CIFAR-10: set {MIRROR_ENV} to the offline mirror")
    for item in items:
        if "needs_cifar" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cli():
    """``cli(*args, env=None)``: run ``python -m ssl_lib *args`` (5 minutes at most), capturing its output."""
    def run(*args, env=None):
        return subprocess.run([sys.executable, "-m", "ssl_lib", *args], capture_output=True, text=True,
                              env=env, timeout=300)
    return run
