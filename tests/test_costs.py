"""What a chapter costs: the training plans' epochs, run times added without double counting,
the memory estimate, the expected-time lines and the record of measured chapter times."""

from dataclasses import replace

import pytest
import torch

import ssl_lib
from ssl_lib import costs
from ssl_lib.experiments import ExperimentResult
from ssl_lib.experiments.simclr import simclr_config, training_plan
from ssl_lib.train import TrainConfig, build_model, config_key


def test_the_full_scale_epochs_add_up_each_distinct_run_once():
    plan = training_plan("full")
    assert len({config_key(c) for c in plan}) == len(plan)
    assert costs.full_scale_epochs("02_simclr") == {"resnet18": sum(c.epochs for c in plan)}
    assert simclr_config("full") in plan  # the training run, then the ablations
    assert costs.full_scale_epochs("05_linear_contrast") == {}  # trains no CIFAR-10 network


def _result(runs: dict) -> ExperimentResult:
    return ExperimentResult("x", {"runs": runs}, [], {"seed": 0, "wall_time_s": 1.0})


def test_training_seconds_count_a_run_shared_by_two_experiments_once():
    assert costs.training_seconds(_result({"a": 10.0, "b": 5.0}), _result({"a": 10.0, "c": 1.0})) == 16.0
    with pytest.raises(ValueError, match="runs"):
        costs.training_seconds(ExperimentResult("y", {}, [], {}))


def test_the_memory_estimate_grows_along_the_line_through_two_probes():
    config = TrainConfig(encoder="convnet", encoder_kwargs={"width": 8}, proj_dim=16,
                         augment_overrides={"size": 16}, batch_size=64)
    model = build_model(config)
    small, large = (costs.saved_tensor_bytes(model, config, n) for n in (4, 8))
    assert 0 < small < large
    gb64, gb128 = costs.training_memory_gb(config), costs.training_memory_gb(replace(config, batch_size=128))
    assert gb128 - gb64 == pytest.approx((large - small) / 4 * 64 / 1e9, rel=1e-6)


def test_expected_time_says_where_each_number_comes_from(monkeypatch):
    monkeypatch.setattr(costs, "measured_quick_seconds",
                        lambda: {"measured": "a test machine, 2026-01-01", "chapters": {"02_simclr": 90.0}})
    assert costs.expected_time("02_simclr", "quick", gpu=False) == \
        "expected time at the quick scale: about 1.5 min (a test machine, 2026-01-01)"
    full = costs.expected_time("02_simclr", "full", gpu=True)
    assert "ESTIMATE" in full and "ResNet-18 epochs" in full and "CPU" not in full
    assert "use the medium scale" in costs.expected_time("02_simclr", "full", gpu=False)
    assert "every scale costs the same" in costs.expected_time("05_linear_contrast", "full", gpu=False)
    with pytest.raises(ValueError, match="scale"):
        costs.expected_time("02_simclr", "huge", gpu=False)
    assert "| {doc}`02_simclr` | 1.5 min |" in costs.cost_table()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the warning is for a machine without a GPU")
def test_the_full_scale_on_a_cpu_warns_before_any_work():
    with pytest.warns(UserWarning, match="meant for a GPU"):
        line = ssl_lib.describe_setup("full", chapter="02_simclr")
    assert "ESTIMATE" in line


def test_chapter_times_are_read_from_a_junit_report(tmp_path):
    import chapter_times

    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="notebooks.02_simclr.ipynb" name="" time="61.23"/>'
        '<testcase classname="notebooks.05_linear_contrast.ipynb" name="" time="30.0"><failure/></testcase>'
        '<testcase classname="tests.test_losses" name="test_x" time="1.0"/>'
        '</testsuite></testsuites>')
    assert chapter_times.chapter_seconds(report) == {"02_simclr": 61.2}
    with pytest.raises(SystemExit, match="make test"):
        chapter_times.chapter_seconds(tmp_path / "missing.xml")
