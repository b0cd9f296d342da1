"""Stored results: every committed one is fresh, chapters show the largest fresh one, a stale or
corrupt one is never shown as fresh, and the command line stores and checks its folders."""

import json
import os
from pathlib import Path

import pytest

from ssl_lib import experiments
from ssl_lib.experiments import claims, freshness, registry
from ssl_lib.experiments import stored as stored_results

STORED = sorted(registry.STORED_DIR.glob("*/*.json"))


@pytest.mark.parametrize("path", STORED, ids=[f"{p.parent.name}/{p.name}" for p in STORED])
def test_every_stored_result_is_fresh(path):
    """The check of `python -m ssl_lib verify` and of the chapters (code unchanged, or replayed)."""
    result = experiments.load(path)
    scale, seed = path.parent.name, result.provenance["seed"]
    assert path == registry.stored_path(result.name, scale, seed), f"{path} is misnamed"
    verdict = freshness.check(result)
    assert verdict.fresh, f"{path} is stale: {verdict.how}. Refresh it with `{verdict.command}` (or `make results`)"
    for key in ("scale", "seed", "device", "precision", "torch", "git_commit", "code_fingerprint",
                "data", "wall_time_s"):
        assert key in result.provenance, f"{path} lacks provenance[{key!r}]"
    assert result.provenance["scale"] == scale


#: Experiments stored at medium for one seed only: the search over toy settings replicates each
#: setting over its own 16 runs, so a second experiment seed would repeat the same question; the
#: SimSiam pilot chooses a recipe, which the chapter's heads are then trained with on both seeds.
ONE_SEED = {"prediction_head_toy_search", "prediction_head_pilot"}


@pytest.mark.parametrize("name", [n for n in experiments.names() if "medium" in registry.get(n).stored])
def test_every_experiment_sized_for_medium_is_stored_for_seeds_0_and_1(name):
    for seed in (0,) if name in ONE_SEED else (0, 1):
        assert registry.stored_path(name, "medium", seed).exists(), (
            f"run `{registry.refresh_command(name, 'medium', seed)}`")


def test_the_cifar_chapters_store_their_medium_results():
    stored = {n for n in experiments.names() if "medium" in registry.get(n).stored}
    assert {"simclr_training", "decoupling_sparsity", "circle_features", "align_uniform_sweep"} <= stored


@pytest.fixture(scope="module")
def toy_cache(tmp_path_factory):
    """One result cache for this file's tests, so that the toy experiment is computed once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def stored_dir(tmp_path, monkeypatch, toy_cache):
    """A private stored-results folder, with stored results switched on."""
    monkeypatch.setattr(registry, "STORED_DIR", tmp_path / "results")
    monkeypatch.setenv("SSL_LIB_CACHE", str(toy_cache))
    monkeypatch.setenv("SSL_STORED_RESULTS", "on")
    return tmp_path / "results"


@pytest.fixture
def toy_is_stored(monkeypatch):
    """Pretend the synthetic nt_xent_toy is stored at medium (it is cheap to compute)."""
    exp = registry.get("nt_xent_toy")
    monkeypatch.setitem(registry._REGISTRY, "nt_xent_toy",
                        registry.Experiment(exp.name, exp.function, exp.chapter, exp.summary, ("medium",)))


@pytest.mark.slow
def test_result_shows_a_fresh_stored_result_with_its_provenance(stored_dir, toy_is_stored):
    path, stored, computed = experiments.store("nt_xent_toy", "medium", 0)
    assert path == stored_dir / "medium" / "nt_xent_toy-seed0.json" and computed
    assert experiments.store("nt_xent_toy", "medium", 0)[2] is False  # fresh: kept, not recomputed
    shown = experiments.result("nt_xent_toy", seed=0, scale="quick")
    assert shown.provenance["scale"] == "medium" and "shown_from" in shown.provenance
    line = experiments.provenance_line(shown)
    assert "medium scale" in line and "stored in ssl_lib/results/medium" in line and "seed 0" in line


@pytest.mark.slow
def test_a_missing_seed_is_computed_not_replaced(stored_dir, toy_is_stored):
    experiments.store("nt_xent_toy", "medium", 0)
    other = experiments.result("nt_xent_toy", seed=1, scale="quick")
    assert other.provenance["seed"] == 1 and other.provenance["scale"] == "quick"


@pytest.mark.slow
def test_stored_results_can_be_switched_off(stored_dir, toy_is_stored, monkeypatch):
    experiments.store("nt_xent_toy", "medium", 0)
    monkeypatch.setenv("SSL_STORED_RESULTS", "off")
    assert experiments.result("nt_xent_toy", seed=0, scale="quick").provenance["scale"] == "quick"


@pytest.mark.slow
def test_a_larger_scale_is_not_replaced_by_a_smaller_stored_one(stored_dir, toy_is_stored, monkeypatch):
    experiments.store("nt_xent_toy", "medium", 0)
    monkeypatch.setattr(registry, "cached_run", lambda name, scale, seed: ("computed", scale))
    assert stored_results.result("nt_xent_toy", seed=0, scale="full") == ("computed", "full")
    assert stored_results.result("nt_xent_toy", seed=0, scale="medium").provenance["scale"] == "medium"


@pytest.mark.slow
def test_a_stale_stored_result_warns_and_is_not_shown(stored_dir, toy_is_stored):
    path, _, _ = experiments.store("nt_xent_toy", "medium", 0)
    data = json.loads(path.read_text())
    data["provenance"]["code_fingerprint"] = "0" * 16  # stored by other source text ...
    path.write_text(json.dumps(data))
    shown = experiments.result("nt_xent_toy", seed=0, scale="quick")  # ... that computes the same
    assert shown.provenance["scale"] == "medium" and "shown_from" in shown.provenance
    data["signature"]["analysis"]["weight_signal_share"] = -1.0  # ... that computed something else
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="stale.*analysis replays differently.*python -m ssl_lib store nt_xent_toy "
                                         "--scale medium --seed 0"):
        shown = experiments.result("nt_xent_toy", seed=0, scale="quick")
    assert shown.provenance["scale"] == "quick" and "shown_from" not in shown.provenance


def test_a_corrupt_stored_result_names_the_file_and_the_command(stored_dir, toy_is_stored):
    path = registry.stored_path("nt_xent_toy", "medium", 0)
    path.parent.mkdir(parents=True)
    path.write_text('{"name": "nt_xent_toy", "measurem')
    with pytest.raises(ValueError, match=r"nt_xent_toy-seed0.json.*python -m ssl_lib store nt_xent_toy"):
        experiments.result("nt_xent_toy", seed=0, scale="quick")


def test_an_unstored_experiment_cannot_be_stored(stored_dir):
    with pytest.raises(ValueError, match="not sized to be stored"):
        experiments.store("nt_xent_toy", "medium", 0)


@pytest.mark.slow
def test_cli_checks_out_before_any_work(tmp_path, cli):
    target = tmp_path / "a_file"
    target.write_text("")
    done = cli("run", "nt_xent_toy", "--scale", "quick", "--out", str(target))
    assert done.returncode == 2 and "--out" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_cli_names_an_unwritable_cache(tmp_path, cli):
    cache = tmp_path / "cache_file"
    cache.write_text("")
    env = {**os.environ, "SSL_LIB_CACHE": str(cache), "SSL_STORED_RESULTS": "on"}
    done = cli("store", "simclr_training", "--scale", "medium", "--seed", "7", env=env)
    assert done.returncode == 2 and "SSL_LIB_CACHE" in done.stderr and "Traceback" not in done.stderr


def test_stored_results_ship_with_the_package():
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"results/*/*.json"' in pyproject


@pytest.mark.slow
def test_provenance_line_describes_mixed_origins_one_by_one(stored_dir, toy_is_stored):
    experiments.store("nt_xent_toy", "medium", 0)
    stored, computed = experiments.results("nt_xent_toy", seeds=(0, 1), scale="quick")
    line = experiments.provenance_line(stored, computed)
    assert line.count("|") == 1 and "medium scale, seed 0; stored" in line
    assert "quick scale, seed 1; computed for this page" in line


def test_claims_are_recomputed_from_the_stored_measurements(monkeypatch):
    """A stored result's claims are decided when it is shown, by today's rules: with a margin no
    difference can pass, every comparison of two measurements becomes undecided, no re-store."""
    monkeypatch.setattr(claims, "MARGIN_SE", 1e9)
    compared = 0
    for name in ("simclr_augmentations", "prediction_head_pilot", "decoupling_augmentations"):
        shown = stored_results.load_stored(name, "medium", 0)
        for c in shown.claims:
            if "difference_se" in c.evidence and c.evidence["difference_se"] > 0:
                assert c.verdict == "undecided", f"{name}: {c.id} was not recomputed"
                compared += 1
    assert compared >= 5


def test_a_stored_result_is_checked_against_its_name_and_seed(stored_dir, toy_is_stored):
    path = registry.stored_path("nt_xent_toy", "medium", 3)
    path.parent.mkdir(parents=True)
    data = json.loads((Path(registry.__file__).parents[1] / "results" / "medium" / "simclr_training-seed0.json").read_text())
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="holds the result of simclr_training at scale medium, seed 0, not of nt_xent_toy"):
        stored_results.load_stored("nt_xent_toy", "medium", 3)


def test_seeds_are_integers_and_scales_are_never_judged_together(stored_dir, toy_is_stored):
    with pytest.raises(ValueError, match="seed='0' must be an integer"):
        experiments.result("nt_xent_toy", seed="0", scale="quick")
    quick = experiments.run("nt_xent_toy", scale="quick", seed=0)
    other = experiments.ExperimentResult(quick.name, quick.measurements, quick.claims,
                                         {**quick.provenance, "scale": "medium", "seed": 1})
    with pytest.raises(ValueError, match=r"one scale together, got scales \['quick', 'medium'\]"):
        experiments.SeedVerdicts((quick, other))
