"""The training engine: configuration checks, the cache key, the schedule, cache-or-train,
resuming from a checkpoint, pluggable objectives, precision."""

import dataclasses
import os

import pytest
import torch
from torch import nn

from ssl_lib import train as engine
from ssl_lib import augment, storage
from ssl_lib.evaluate import knn_accuracy
from ssl_lib.objectives import register_objective, simclr_loss
from ssl_lib.train import TrainConfig, config_key, cosine_lr, run_dir, setup, train, train_step


def tiny(**changes) -> TrainConfig:
    """A run of a few seconds: a 4-channel ConvNet on 8x8 views of 8 images per class."""
    base = dict(encoder="convnet", encoder_kwargs={"width": 4}, proj_dim=8, augment_overrides={"size": 8},
                epochs=2, batch_size=16, optimizer="adamw", lr=1e-3, train_per_class=8,
                bank_per_class=4, test_per_class=2, knn_k=5)
    return TrainConfig(**{**base, **changes})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private result cache, holding the already decoded CIFAR-10 arrays."""
    from ssl_lib.data import cache_dir
    for npz in cache_dir().glob("cifar10-*.npz"):
        (tmp_path / npz.name).symlink_to(npz)
    monkeypatch.setenv("SSL_LIB_CACHE", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("changes, name", [
    (dict(batch_size=1), "batch_size"), (dict(batch_size=200), "batch_size"), (dict(temperature=0), "temperature"),
    (dict(lr=float("nan")), "lr"), (dict(epochs=0), "epochs"), (dict(objective="byol"), "objective"),
    (dict(encoder="vgg"), "encoder"), (dict(head="deep"), "head"), (dict(optimizer="lamb"), "optimizer"),
    (dict(augment="strong"), "valid presets"), (dict(augment_overrides={"flip": 2.0}), "flip"),
    (dict(train_per_class=0), "train_per_class"), (dict(momentum=1.0), "momentum"),
    (dict(objective="align_uniform", objective_options={"align_wieght": 2}), "align_wieght"),
    (dict(objective="simclr", objective_options={"t": 2}), "simclr"),
    (dict(objective="simsiam_head", objective_options={"predictor": "bottleneck"}), "head variant"),
])
def test_bad_configurations_name_the_setting(changes, name):
    with pytest.raises(ValueError, match=name):
        tiny(**changes)


def test_key_changes_with_every_setting():
    config = tiny()
    assert config_key(config) == config_key(tiny())
    keys = set()
    for field, value in [("temperature", 0.2), ("seed", 1), ("head", "linear"), ("augment", "crop"),
                         ("augment_overrides", {"size": 16}), ("encoder_kwargs", {"width": 8}), ("lr", 2e-3)]:
        keys.add(config_key(dataclasses.replace(config, **{field: value})))
    assert len(keys) == 7 and config_key(config) not in keys


def test_key_follows_the_resolved_augmentation_not_its_name(monkeypatch):
    """A preset whose settings change (here: no more colour jitter) names another run."""
    before = config_key(tiny())
    real = augment.preset
    monkeypatch.setattr(augment, "preset", lambda name, **kw: dataclasses.replace(real(name, **kw), jitter=0.0))
    assert config_key(tiny()) != before


def test_key_follows_the_code_and_the_data(monkeypatch):
    before = config_key(tiny())
    monkeypatch.setattr(engine, "code_fingerprint", lambda: "0" * 16)
    assert config_key(tiny()) != before
    monkeypatch.undo()
    monkeypatch.setattr(engine, "data_identity", lambda: "mirror:another-copy")
    assert config_key(tiny()) != before


def test_code_fingerprint_ignores_docstrings_and_comments_only(tmp_path, monkeypatch):
    module = tmp_path / "fake_augment.py"
    monkeypatch.setattr(storage, "_source_path", lambda name: module if name == "ssl_lib.fake" else None)

    def fingerprint(source: str) -> str:
        module.write_text(source)
        storage._module_code.cache_clear()
        return storage.code_fingerprint(["ssl_lib.fake"])

    original = fingerprint('"""Views."""\ndef augment(x):\n    """Make a view."""\n    return x * 2\n')
    assert fingerprint('"""Other words."""\ndef augment(x):\n    # a comment\n    return x * 2\n') == original
    assert fingerprint('"""Views."""\ndef augment(x):\n    """Make a view."""\n    return x * 0\n') != original
    storage._module_code.cache_clear()


def test_the_engine_fingerprint_covers_what_decides_a_run():
    for module in ("ssl_lib.train", "ssl_lib.augment", "ssl_lib.models", "ssl_lib.losses",
                   "ssl_lib.objectives", "ssl_lib.evaluate", "ssl_lib.data"):
        assert module in storage.ENGINE_MODULES


def test_cosine_schedule():
    assert cosine_lr(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert cosine_lr(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert cosine_lr(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert cosine_lr(55, 100, 10, 1.0) == pytest.approx(0.5)
    assert cosine_lr(100, 100, 10, 1.0) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.needs_cifar
@pytest.mark.slow
def test_train_then_load_from_cache(cache):
    first = train(tiny(), progress=False)
    assert not first.from_cache and (run_dir(tiny()) / "result.pt").exists()
    assert first.history["epoch"] == [0, 1, 2] and len(first.history["loss"]) == 2
    assert all(0 <= a <= 1 for a in first.history["knn"] + first.history["probe"])
    again = train(tiny(), progress=False)
    assert again.from_cache and again.history == first.history
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert not train(tiny(seed=1), progress=False).from_cache  # another setting: another run


@pytest.mark.needs_cifar
@pytest.mark.slow
def test_max_steps_runs_are_not_stored(cache):
    result = train(tiny(), progress=False, max_steps=1)
    assert len(result.history["loss"]) == 1
    assert not run_dir(tiny()).exists() or not (run_dir(tiny()) / "result.pt").exists()


class Interrupt(Exception):
    pass


@pytest.mark.needs_cifar
@pytest.mark.slow
def test_an_interrupted_run_resumes_where_it_stopped(cache):
    calls = {"n": 0, "stop_at": 5}  # 5 steps per epoch: stop at the first step of epoch 2

    def flaky(model, v1, v2, y, config):
        calls["n"] += 1
        if calls["n"] == calls["stop_at"] + 1:
            raise Interrupt
        return simclr_loss(model, v1, v2, y, config)

    if "test_flaky" not in engine.OBJECTIVES:
        register_objective("test_flaky", flaky)
    config = tiny(objective="test_flaky", epochs=3)
    with pytest.raises(Interrupt):
        train(config, progress=False)
    assert (run_dir(config) / "checkpoint.pt").exists()
    resumed = train(config, progress=False)
    assert calls["n"] == 5 + 1 + 10  # 5 steps, the interrupted one, then the remaining two epochs
    assert not (run_dir(config) / "checkpoint.pt").exists()
    calls["stop_at"] = -1
    uninterrupted = train(config, progress=False, cache=False)
    assert resumed.history["loss"] == pytest.approx(uninterrupted.history["loss"], rel=1e-5)
    for a, b in zip(resumed.model.state_dict().values(), uninterrupted.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.needs_cifar
@pytest.mark.slow
def test_a_pluggable_one_view_objective_with_extras(cache):
    def supervised(model, v1, v2, y, config):
        assert v2 is None
        h, _ = model(v1)
        return nn.functional.cross_entropy(model.extras["classifier"](h), y)

    if "test_supervised" not in engine.OBJECTIVES:
        register_objective("test_supervised", supervised, views=1,
                           extras=lambda config, z_dim: {"classifier": nn.Linear(32, 10)})
    result = train(tiny(objective="test_supervised", epochs=3), progress=False, cache=False)
    assert "classifier" in result.model.extras
    assert result.history["loss"][-1] < result.history["loss"][0]


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:precision='bfloat16' on a CPU without")  # emulated here on purpose
def test_a_bfloat16_step_and_a_float32_step_give_close_losses(cache):
    """From the same state and the same batch, the two precisions' NT-Xent losses agree to 2%
    (bfloat16 keeps 8 bits of mantissa; the loss itself is computed in float32)."""
    config = tiny(encoder_kwargs={"width": 16}, augment_overrides={"size": 16})
    batch = torch.arange(16)
    losses = {p: train_step(setup(config, "cpu", p), batch, step=0)[0].item() for p in ("float32", "bfloat16")}
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=0.02)


@pytest.mark.needs_cifar
@pytest.mark.slow
def test_precision_is_recorded_and_checked(cache):
    result = train(tiny(epochs=1), progress=False, cache=False, precision="float32")
    assert result.precision == "float32"
    with pytest.raises(ValueError, match="float16.*CUDA"):
        setup(tiny(), "cpu", "float16")
    with pytest.raises(ValueError, match="precision"):
        setup(tiny(), "cpu", "fp8")


def test_register_objective_checks():
    with pytest.raises(ValueError, match="already registered"):
        register_objective("simclr", simclr_loss)
    with pytest.raises(ValueError, match="views"):
        register_objective("test_three_views", simclr_loss, views=3)


@pytest.mark.parametrize("override, match", [
    ({"proj_dim": 0}, "proj_dim=0 must be an integer >= 1"),
    ({"hidden_dim": 0}, "hidden_dim=0 must be an integer >= 1"),
    ({"knn_k": 0}, "knn_k=0 must be an integer >= 1"),
    ({"epochs": 2.5}, "epochs=2.5 must be an integer"),
    ({"lr": True}, "lr=True must be a finite number > 0"),
    ({"momentum": float("nan")}, "momentum=nan must be a finite number"),
    ({"encoder": "alexnet", "augment_overrides": {"size": 16}}, "alexnet encoder takes 32x32 views"),
])
def test_a_config_is_checked_field_by_field_at_construction(override, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**override)


def test_a_config_takes_integers_of_any_integral_type():
    import numpy as np

    config = TrainConfig(epochs=np.int64(3), batch_size=np.int32(64))
    assert type(config.epochs) is int and type(config.batch_size) is int
    assert config_key(config) == config_key(TrainConfig(epochs=3, batch_size=64))


@pytest.mark.needs_cifar
def test_a_non_finite_loss_stops_training_at_once_naming_the_setting(monkeypatch):
    config = TrainConfig(encoder_kwargs={"width": 8}, proj_dim=16, epochs=2, batch_size=20, train_per_class=10,
                         bank_per_class=5, test_per_class=5, knn_k=10, augment_overrides={"size": 16}, eval_every=0)
    steps = []
    monkeypatch.setattr(engine, "train_step", lambda run, batch, step: steps.append(step) or (torch.tensor(float("nan")), 0.0))
    with pytest.raises(FloatingPointError, match=r"loss became nan at step 1 \(epoch 1\); lower lr=0.06 or raise temperature"):
        train(config, "cpu", cache=False, progress=False)
    assert steps == [0]


@pytest.mark.needs_cifar
def test_a_failed_save_after_training_warns_and_returns_the_run(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_LIB_CACHE", os.environ.get("SSL_LIB_CACHE", str(tmp_path)))
    config = TrainConfig(encoder_kwargs={"width": 8}, proj_dim=16, epochs=1, batch_size=20, train_per_class=10,
                         bank_per_class=5, test_per_class=5, knn_k=10, augment_overrides={"size": 16}, seed=77)

    def full_disk(obj, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine, "_save", full_disk)
    monkeypatch.setattr(engine, "run_dir", lambda config: tmp_path / "runs" / "x")
    with pytest.warns(UserWarning, match="could not save the trained run.*No space left"):
        result = train(config, "cpu", progress=False)
    assert len(result.history["loss"]) == 1


TINY_RUN = ("from ssl_lib.train import TrainConfig, train\n"
            "r = train(TrainConfig(encoder_kwargs={'width': 8}, proj_dim=16, epochs=2, batch_size=20, train_per_class=10, "
            "bank_per_class=5, test_per_class=5, knn_k=10, augment_overrides={'size': 16}, seed=4242), 'cpu', progress=False)\n"
            "print('FROM_CACHE' if r.from_cache else 'TRAINED')\n")


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_two_processes_training_one_run_train_it_once(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "SSL_LIB_CACHE": str(tmp_path)}
    # the data are decoded once, before the race
    subprocess.run([sys.executable, "-c", "from ssl_lib.train import cifar10; cifar10('train'); cifar10('test')"],
                   env=env, check=True)
    runs = [subprocess.Popen([sys.executable, "-c", TINY_RUN], env=env, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = sorted(p.communicate(timeout=300)[0].strip().splitlines()[-1] for p in runs)
    assert outputs == ["FROM_CACHE", "TRAINED"]


def test_a_lock_left_by_a_dead_process_does_not_block(tmp_path):
    (tmp_path / "lock").write_text("12345")  # a lock file whose owner is gone holds no lock
    with engine.run_lock(tmp_path):
        pass


def test_evaluate_model_returns_the_features_it_scored():
    model = engine.build_model(engine.TrainConfig(encoder="convnet", encoder_kwargs={"width": 4}, proj_dim=8)).eval()
    g = torch.Generator().manual_seed(0)
    bank_x, test_x = torch.rand(40, 3, 16, 16, generator=g), torch.rand(10, 3, 16, 16, generator=g)
    bank_y, test_y = torch.arange(40) % 4, torch.arange(10) % 4
    scores = engine.evaluate_model(model, bank_x, bank_y, test_x, test_y, k=5, precision="float32")
    assert scores.bank_features.shape == (40, 32) and scores.test_features.shape == (10, 32)
    assert scores.knn == knn_accuracy(scores.bank_features, bank_y, scores.test_features, test_y, k=5)
