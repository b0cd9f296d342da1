"""The one cache policy: atomic writes, writable folders, and the keys that say when a saved
result is still valid.

Every cache of the library (decoded data, trained runs, computed and stored experiment
results) writes through :func:`atomic_write` and names its entries with the same ingredients:

* the **configuration**, with every derived setting resolved (the augmentation's parameters, not
  just its preset name);
* the **data's identity** (:func:`ssl_lib.data.data_identity`): the offline mirror's archive checksums, or
  torchvision's download;
* a **code fingerprint** (:func:`code_fingerprint`) of the modules that decide the result,
  computed from their syntax trees without docstrings, so that comments and documentation
  do not count and every change to code does.
"""

from __future__ import annotations

import ast
import functools
import glob
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterable

import numpy as np
import torch

# The modules that decide what a CIFAR-10 training run learns and how it is scored (with the
# argument checks, which coerce a configuration's integers, and the seeding of every run).
ENGINE_MODULES = (
    "ssl_lib.train", "ssl_lib.models", "ssl_lib.augment", "ssl_lib.losses", "ssl_lib.objectives",
    "ssl_lib.evaluate", "ssl_lib.data", "ssl_lib.precision", "ssl_lib.hypersphere", "ssl_lib.checks",
    "ssl_lib.runtime",
)


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], binary: bool = False) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    A reader never sees a half-written file, and an interrupted write leaves nothing behind; a
    temporary file that a killed process left beside ``path`` (older than
    :data:`STALE_TEMPORARY_S`) is removed by the next write. The file is readable as the umask
    allows, not only by its owner.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: Age (seconds) after which a temporary file of :func:`atomic_write` counts as left behind by
#: an interrupted write rather than one in progress.
STALE_TEMPORARY_S = 3600.0


def _remove_stale_temporaries(path: Path) -> None:
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > STALE_TEMPORARY_S:
                leftover.unlink()
        except OSError:  # removed meanwhile by another process, or not ours to remove
            pass


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path``, atomically."""
    return atomic_write(path, lambda f: json.dump(data, f, indent=1, sort_keys=False))


def check_writable(folder: str | os.PathLike, setting: str) -> Path:
    """Create ``folder`` if needed and check that a file can be written in it, before any work.

    ``setting`` names where the folder came from (``--out``, ``SSL_LIB_CACHE``), for the message.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{setting}={folder} is a file, not a folder; point {setting} at a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise PermissionError(
            f"{setting}={folder} cannot be written ({error.strerror}); choose a writable folder for {setting}"
        ) from None
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----------------------------------------------------------------------------------------------
# Fingerprints
# ----------------------------------------------------------------------------------------------

def code_fingerprint(modules: Iterable[str] = ENGINE_MODULES) -> str:
    """SHA-256 (16 hex digits) of the code of ``modules`` (dotted names), docstrings and comments
    excluded: parsed with :mod:`ast`, docstrings removed, dumped without line numbers."""
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        digest.update(name.encode())
        digest.update(_module_code(name).encode())
    return digest.hexdigest()[:16]


PACKAGE_DIR = Path(__file__).resolve().parent


def _source_path(name: str) -> Path | None:
    """The file of the ``ssl_lib`` module ``name`` (dotted), or None if it names no module."""
    parts = name.split(".")
    if parts[0] != "ssl_lib":
        return None
    path = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=None)
def _module_code(name: str) -> str:
    path = _source_path(name)
    if path is None:
        raise ValueError(f"{name!r} is not a module of ssl_lib")
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


@functools.lru_cache(maxsize=None)
def module_imports(name: str) -> tuple[str, ...]:
    """The ``ssl_lib`` modules that module ``name`` imports directly (from its syntax tree)."""
    tree = ast.parse(_source_path(name).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return tuple(sorted(m for m in found if _source_path(m) is not None and m != name))


def key_of(*parts: Any) -> str:
    """A 16-hex-digit hash of ``parts`` (JSON-serialisable values), for naming cache entries."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def jsonable(value: Any) -> Any:
    """Convert tensors, arrays and NumPy scalars into plain JSON values, recursively."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an experiment's measurements")
