"""Freshness by behaviour: a stored result stays fresh through a change that computes the same
thing (a guard on input) and becomes stale through one that does not (black views, the learning
rate of the second half of training, a changed measure), with no retraining either way."""

import json
import math

import pytest
import torch

from ssl_lib import augment, replay
from ssl_lib import train as engine
from ssl_lib.__main__ import main
from ssl_lib.experiments import freshness, registry
from ssl_lib.experiments.experiment_result import load
from ssl_lib.experiments.stored import load_stored
from ssl_lib.storage import jsonable

NAME, SEED = "simclr_training", 0  # one training run, a light analysis: the cheapest full replay


def test_numbers_agree_within_the_tolerance_and_places_are_named():
    assert replay.first_difference({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 * (1 + replay.RELATIVE_TOLERANCE / 2)]}) is None
    assert replay.first_difference({"a": [1.0, 2.0]}, {"a": [1.0, 2.01]}) == "a[1]: 2 -> 2.01"
    assert replay.first_difference({"a": 1}, {"b": 1}).startswith("the entries: keys")
    assert replay.first_difference([1, 2], [1]) == ": 2 entries -> 1"
    assert replay.first_difference({"x": "sgd"}, {"x": "adamw"}) == "x: 'sgd' -> 'adamw'"
    assert replay.first_difference({"x": math.nan}, {"x": math.nan}) is None
    assert replay.first_difference({"x": True}, {"x": 1}) is not None  # a flag is not a number


def test_accuracies_agree_within_a_few_test_images():
    assert replay.first_difference({"knn": 0.325}, {"knn": 0.335}) is None
    assert replay.first_difference({"loss": 0.325}, {"loss": 0.335}) is not None
    assert replay.first_difference({"knn": 0.325}, {"knn": 0.34}) is not None


def test_t_sne_quantities_agree_within_their_own_tolerance():
    assert replay.first_difference({"none": {"silhouette_tsne": -0.166}}, {"none": {"silhouette_tsne": -0.152}}) is None
    assert replay.first_difference({"none": {"silhouette_tsne": -0.166}}, {"none": {"silhouette_tsne": -0.10}}) \
        is not None
    assert replay.first_difference({"silhouette": -0.166}, {"silhouette": -0.152}) is not None
    coordinates = {"tsne": [[9.6, 0.5], [1.0, 2.0]]}
    assert replay.first_difference(coordinates, {"tsne": [[-7.1, 10.6], [3.0, -2.0]]}) is None
    assert replay.first_difference(coordinates, {"tsne": [[9.6, 0.5]]}) == "tsne: shape (2, 2) -> (1, 2)"


@pytest.mark.needs_cifar
def test_learning_rates_summarise_every_epoch():
    config = engine.TrainConfig(epochs=4, warmup_epochs=1, train_per_class=100, batch_size=100)
    rates = replay.learning_rates(engine.setup(config, "cpu", "float32"))  # 10 steps an epoch
    assert rates["first"][0] == pytest.approx(config.lr * 100 / 256 / 10) and len(rates["mean"]) == 4
    assert rates["mean"][3] < rates["mean"][2] < rates["mean"][1]


def test_untrained_runs_stand_in_for_training_and_restore_it():
    config = engine.TrainConfig(epochs=3, eval_every=2, train_per_class=20, batch_size=20)
    with replay.untrained_runs():
        result = engine.train(config)
    assert engine.train is not replay.untrained_result and result.device == "probe"
    assert result.history["epoch"] == [0, 2, 3] and len(result.history["loss"]) == 3


def test_every_stored_result_is_signed():
    for path in sorted(registry.STORED_DIR.glob("*/*.json")):
        result = load(path)
        assert result.signature and result.signature["data"], f"{path} has no signature: run `{freshness.sign_command(result.name, path.parent.name, result.provenance['seed'])}`"
        for run in result.signature["runs"]:
            assert (freshness.runs_dir(path.parent.name) / f"{run}.json").is_file(), f"{path}: run {run} has no record"


@pytest.fixture
def changed_code(monkeypatch):
    """Today's source text differs from the stored one (so the signature is replayed), and every
    replay is computed afresh (the replay cache keys on source text, which a patch leaves alone)."""
    monkeypatch.setattr(registry, "experiment_fingerprint", lambda name: "0" * 16)
    monkeypatch.setattr(freshness, "code_fingerprint", lambda: "1" * 16)
    monkeypatch.setattr(freshness, "_cached", lambda label, compute: json.loads(json.dumps(jsonable(compute()))))


def stored():
    return load_stored(NAME, "medium", SEED)


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_a_guard_on_input_leaves_the_result_fresh(changed_code, monkeypatch):
    original = augment.augment

    def guarded(images, *args, **kwargs):
        if not torch.isfinite(images.float()).all():
            raise ValueError("images must be finite")
        return original(images, *args, **kwargs)

    monkeypatch.setattr(augment, "augment", guarded)
    verdict = freshness.check(stored())
    assert verdict.fresh and verdict.how.startswith("replayed"), verdict.how


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_black_views_make_the_result_stale(changed_code, monkeypatch):
    two_views = augment.two_views
    monkeypatch.setattr(augment, "two_views", lambda *a, **k: tuple(torch.zeros_like(v) for v in two_views(*a, **k)))
    verdict = freshness.check(stored())
    assert not verdict.fresh and "losses" in verdict.how and "store simclr_training" in verdict.command


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_a_learning_rate_changed_in_the_second_half_only_makes_the_result_stale(changed_code, monkeypatch):
    cosine = engine.cosine_lr
    monkeypatch.setattr(engine, "cosine_lr", lambda s, total, warm, peak: cosine(s, total, warm, peak) * (0.5 if s >= total // 2 else 1))
    verdict = freshness.check(stored())
    assert not verdict.fresh and "replays differently: learning_rate['first'][18]" in verdict.how  # of 35 epochs


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_a_replay_that_raises_is_stale(changed_code, monkeypatch):
    monkeypatch.setattr(engine, "setup", lambda *a, **k: 1 / 0)
    verdict = freshness.check(stored())
    assert not verdict.fresh and "ZeroDivisionError" in verdict.how


def test_a_result_without_a_signature_or_with_a_corrupt_one_is_stale(changed_code):
    result = stored()
    result.signature = None
    assert "no signature" in freshness.check(result).how
    result.signature = {"runs": "abc", "analysis": {}, "data": "x"}
    verdict = freshness.check(result)
    assert not verdict.fresh and "corrupt" in verdict.how and verdict.command.startswith("python -m ssl_lib store")
    result.signature = {"runs": ["0123456789abcdef"], "run_digests": {}, "analysis": {}, "data": "x"}
    assert "record of run 0123456789abcdef is missing" in freshness.check(result).how


def test_a_run_record_rewritten_by_a_later_store_is_stale(changed_code, monkeypatch, tmp_path):
    """Two results read one run; the second is stored again by other code, which rewrites the run's
    record: the first was signed against the old record and must not borrow the new one."""
    result = stored()
    (run,) = result.signature["runs"]
    monkeypatch.setattr(freshness, "runs_dir", lambda scale: tmp_path)
    record = json.loads((registry.STORED_DIR / "medium" / "runs" / f"{run}.json").read_text())
    record["signature"]["losses"][0] += 1.0
    (tmp_path / f"{run}.json").write_text(json.dumps(record))
    verdict = freshness.check(result)
    assert not verdict.fresh and f"the record of run {run} was rewritten since this result was signed" in verdict.how


def test_a_changed_configuration_is_stale(changed_code, monkeypatch):
    monkeypatch.setattr(freshness, "planned_runs", lambda chapter, scale, seed: [])
    monkeypatch.setattr(freshness, "data_identity", lambda: stored().signature["data"])
    verdict = freshness.check(stored())
    assert not verdict.fresh and "no longer trained by its chapter" in verdict.how


def test_a_changed_measure_is_stale(changed_code, monkeypatch):
    monkeypatch.setattr(freshness, "data_identity", lambda: stored().signature["data"])
    monkeypatch.setattr(freshness, "replay_run", lambda config: json.loads(
        (freshness.runs_dir("medium") / f"{replay.run_id(config)}.json").read_text())["signature"])
    monkeypatch.setattr(freshness, "replay_analysis", lambda name, seed: {**stored().signature["analysis"], "n_test": -1})
    verdict = freshness.check(stored())
    assert not verdict.fresh and "analysis replays differently: measurements n_test" in verdict.how


def test_other_data_cannot_vouch(changed_code, monkeypatch):
    monkeypatch.setattr(freshness, "data_identity", lambda: "torchvision-elsewhere")
    assert "nothing to replay against" in freshness.check(stored()).how


def test_verify_prints_one_line_per_result_and_fails_on_a_stale_one(capsys, monkeypatch):
    assert main(["verify", NAME]) == 0
    out = capsys.readouterr().out
    assert "fresh  medium/simclr_training-seed0: " in out and "2 of 2 stored results fresh" in out
    monkeypatch.setattr(freshness, "check", lambda result: freshness.Freshness(False, "planted", "the command"))
    assert main(["verify", NAME]) == 1
    assert "STALE  medium/simclr_training-seed1: planted; refresh it with `the command`" in capsys.readouterr().out


def test_show_prints_the_claims_and_the_provenance(capsys):
    assert main(["show", NAME, "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "`beats_random_encoder`" in out and "medium scale, seed 1" in out and "\nfresh: " in out


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_a_run_record_keeps_the_history_of_a_run_trained_here():
    config = engine.TrainConfig(encoder_kwargs={"width": 8}, proj_dim=16, epochs=1, batch_size=20,
                                train_per_class=10, bank_per_class=5, test_per_class=5, knn_k=10,
                                augment_overrides={"size": 16}, seed=123)
    assert freshness.trained_record(config) == {} or (engine.run_dir(config) / "result.pt").is_file()
    trained = engine.train(config, "cpu", progress=False)
    record = freshness.trained_record(config)
    assert record["history"]["loss"] == trained.history["loss"] and record["final"]["knn"] == trained.final_knn
    assert record["precision"] == trained.precision and record["wall_s"] == trained.wall_s


def test_a_replay_vouches_for_todays_code(changed_code, monkeypatch):
    monkeypatch.setattr(freshness, "data_identity", lambda: stored().signature["data"])
    monkeypatch.setattr(freshness, "replay_run", lambda config: json.loads(
        (freshness.runs_dir("medium") / f"{replay.run_id(config)}.json").read_text())["signature"])
    monkeypatch.setattr(freshness, "replay_analysis", lambda name, seed: stored().signature["analysis"])
    result = stored()
    assert freshness.vouch(result).how.startswith("replayed") and result.signature["replayed_by"][-1] == "0" * 16
    monkeypatch.setattr(freshness, "replay_analysis", lambda name, seed: 1 / 0)  # no replay from now on
    assert freshness.check(result).how == "code unchanged since a replay vouched for it"


def test_a_replay_needs_no_writable_folder(monkeypatch, tmp_path):
    """verify writes nothing beside the stored results, and an unwritable cache only costs a replay."""
    (tmp_path / "a_file").write_text("")
    with monkeypatch.context() as patch:
        patch.setenv("SSL_LIB_CACHE", str(tmp_path / "a_file" / "cache"))
        with pytest.warns(UserWarning, match="could not cache a replay"):
            assert freshness._cached("label", lambda: {"loss": torch.tensor(1.5)}) == {"loss": 1.5}
    before = {p: p.stat().st_mtime_ns for p in registry.STORED_DIR.rglob("*.json")}
    assert main(["verify", NAME]) == 0
    assert before == {p: p.stat().st_mtime_ns for p in registry.STORED_DIR.rglob("*.json")}
