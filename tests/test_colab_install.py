"""Colab's install path, offline: a chapter's setup cell installs ssl_lib from a git URL of this
working tree into an environment that already has torch, keeps that torch, and the installed
package finds the stored results that ship inside it.

How the test stands in for Colab:

* **"Colab's" environment**: a fresh ``python -m venv --without-pip`` in ``tmp_path`` whose
  site-packages holds one ``.pth`` file that adds a *mirror* of this interpreter's site-packages
  (torch, numpy, pip, setuptools, ...) as a site directory. The mirror is a folder of symbolic
  links to every entry of the real site-packages except ssl_lib's own (its editable install,
  which Colab does not have), so nothing is copied or downloaded, and the new venv's pip sees
  torch as installed exactly as Colab's pip sees Colab's torch: one environment, with pip,
  setuptools and torch preinstalled. The mirror lies *outside* the new venv's prefix, so a pip
  that wanted to replace torch could not delete the real one ("not uninstalling ... outside
  environment"): it would install a second torch into the new venv, which the test sees as a
  changed version or location.
* **The repository**: the working tree's tracked and untracked-but-not-ignored files
  (``git ls-files -co --exclude-standard``), uncommitted edits included, committed into a
  throwaway repository in ``tmp_path``; its ``git+file://localhost/...`` URL replaces the GitHub
  URL in the setup cell. If the working tree has no stored result yet, the throwaway copy gets
  one small probe JSON in ``ssl_lib/results/medium/`` to test the package-data path.
* **The install is the setup cell itself** (the first code cell of
  ``notebooks/01_pipeline.ipynb``), run by the new venv's python with a fake ``google.colab``
  module, so its pip arguments are the cell's (``pip install -q "ssl_lib @ git+..."``), build
  isolation included: the setup cell does not pass ``--no-build-isolation`` (which would build
  with whatever setuptools Colab has, unchecked against pyproject.toml's), so neither does the test.
* **Build isolation offline**: the isolated build needs ``[build-system] requires``
  (setuptools>=68), which pip fetches from PyPI in Colab. Here it comes from a local wheelhouse
  instead: this interpreter's installed setuptools (recent torch requires setuptools>=77) repacked as a
  wheel and handed to pip through the environment (``PIP_NO_INDEX=1``, ``PIP_FIND_LINKS``), which
  leaves the cell's arguments unchanged. With no index, pip *cannot* download anything else, so
  a dependency it wanted to reinstall fails the install outright; ``PIP_REPORT`` makes pip write
  what it installed, which must be ssl_lib alone. Only where the installed build requirements do
  not satisfy pyproject.toml's does pip fall back to the index (PyPI), as Colab does.

Then a fresh process runs the setup cell with no ``google.colab`` (so it does not install) and
the chapter's next code cell (``ssl_lib.describe_setup(scale)``), and reports torch's version and
location, where ssl_lib and its STORED_DIR are, and the stored JSON files there.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_pipeline.ipynb"
PROBE = "ssl_lib/results/medium/package_data_probe-seed0.json"  # only if the tree stores none

# Run by the new venv's python: the chapter's cells, one after the other in one namespace as a
# kernel would, then what the test checks, as one JSON line after a marker.
RUN_CELLS = r"""
import json, sys
cells = json.loads(sys.argv[1])
if sys.argv[2] == "colab":
    import types
    sys.modules["google"] = types.ModuleType("google")
    sys.modules["google.colab"] = sys.modules["google"].colab = types.ModuleType("google.colab")
else:
    assert "google.colab" not in sys.modules
namespace = {"__name__": "__main__"}
for cell in cells:
    exec(compile(cell, "<cell>", "exec"), namespace)
import hashlib, importlib.metadata, pathlib, sysconfig, torch, ssl_lib
from ssl_lib.experiments import registry
stored = {p.relative_to(registry.STORED_DIR).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(registry.STORED_DIR.glob("*/*.json"))}
print("@@REPORT@@" + json.dumps({
    "torch_version": torch.__version__, "torch_file": torch.__file__,
    "torch_dist_version": importlib.metadata.version("torch"),
    "ssl_lib_file": ssl_lib.__file__, "stored_dir": str(registry.STORED_DIR), "stored": stored,
    "direct_url": json.loads(importlib.metadata.distribution("ssl_lib").read_text("direct_url.json")),
    "purelib": sysconfig.get_paths()["purelib"]}))
"""

PROBE_TORCH = r"""
import importlib.metadata, importlib.util, json, sysconfig, torch
print(json.dumps({"version": torch.__version__, "dist_version": importlib.metadata.version("torch"),
                  "file": torch.__file__,
                  "ssl_lib": importlib.util.find_spec("ssl_lib") is not None,
                  "purelib": sysconfig.get_paths()["purelib"]}))
"""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _run(args, *, env, cwd, what, timeout=600) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def _code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


def _snapshot_repo(dest: Path) -> str:
    """The working tree's tracked and untracked-not-ignored files committed in ``dest``; its HEAD."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"{ROOT} is not a git working tree: {listed.stderr.strip()}")
    for name in filter(None, listed.stdout.split("\0")):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(ROOT / name, target, follow_symlinks=False)
        except FileNotFoundError:  # tracked but deleted, or a temporary file gone since listed
            continue
    if not list((dest / "ssl_lib" / "results").glob("*/*.json")):
        probe = dest / PROBE
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_text(json.dumps({"name": "package_data_probe", "note": "tests/test_colab_install.py"}))
    git = ["git", "-c", "user.name=test_colab_install", "-c", "user.email=test@example.invalid",
           "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "working tree snapshot"]):
        _run(git + args, env=env, cwd=dest, what=f"git {args[0]}")
    return _run(git + ["rev-parse", "HEAD"], env=env, cwd=dest, what="git rev-parse").stdout.strip()


def _mirror_site_packages(site: Path, mirror: Path) -> None:
    """``mirror``: a symbolic link to every entry of ``site`` but ssl_lib's own install."""
    mirror.mkdir()
    for entry in site.iterdir():
        if "ssl_lib" in _canonical(entry.name):  # ssl_lib-*.dist-info, __editable__*ssl_lib*
            continue
        (mirror / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())


def _wheelhouse(build_requires: list[str], wheelhouse: Path) -> bool:
    """Repack the installed distribution satisfying each of ``build_requires`` as a wheel in
    ``wheelhouse``; False if one is not installed in a satisfying, pure-Python version."""
    from packaging.requirements import Requirement

    wheelhouse.mkdir()
    for text in build_requires:
        requirement = Requirement(text)
        try:
            dist = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(dist.version, prereleases=True):
            return False
        if "Root-Is-Purelib: true" not in (dist.read_text("WHEEL") or ""):
            return False
        name = f"{_canonical(dist.metadata['Name'])}-{dist.version}-py3-none-any.whl"
        root = Path(dist.locate_file(""))
        with zipfile.ZipFile(wheelhouse / name, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as wheel:
            for file in dist.files or []:
                if file.parts[0] == ".." or file.name in ("INSTALLER", "REQUESTED", "direct_url.json"):
                    continue
                if (root / file).is_file():
                    wheel.write(root / file, file.as_posix())
    return True


@pytest.mark.slow
def test_colab_setup_cell_installs_ssl_lib_keeping_torch_and_stored_results(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed: pip cannot install from a git URL")
    if importlib.util.find_spec("venv") is None:
        pytest.skip("the venv module is not available in this Python")
    torch_spec = importlib.util.find_spec("torch")
    site = Path(sysconfig.get_paths()["purelib"])
    if torch_spec is None or Path(torch_spec.origin).parent.parent != site:
        pytest.skip(f"torch is not installed in this interpreter's site-packages ({site})")

    cells = _code_cells(NOTEBOOK)
    setup, describe = cells[0], cells[1]
    assert "describe_setup" in describe, f"{NOTEBOOK.name}'s second code cell does not print describe_setup"
    urls = re.findall(r'repo = "(git\+[^"]+)"', setup)
    assert len(urls) == 1, f"{NOTEBOOK.name}'s setup cell has no single `repo = \"git+...\"` line:\n{setup}"

    # The throwaway repository of the working tree.
    repo = tmp_path / "repo"
    head = _snapshot_repo(repo)
    # file://localhost/...: a pip vendoring packaging 21 (pip < 24.1) rejects git+file:///... (no host).
    file_url = f"file://localhost{repo.as_posix()}"
    url = f"git+{file_url}"
    results = repo / "ssl_lib" / "results"
    expected = {p.relative_to(results).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(results.glob("*/*.json"))}

    # "Colab": a venv that already has torch (and pip, setuptools, numpy, ...), nothing copied.
    venv = tmp_path / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                       capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as error:
        pytest.skip(f"cannot create a virtual environment: {error.stderr.strip()}")
    python = str(venv / "bin" / "python")
    work = tmp_path / "work"  # the current folder of every run: neither the repo nor the venv
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    new_site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         env=env, cwd=work, what="the new venv's python").stdout.strip())
    mirror = tmp_path / "colab-site-packages"
    _mirror_site_packages(site, mirror)
    (new_site / "colab_preinstalled.pth").write_text(f"import site; site.addsitedir({str(mirror)!r})\n")

    before = json.loads(_run([python, "-c", PROBE_TORCH], env=env, cwd=work, what="probing torch").stdout)
    assert not before["ssl_lib"], "ssl_lib is importable in the new venv before the install"
    assert Path(before["purelib"]) == new_site and Path(before["file"]).is_relative_to(mirror)
    listed = _run([python, "-m", "pip", "list", "--format=json"], env=env, cwd=work, what="pip list").stdout
    seen = {_canonical(d["name"]): d["version"] for d in json.loads(listed)}
    assert seen.get("torch") == before["dist_version"], f"the new venv's pip does not see torch: {seen}"
    assert "ssl_lib" not in seen

    # The install: the setup cell itself, "in Colab", pointed at the throwaway repository.
    build_requires = tomllib.loads((repo / "pyproject.toml").read_text())["build-system"]["requires"]
    report = tmp_path / "pip-report.json"
    install_env = {**env, "PIP_REPORT": str(report), "PIP_NO_CACHE_DIR": "1"}
    if _wheelhouse(build_requires, tmp_path / "wheelhouse"):
        install_env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(tmp_path / "wheelhouse"))
    colab_setup = setup.replace(urls[0], url)
    _run([python, "-c", RUN_CELLS, json.dumps([colab_setup]), "colab"], env=install_env, cwd=work,
         what="the setup cell in Colab (pip install)")
    installed = [_canonical(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]]
    assert installed == ["ssl_lib"], f"pip installed {installed}, not ssl_lib alone"

    # A fresh kernel: the setup cell outside Colab (no install), then the chapter's next cell.
    done = _run([python, "-c", RUN_CELLS, json.dumps([setup, describe]), "local"], env=env, cwd=work,
                what="the first code cells of 01_pipeline")
    out, _, line = done.stdout.rpartition("@@REPORT@@")
    after = json.loads(line)
    assert "device: " in out and "scale: " in out and "stored results: " in out, out
    assert "expected time at the quick scale: about" in out, out  # chapter_times.json ships too

    assert after["torch_version"] == before["version"], f"torch became {after['torch_version']}"
    assert after["torch_dist_version"] == before["dist_version"]
    assert Path(after["torch_file"]) == Path(before["file"]), "torch now loads from elsewhere"
    assert Path(after["purelib"]) == new_site
    ssl_lib_dir = Path(after["ssl_lib_file"]).parent
    assert ssl_lib_dir == new_site / "ssl_lib", f"ssl_lib imported from {ssl_lib_dir}, not {new_site}"
    assert Path(after["stored_dir"]) == ssl_lib_dir / "results"
    assert after["direct_url"]["url"] == file_url and after["direct_url"]["vcs_info"]["commit_id"] == head
    missing = sorted(set(expected) - set(after["stored"]))
    assert not missing, f"stored results missing from the installed package: {missing}"
    changed = sorted(k for k in expected if after["stored"][k] != expected[k])
    assert not changed, f"stored results that differ in the installed package: {changed}"
