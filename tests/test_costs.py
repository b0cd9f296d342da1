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
    here = {"measured": "a test machine, 2026-01-01", "chapters": {"02_simclr": 90.0}}
    other = {"measured": "another kind of CPU, 2026-01-02", "chapters": {"02_simclr": 30.0}}
    monkeypatch.setattr(costs, "quick_time_records", lambda: {costs.machine_path(): here, "other path": other})
    assert costs.expected_time("02_simclr", "quick", gpu=False) == (
        "expected time at the quick scale: about 1.5 min (a test machine, 2026-01-01); "
        "on another kind of CPU, 2026-01-02: about 30 s")
    monkeypatch.setattr(costs, "quick_time_records", lambda: {"other path": other})   # none from this kind
    assert costs.expected_time("02_simclr", "quick", gpu=False) == \
        "expected time at the quick scale: about 30 s (another kind of CPU, 2026-01-02)"
    monkeypatch.setattr(costs, "quick_time_records", lambda: {costs.machine_path(): here})
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


def test_chapter_times_are_recorded_under_this_machines_path_keeping_the_other_kinds(tmp_path, monkeypatch):
    import json

    import chapter_times

    out = tmp_path / "chapter_times.json"
    out.write_text(json.dumps({"by_path": {"some other path": {"measured": "elsewhere", "chapters": {"01_pipeline": 9.0}}}}))
    monkeypatch.setattr(chapter_times, "OUT", out)
    report = tmp_path / "report.xml"
    report.write_text('<testsuites><testsuite name="pytest">'
                      '<testcase classname="notebooks.02_simclr.ipynb" name="" time="61.23"/></testsuite></testsuites>')
    assert chapter_times.main([str(report), "--machine", "a test CPU"]) == 0
    records = json.loads(out.read_text())["by_path"]
    assert records["some other path"]["chapters"] == {"01_pipeline": 9.0}
    assert records[costs.machine_path()]["chapters"] == {"02_simclr": 61.2}
    assert records[costs.machine_path()]["measured"].startswith("a test CPU, ")


def test_a_stored_time_from_another_training_path_is_scaled_by_the_measured_rates(monkeypatch):
    rates = {"bfloat16, channels-last": {"images_per_s": 1000.0, "cpu": "an AMX CPU"},
             "float32, channels-last": {"images_per_s": 400.0, "cpu": "an EPYC"}}
    monkeypatch.setattr(costs, "step_throughput", lambda: rates)
    monkeypatch.setattr(costs, "machine_path", lambda: "float32, channels-last")
    stored = ({0: 10.0, 1: 20.0}, "cpu (2 threads)", "bfloat16, channels-last")
    text = costs._medium_text("02_simclr", stored)
    assert "about 25 min (seed 0), 50 min (seed 1) of training on this machine" in text
    assert "ESTIMATE" in text and "an AMX CPU" in text and "1000 and 400 images/s" in text
    same = costs._medium_text("02_simclr", ({0: 10.0}, "cpu (2 threads)", "float32, channels-last"))
    assert same.startswith("10 min (seed 0) of training, measured on cpu (2 threads) in float32, channels-last, "
                           "this machine's path; ")   # measured here, and the other kind's time beside it
    assert "in bfloat16, channels-last on an AMX CPU about 4 min (seed 0), an ESTIMATE" in same
    unknown = costs._medium_text("02_simclr", ({0: 10.0}, "cpu", "float16, channels-last"))
    assert "not recorded" in unknown
    assert "on a GPU, not measured" in costs._medium_text("02_simclr", stored, gpu=True)


def test_a_stored_result_names_its_training_path():
    assert costs.stored_path({"precision": "bfloat16"}) == "bfloat16, channels-last"
    assert costs.stored_path({"precision": "float32"}) == "float32, contiguous"  # stored before the layout was
    assert costs.stored_path({"precision": "float32", "memory_format": "channels-last"}) == "float32, channels-last"


def test_the_recorded_step_rates_name_every_path_this_machine_takes():
    rates = costs.step_throughput()
    assert costs.machine_path() in rates
    assert all(rate["images_per_s"] > 0 for rate in rates.values())
    with pytest.raises(ValueError, match="positive"):
        costs.record_step_throughput("float32, channels-last", 0.0, "cpu")
