"""The experiment registry, the command line, and the pipeline chapter's experiment."""

import json

import pytest

from ssl_lib import experiments
from ssl_lib.experiments import registry

PROVENANCE = {"scale", "seed", "device", "torch", "python", "git_commit", "wall_time_s", "finished_utc"}


@pytest.mark.slow
def test_run_records_provenance_and_is_deterministic():
    first = experiments.run("nt_xent_toy", scale="quick", seed=5)
    second = experiments.run("nt_xent_toy", scale="quick", seed=5)
    assert PROVENANCE <= set(first.provenance)
    assert first.provenance["scale"] == "quick" and first.provenance["seed"] == 5
    assert first.measurements == second.measurements


@pytest.mark.slow
def test_save_and_load_round_trip(tmp_path):
    result = experiments.run("nt_xent_toy", scale="quick", seed=0)
    path = experiments.save(result, tmp_path)
    assert path == tmp_path / "nt_xent_toy.json" and [p.name for p in tmp_path.iterdir()] == [path.name]
    loaded = experiments.load(path)
    assert loaded.claims == result.claims and loaded.measurements == result.measurements
    assert "| `loss_decreases` |" in loaded.claims_markdown()


def test_a_page_shows_the_claims_table_folded_under_its_count_with_the_provenance_in_view():
    result = experiments.load(registry.stored_path("prediction_head_pilot", "medium", 0))
    shown = result._repr_markdown_()
    head, table_and_rest = shown.split("</summary>")
    counts = {v: sum(c.verdict == v for c in result.claims) for v in ("holds", "does not hold", "undecided")}
    assert head.startswith('<details class="claims">') and "prediction_head_pilot" in head
    assert f"{counts['does not hold']} do" in head or f"{counts['does not hold']} does" in head
    table, provenance = table_and_rest.split("</details>")
    assert "| `offdiag_beats_untrained` |" in table and "medium scale" not in table
    assert "medium scale, seed 0" in provenance
    verdicts = experiments.SeedVerdicts((result,))._repr_markdown_()
    assert verdicts.startswith('<details class="claims">') and "| over the seeds |" in verdicts


def test_registry_rejects_unknown_names_bad_seeds_and_scales():
    with pytest.raises(KeyError, match="nt_xent_toy"):
        experiments.get("no_such_experiment")
    with pytest.raises(ValueError, match="seed"):
        experiments.run("nt_xent_toy", scale="quick", seed=-1)
    with pytest.raises(ValueError, match="scale"):
        experiments.run("nt_xent_toy", scale="huge")
    with pytest.raises(ValueError, match="already registered"):
        experiments.experiment("nt_xent_toy", chapter="x")(lambda scale, seed: ({}, []))


def test_claims_show_whether_they_held():
    held = experiments.claim("a", "A statement.", True, x=1.0)
    failed = experiments.claim("b", "Another.", False, y=0.5)
    assert "[holds" in str(held) and "does not hold" in str(failed) and "y = 0.5" in str(failed)
    with pytest.raises(ValueError, match="undecided"):
        experiments.claim("c", "Both.", True, decided=False)


@pytest.mark.parametrize("a, verdict", [(0.61, "holds"), (0.59, "undecided"), (0.41, "undecided"),
                                        (0.39, "does not hold")])
def test_greater_claim_is_decided_only_beyond_two_standard_errors(a, verdict):
    # se of the difference: sqrt(0.03^2 + 0.04^2) = 0.05, so the margin is 0.10 either way
    c = experiments.greater_claim("x", "A beats B.", ("a", a, 0.03), ("b", 0.50, 0.04))
    assert c.verdict == verdict and c.evidence["difference_se"] == pytest.approx(0.05)
    assert c.evidence["a"] == a and c.evidence["difference"] == pytest.approx(a - 0.50)


@pytest.mark.parametrize("successes, verdict", [(12, "holds"), (11, "undecided"), (5, "undecided"),
                                                 (4, "does not hold")])
def test_majority_claim_is_a_binomial_test_at_five_percent(successes, verdict):
    # 16 fair coins: P(X >= 12) = 0.038, P(X >= 11) = 0.105; P(X <= 4) = 0.038, P(X <= 5) = 0.105
    c = experiments.majority_claim("x", "Most runs do it.", successes, 16)
    assert c.verdict == verdict and c.evidence["runs"] == 16 and c.evidence["successes"] == successes


def test_majority_claim_without_runs_is_undecided_and_refuses_impossible_counts():
    assert experiments.majority_claim("x", "Most runs do it.", 0, 0).verdict == "undecided"
    with pytest.raises(ValueError, match="between 0 and runs"):
        experiments.majority_claim("x", "Most runs do it.", 5, 4)


def test_results_stored_before_undecided_claims_load_as_decided(tmp_path):
    result = experiments.run("nt_xent_toy", scale="quick", seed=0)
    data = result.to_dict()
    for c in data["claims"]:
        del c["decided"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert all(c.decided for c in experiments.load(tmp_path / "old.json").claims)


@pytest.mark.slow
def test_cli_lists_and_runs_an_experiment(tmp_path, cli):
    listing = cli("list")
    assert listing.returncode == 0 and "nt_xent_toy" in listing.stdout
    ran = cli("run", "nt_xent_toy", "--scale", "quick", "--seed", "1", "--out", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    saved = json.loads((tmp_path / "nt_xent_toy.json").read_text())
    assert PROVENANCE <= set(saved["provenance"])
    assert saved["provenance"]["seed"] == 1 and saved["provenance"]["scale"] == "quick"
    assert {c["id"] for c in saved["claims"]} == {"loss_decreases", "learns_shared_signal"}
    in_process = experiments.run("nt_xent_toy", scale="quick", seed=1)
    assert saved["measurements"] == in_process.measurements     # one code path
    assert "HOLDS" in ran.stdout


@pytest.mark.slow
def test_cli_rejects_unknown_experiment_and_scale(tmp_path, cli):
    unknown = cli("run", "nope", "--out", str(tmp_path))
    assert unknown.returncode == 2 and "nt_xent_toy" in unknown.stderr
    bad_scale = cli("run", "nt_xent_toy", "--scale", "huge", "--out", str(tmp_path))
    assert bad_scale.returncode == 2 and "quick" in bad_scale.stderr
    assert list(tmp_path.iterdir()) == []
    huge_seed = cli("run", "nt_xent_toy", "--seed", str(10**23), "--out", str(tmp_path))  # was a torch traceback
    assert huge_seed.returncode == 2 and "Traceback" not in huge_seed.stderr
    assert f"seed={10**23} must be an integer in [0, {2**63 - 1}]" in huge_seed.stderr


def test_seeds_of_any_integral_type_are_accepted_and_others_named():
    import numpy as np

    assert experiments.run("nt_xent_toy", scale="quick", seed=np.int64(1)).provenance["seed"] == 1
    for bad in (1.5, "1", True, -1):
        with pytest.raises(ValueError, match="seed="):
            experiments.run("nt_xent_toy", scale="quick", seed=bad)


@pytest.mark.slow
def test_cached_run_computes_once_per_code_version(tmp_path, monkeypatch):
    from ssl_lib.experiments import registry

    monkeypatch.setenv("SSL_LIB_CACHE", str(tmp_path))
    calls = []
    real_run = registry.run
    monkeypatch.setattr(registry, "run", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    first = experiments.cached_run("nt_xent_toy", scale="quick", seed=3)
    second = experiments.cached_run("nt_xent_toy", scale="quick", seed=3)
    assert len(calls) == 1 and second.measurements == first.measurements
    experiments.cached_run("nt_xent_toy", scale="quick", seed=4)        # another seed: computed
    assert len(calls) == 2
    stored = list((tmp_path / "results").rglob("*.json"))
    assert len(stored) == 2 and all(registry.experiment_fingerprint("nt_xent_toy") in str(p) for p in stored)


def test_an_experiment_that_never_reads_cifar_runs_with_a_missing_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_LIB_CIFAR10", str(tmp_path / "no_such_mirror"))
    result = experiments.run("nt_xent_toy", scale="quick", seed=0)
    assert result.provenance["data"] == "unavailable" and result.claims


def test_relation_says_where_a_value_stands_as_greater_claim_decides():
    assert experiments.relation(0.60, 0.01, 0.50, 0.01) == "above"
    assert experiments.relation(0.40, 0.01, 0.50, 0.01) == "below"
    assert experiments.relation(0.51, 0.01, 0.50, 0.01) == "within the noise of"


@pytest.mark.parametrize("a, verdict", [(0.500, "holds"), (0.504, "holds"), (0.510, "undecided"),
                                        (0.530, "does not hold"), (0.470, "does not hold")])
def test_an_equivalence_claim_holds_inside_its_margin_and_fails_outside_it_beyond_the_noise(a, verdict):
    from ssl_lib.experiments.claims import equivalence_claim

    c = equivalence_claim("x", "A and B are within 2 points.", ("a", a, 0.003), ("b", 0.500, 0.004), margin=0.02)
    assert c.verdict == verdict and c.evidence["margin"] == 0.02        # 2 SE of the difference: 0.01
    with pytest.raises(ValueError, match="margin must be positive"):
        equivalence_claim("x", "", ("a", 0.5, 0.01), ("b", 0.5, 0.01), margin=0)
